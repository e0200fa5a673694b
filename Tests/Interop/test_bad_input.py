"""Bad input gets a clear error (status, stable code, the field named) and leaves everything stored unchanged."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
from urllib.parse import parse_qs, urlencode, urlparse

import pytest

from conftest import LATCHKEY_BIN, Person, api_instant, wait_past


def error_code(page) -> str:
    return page.text.split('id="error-code">', 1)[1].split("<", 1)[0]


def snapshot(world, org):
    """Everything stored about an org's connections, as the admin API shows it, plus the raw database size."""
    r = world.lk.admin("GET", f"/v1/admin/connections?owner=org:{org}")
    assert r.status_code == 200
    return r.json()["connections"]


def flow_until_callback(world, person, key, provider="authlib-basic"):
    """Installs, opens a link, presses Connect and consents; returns the callback URL not yet visited."""
    world.lk.call("POST", "/v1/integrations", key, json={"provider": provider})
    url = world.connect_link(key, provider=provider)
    r = person.start(url)
    assert r.status_code == 303, r.text
    return url, person.consent(r.headers["Location"])


# --- state -----------------------------------------------------------------------------------------

def test_an_unknown_state_is_refused(world, person):
    org, key = world.org_with_agent()
    url, callback = flow_until_callback(world, person, key)
    before = snapshot(world, org)
    forged = callback.replace("state=", "state=x")
    page = person.callback(forged)
    assert page.status_code == 400 and error_code(page) == "invalid_state"
    missing = person.callback(world.lk.url + "/oauth/callback?code=abc")
    assert missing.status_code == 400 and error_code(missing) == "invalid_state"
    assert snapshot(world, org) == before


def test_a_replayed_state_is_refused_and_the_first_connection_stands(world, person):
    org, key = world.org_with_agent()
    url, callback = flow_until_callback(world, person, key)
    assert person.callback(callback).status_code == 200
    after_first = snapshot(world, org)
    grants = world.peer.stats()["authorization_code_grants"]
    replay = person.callback(callback)
    assert replay.status_code == 400 and error_code(replay) == "invalid_state"
    assert snapshot(world, org) == after_first
    assert world.peer.stats()["authorization_code_grants"] == grants  # the code was not sent again


def test_a_state_from_another_browser_is_refused(world, person):
    org, key = world.org_with_agent()
    url, callback = flow_until_callback(world, person, key)
    before = snapshot(world, org)
    stranger = Person(world.peer)  # has no binding cookie
    page = stranger.callback(callback)
    assert page.status_code == 400 and error_code(page) == "invalid_state"
    assert snapshot(world, org) == before


def test_an_expired_state_and_an_expired_link_are_refused(short_lived_world):
    world = short_lived_world
    person = Person(world.peer)
    org, key = world.org_with_agent()
    url, callback = flow_until_callback(world, person, key)
    before = snapshot(world, org)
    # The API does not show a state's expiry: read the one Latchkey stored beside the state's hash.
    state = parse_qs(urlparse(callback).query)["state"][0]
    with sqlite3.connect(world.lk.db_path, timeout=5) as db:
        [(state_expires,)] = db.execute("SELECT expires_at FROM authorization_states WHERE state_hash = ?",
                                        (hashlib.sha256(state.encode()).hexdigest(),)).fetchall()
    wait_past(state_expires, "the authorization state to expire")
    page = person.callback(callback)
    assert page.status_code == 400 and error_code(page) == "invalid_state"
    assert "expired" in page.text
    session = world.connect_session(key)
    link = session["url"]
    wait_past(api_instant(session["expires_at"]), "the connect link to expire")
    page = person.open_connect_link(link)
    assert page.status_code == 410 and error_code(page) == "session_expired"
    assert person.start(link).status_code == 410
    assert snapshot(world, org) == before


# --- the person or the provider says no ------------------------------------------------------------

def test_access_denied_at_the_provider_stores_nothing(world, person):
    org, key = world.org_with_agent()
    world.lk.call("POST", "/v1/integrations", key, json={"provider": "authlib-basic"})
    before = snapshot(world, org)
    url = world.connect_link(key)
    r = person.start(url)
    callback = person.consent(r.headers["Location"], approve=False)
    assert "error=access_denied" in callback
    page = person.callback(callback)
    assert page.status_code == 403 and error_code(page) == "access_denied"
    assert snapshot(world, org) == before
    assert [c["state"] for c in world.connections(key)] == ["installed"]


@pytest.mark.parametrize("mode,status,code", [
    ("invalid_grant", 502, "provider_error"),
    ("unavailable", 502, "provider_unavailable"),
    ("html", 502, "invalid_provider_response"),
    ("huge", 502, "invalid_provider_response"),
    ("slow", 504, "provider_timeout"),
])
def test_a_failing_token_endpoint_gives_a_clear_error_and_the_link_can_be_retried(world, mode, status, code):
    person = Person(world.peer)
    org, key = world.org_with_agent()
    url, callback = flow_until_callback(world, person, key)
    before = snapshot(world, org)
    world.peer.set_mode(token=mode, seconds=6 if mode == "slow" else None)
    try:
        page = person.callback(callback)
    finally:
        world.peer.set_mode(token="normal")
    assert page.status_code == status, page.text[-400:]
    # For the slow provider, `provider_timeout` itself shows Latchkey gave up first: had it waited the provider's
    # 6 seconds, the exchange would have succeeded.
    assert error_code(page) == code
    assert snapshot(world, org) == before
    # The link was not used up: the person can try again once the provider recovers.
    r = person.connect(url)
    assert r.status_code == 200, r.text[-300:]
    assert [c["state"] for c in world.connections(key)] == ["active"]


def test_a_provider_that_is_down_gives_a_clear_error(world, person):
    org, key = world.org_with_agent()
    url, callback = flow_until_callback(world, person, key, provider="authlib-down")
    before = snapshot(world, org)
    page = person.callback(callback)
    assert page.status_code == 502 and error_code(page) == "provider_unavailable"
    assert snapshot(world, org) == before


def test_a_callback_from_another_issuer_is_refused(world, person):
    org, key = world.org_with_agent()
    url, callback = flow_until_callback(world, person, key, provider="authlib-iss")
    before = snapshot(world, org)
    page = person.callback(callback + "&iss=https%3A%2F%2Fevil.example")
    assert page.status_code == 400 and error_code(page) == "issuer_mismatch"
    assert snapshot(world, org) == before
    # The right issuer passes.
    url, callback = flow_until_callback(world, person, key, provider="authlib-iss")
    assert person.callback(callback + "&iss=" + world.peer.base_url).status_code == 200


def test_operations_routes_answer(world):
    import yaml
    assert world.lk.call("GET", "/healthz").json() == {"status": "ok"}
    assert world.lk.call("GET", "/readyz").json() == {"status": "ready"}
    served = world.lk.call("GET", "/openapi.yaml").text
    doc = yaml.safe_load(served)
    assert doc["openapi"].startswith("3.1") and "/v1/connect-sessions" in doc["paths"]
    # The one document, as it lives in docs/ (no copy to drift).
    from conftest import ROOT
    assert served == (ROOT / "docs" / "openapi.yaml").read_text()
    r = world.lk.call("GET", "/nope")
    assert r.status_code == 404 and r.headers["Latchkey-Error"] == "not_found"
    assert r.headers["Latchkey-Request-Id"]


# --- links ---------------------------------------------------------------------------------------------

def test_a_connect_link_works_once(world, person):
    org, key = world.org_with_agent()
    url = world.connect_link(key)
    assert person.connect(url).status_code == 200
    after = snapshot(world, org)
    page = person.open_connect_link(url)
    assert page.status_code == 410 and error_code(page) == "session_used"
    assert person.start(url).status_code == 410
    # Two flows started from one link before either finished: only the first to finish counts.
    url = world.connect_link(key)
    first = person.start(url).headers["Location"]
    second = person.start(url).headers["Location"]
    cb1, cb2 = person.consent(first), person.consent(second)
    assert person.callback(cb1).status_code == 200
    late = person.callback(cb2)
    assert late.status_code == 410 and error_code(late) == "session_used"
    unknown = person.open_connect_link(world.lk.url + "/connect/cs_doesnotexist")
    assert unknown.status_code == 404 and error_code(unknown) == "not_found"


def test_return_to_must_be_on_the_allowlist(world):
    org, key = world.org_with_agent()
    for bad in ["https://evil.example/steal", "http://127.0.0.1:9@evil.example/", "//evil.example", "javascript:alert(1)",
                "http://127.0.0.1:99/x"]:
        r = world.lk.call("POST", "/v1/connect-sessions", key, json={"provider": "authlib-basic", "return_to": bad})
        assert r.status_code == 400, bad
        assert r.json()["error"]["code"] == "return_to_not_allowed"
        assert r.json()["error"]["field"] == "return_to"
        assert r.headers["Latchkey-Error"] == "return_to_not_allowed"


# --- identities and keys --------------------------------------------------------------------------

@pytest.mark.parametrize("owner", ["acme", "org:", "org:Acme", "team:acme", "agent:a/b/c", "planet:acme", "org:a/b",
                                   "project:acme/../x", "org:" + "a" * 64])
def test_a_malformed_owner_reference_is_refused_naming_the_field(world, owner):
    r = world.lk.admin("POST", "/v1/integrations", json={"provider": "authlib-basic", "owner": owner})
    assert r.status_code == 400, owner
    body = r.json()["error"]
    assert body["code"] == "invalid_owner" and body["field"] == "owner"


def test_an_owner_that_does_not_exist_is_not_found(world):
    r = world.lk.admin("POST", "/v1/integrations", json={"provider": "authlib-basic", "owner": "org:nobody-here"})
    assert r.status_code == 404 and r.json()["error"]["field"] == "owner"


def test_wrong_and_revoked_keys_are_refused(world):
    lk = world.lk
    org, key = world.org_with_agent()
    assert lk.call("GET", "/v1/connections", key).status_code == 200
    for bad in ["lk_agent_" + "A" * 43, "nonsense", key + "x", ""]:
        r = lk.call("GET", "/v1/connections", bad)
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthenticated"
    assert lk.call("GET", "/v1/connections").status_code == 401
    # An agent key is not an admin key.
    r = lk.call("POST", "/v1/admin/orgs", key, json={"id": "sneaky"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    # A wrong admin key.
    r = lk.call("POST", "/v1/admin/orgs", "lk_admin_wrong", json={"id": "sneaky"})
    assert r.status_code == 401
    # A revoked agent key stops working at once; a new key works.
    r = lk.admin("DELETE", f"/v1/admin/agents/{org}/team/proj/agent/keys")
    assert r.status_code == 200 and r.json()["revoked"] == 1
    assert lk.call("GET", "/v1/connections", key).status_code == 401
    new_key = lk.admin("POST", f"/v1/admin/agents/{org}/team/proj/agent/keys").json()["api_key"]
    assert lk.call("GET", "/v1/connections", new_key).status_code == 200


def test_bad_json_and_missing_fields_name_the_field(world):
    lk = world.lk
    r = lk.admin("POST", "/v1/admin/orgs", data="{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_request"
    r = lk.admin("POST", "/v1/admin/teams", json={"org": "x"})
    assert r.status_code == 400 and r.json()["error"]["field"] == "id"
    r = lk.admin("POST", "/v1/integrations", json={"owner": "org:x"})
    assert r.status_code == 400 and r.json()["error"]["field"] == "provider"
    r = lk.admin("POST", "/v1/integrations", json={"provider": "nope", "owner": "org:x"})
    assert r.status_code == 404 and r.json()["error"] == {
        "code": "unknown_provider", "field": "provider", "message": "provider: no provider 'nope' is loaded"}


# --- manifests ---------------------------------------------------------------------------------------

def test_a_manifest_with_a_plain_http_token_url_off_loopback_is_refused(tmp_path):
    bad = tmp_path / "leaky.yaml"
    bad.write_text("""\
id: leaky
name: Leaky
docs: https://example.com/docs
auth:
  mode: oauth2
  authorization_url: https://example.com/authorize
  token_url: http://example.com/token
  default_token_lifetime: 3600
proxy:
  base_url: https://api.example.com
  inject: {header: Authorization}
""")
    r = subprocess.run([LATCHKEY_BIN, "providers", "validate", str(tmp_path)], capture_output=True, text=True)
    assert r.returncode == 1
    assert f"{bad}:7: auth.token_url: must be https (http is allowed only to loopback hosts)" in r.stdout
    # The server refuses to start with it, too.
    config = tmp_path / "latchkey.conf"
    config.write_text("")
    r = subprocess.run([LATCHKEY_BIN, "serve", "--providers", str(tmp_path)], capture_output=True, text=True, timeout=30,
                       env={"LATCHKEY_CONFIG": str(config), "LATCHKEY_DATABASE_URL": f"sqlite:{tmp_path}/db",
                            "LATCHKEY_MASTER_KEY_FILE": str(tmp_path / "mk"), "PATH": "/usr/bin:/bin"}, cwd=tmp_path)
    assert r.returncode != 0 and "auth.token_url" in r.stderr


def test_a_rotated_admin_key_is_refused_and_nothing_stored_is_lost(workdir, world):
    from conftest import Latchkey, free_port
    d = workdir / "rotation"
    d.mkdir()
    providers = world.lk.env["LATCHKEY_PROVIDERS"]
    first = Latchkey(d, free_port(), providers)
    first.start()
    try:
        assert first.admin("POST", "/v1/admin/orgs", json={"id": "kept"}).status_code == 201
    finally:
        first.stop()
    old_key = first.admin_key
    second = Latchkey(d, free_port(), providers)  # same database and master key file, a new admin key
    second.start()
    try:
        r = second.call("POST", "/v1/admin/teams", old_key, json={"org": "kept", "id": "t"})
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthenticated"
        assert second.admin("POST", "/v1/admin/teams", json={"org": "kept", "id": "t"}).status_code == 201
    finally:
        second.stop()
