"""Self-tests for the Authlib-based OAuth peer (peers/oauth_server.py).

These drive the peer with ``requests`` only, proving that it behaves like a
real provider before Latchkey's interop tests rely on it.
"""

from __future__ import annotations

import json
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest

from conftest import wait_until
from peers.oauth_peer import OAuthPeer
from peers.oauth_peer import PeerClient
from peers.testing import decide
from peers.testing import http
from peers.testing import peer_fixture
from peers.testing import pkce_pair
from peers.testing import post_token
from peers.testing import sign_in
from peers.testing import reset_peer as _reset  # noqa: F401  (autouse)

BASIC = PeerClient("basic-client", "basic-secret", "client_secret_basic",
                   "http://127.0.0.1:53682/callback")
POST = PeerClient("post-client", "post-secret", "client_secret_post",
                  "http://localhost:53683/oauth/callback?tenant=1")


peer = peer_fixture(lambda: OAuthPeer(clients=[BASIC, POST]))


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def authorize(peer, client, username="alice", scope="profile email", approve=True,
              pkce=True, state=None):
    """Log in + consent through the HTML pages. Returns (redirect Location
    query dict, verifier, consent page HTML)."""
    s = http()
    verifier, challenge = pkce_pair()
    state = state or secrets.token_urlsafe(12)
    params = {"response_type": "code", "client_id": client.client_id,
              "redirect_uri": client.redirect_uri, "scope": scope, "state": state}
    if pkce:
        params.update(code_challenge=challenge, code_challenge_method="S256")

    r = s.get(peer.authorize_url, params=params, allow_redirects=False)
    assert r.status_code == 200, r.text
    assert 'id="login-form"' in r.text

    r = sign_in(s, peer, r.text, username, f"{username}-password")
    assert r.status_code == 200 and 'id="consent-form"' in r.text, r.text
    consent = r.text
    assert 'id="approve"' in consent and 'id="deny"' in consent

    query = decide(s, peer, consent, "approve" if approve else "deny", client, state)
    return query, verifier, consent


def token_request(peer, client, data, auth_method=None):
    return post_token(peer, client, data, auth_method or client.auth_method)


def exchange(peer, client, code, verifier, **kw):
    data = {"grant_type": "authorization_code", "code": code,
            "redirect_uri": client.redirect_uri}
    if verifier is not None:
        data["code_verifier"] = verifier
    return token_request(peer, client, data, **kw)


def refresh(peer, client, refresh_token):
    return token_request(peer, client, {"grant_type": "refresh_token",
                                        "refresh_token": refresh_token})


def login_tokens(peer, client=BASIC, username="alice", scope="profile email"):
    query, verifier, _ = authorize(peer, client, username=username, scope=scope)
    r = exchange(peer, client, query["code"], verifier)
    assert r.status_code == 200, r.text
    return r.json()


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


# --------------------------------------------------------------------------
# authorization code + PKCE
# --------------------------------------------------------------------------


@pytest.mark.parametrize("client", [BASIC, POST], ids=lambda c: c.auth_method)
def test_full_code_flow_with_pkce(peer, client):
    query, verifier, consent = authorize(peer, client, scope="profile email repo")
    assert "code" in query
    assert 'id="client-id">%s<' % client.client_id in consent
    for s in ("profile", "email", "repo"):
        assert f'id="scope-{s}"' in consent

    r = exchange(peer, client, query["code"], verifier)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.headers.get("Cache-Control") == "no-store"
    tok = r.json()
    assert tok["token_type"].lower() == "bearer"
    assert tok["expires_in"] == 3600
    assert tok["scope"] == "profile email repo"
    assert tok["access_token"] and tok["refresh_token"]

    info = http().get(peer.userinfo_url, headers=bearer(tok["access_token"])).json()
    assert info == {"sub": "1001", "login": "alice", "name": "Alice Example",
                    "email": "alice@example.com"}

    issued = peer.issued()
    assert tok["access_token"] in issued and tok["refresh_token"] in issued
    assert peer.stats()["authorization_code_grants"] == 1

    # Codes are single-use.
    again = exchange(peer, client, query["code"], verifier)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_client_must_use_registered_auth_method(peer):
    query, verifier, _ = authorize(peer, POST)
    r = exchange(peer, POST, query["code"], verifier, auth_method="client_secret_basic")
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    bad = PeerClient(BASIC.client_id, "wrong", BASIC.auth_method, BASIC.redirect_uri)
    query, verifier, _ = authorize(peer, BASIC)
    r = exchange(peer, bad, query["code"], verifier)
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    assert peer.stats()["failed_token_requests"] == 2


def test_exchange_without_code_verifier_fails(peer):
    query, verifier, _ = authorize(peer, BASIC)
    r = exchange(peer, BASIC, query["code"], None)
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request"
    assert "code_verifier" in r.json()["error_description"]

    wrong, _ = pkce_pair()
    r = exchange(peer, BASIC, query["code"], wrong)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"

    r = exchange(peer, BASIC, query["code"], verifier)
    assert r.status_code == 200
    stats = peer.stats()
    assert stats["failed_token_requests"] == 2
    assert stats["authorization_code_grants"] == 1


def test_authorize_requires_s256_pkce(peer):
    s = http()
    base = {"response_type": "code", "client_id": BASIC.client_id,
            "redirect_uri": BASIC.redirect_uri, "scope": "profile", "state": "st"}
    r = s.get(peer.authorize_url, params=base, allow_redirects=False)
    assert r.status_code == 302
    q = parse_qs(urlsplit(r.headers["Location"]).query)
    assert q["error"] == ["invalid_request"] and q["state"] == ["st"]

    verifier, _ = pkce_pair()
    plain = dict(base, code_challenge=verifier, code_challenge_method="plain")
    r = s.get(peer.authorize_url, params=plain, allow_redirects=False)
    assert r.status_code == 302
    assert parse_qs(urlsplit(r.headers["Location"]).query)["error"] == ["invalid_request"]


def test_redirect_uri_is_exact_match_and_never_redirected_to(peer):
    _, challenge = pkce_pair()
    for uri in (BASIC.redirect_uri + "/", BASIC.redirect_uri + "?x=1",
                "http://127.0.0.1:53682/other", "http://evil.example/callback"):
        r = http().get(peer.authorize_url, allow_redirects=False, params={
            "response_type": "code", "client_id": BASIC.client_id, "redirect_uri": uri,
            "scope": "profile", "code_challenge": challenge, "code_challenge_method": "S256"})
        assert r.status_code == 400, uri
        assert "Location" not in r.headers
        assert 'id="error">invalid_request<' in r.text


def test_unknown_scope_is_rejected(peer):
    _, challenge = pkce_pair()
    r = http().get(peer.authorize_url, allow_redirects=False, params={
        "response_type": "code", "client_id": BASIC.client_id,
        "redirect_uri": BASIC.redirect_uri, "scope": "profile admin",
        "code_challenge": challenge, "code_challenge_method": "S256"})
    assert r.status_code == 302
    assert parse_qs(urlsplit(r.headers["Location"]).query)["error"] == ["invalid_scope"]


def test_deny_gives_access_denied(peer):
    query, _, _ = authorize(peer, POST, approve=False)
    assert query["error"] == "access_denied"
    assert "code" not in query
    assert peer.stats()["authorizations_denied"] == 1


def test_bad_password_shows_login_error(peer):
    r = http().post(peer.base_url + "/login",
                    data={"username": "alice", "password": "nope", "next": "/authorize"},
                    allow_redirects=False)
    assert r.status_code == 401
    assert 'id="login-error"' in r.text and 'id="login-form"' in r.text


def test_consent_page_escapes_display_name(peer):
    _, _, consent = authorize(peer, BASIC, username="xss")
    assert "<script>alert(1)</script>" not in consent
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in consent


# --------------------------------------------------------------------------
# refresh rotation
# --------------------------------------------------------------------------


@pytest.mark.parametrize("client", [BASIC, POST], ids=lambda c: c.auth_method)
def test_refresh_rotation(peer, client):
    tok = login_tokens(peer, client, scope="profile offline_access")
    r = refresh(peer, client, tok["refresh_token"])
    assert r.status_code == 200, r.text
    new = r.json()
    assert new["refresh_token"] != tok["refresh_token"]
    assert new["access_token"] != tok["access_token"]
    assert new["expires_in"] == 3600 and new["scope"] == "profile offline_access"

    reused = refresh(peer, client, tok["refresh_token"])
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"

    r = refresh(peer, client, new["refresh_token"])
    assert r.status_code == 200
    assert http().get(peer.userinfo_url, headers=bearer(r.json()["access_token"])).ok
    stats = peer.stats()
    assert stats["refresh_grants"] == 2 and stats["failed_token_requests"] == 1
    assert new["refresh_token"] in peer.issued()


def test_concurrent_reuse_of_one_refresh_token_succeeds_once(peer):
    tok = login_tokens(peer)
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda _: refresh(peer, BASIC, tok["refresh_token"]), range(20)))
    codes = sorted(r.status_code for r in results)
    assert codes.count(200) == 1 and codes.count(400) == 19
    assert all(r.json()["error"] == "invalid_grant" for r in results if r.status_code == 400)


def test_refresh_token_bound_to_client(peer):
    tok = login_tokens(peer, BASIC)
    r = refresh(peer, POST, tok["refresh_token"])
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


# --------------------------------------------------------------------------
# userinfo / API / revocation
# --------------------------------------------------------------------------


def test_userinfo(peer):
    tok = login_tokens(peer, username="bob")
    r = http().get(peer.userinfo_url, headers=bearer(tok["access_token"]))
    assert r.status_code == 200
    assert r.json() == {"sub": "1002", "login": "bob", "name": "Bob Example",
                        "email": "bob@example.com"}

    r = http().get(peer.userinfo_url, headers=bearer("not-a-token"))
    assert r.status_code == 401 and r.json()["error"] == "invalid_token"
    assert "Bearer" in r.headers["WWW-Authenticate"]
    assert http().get(peer.userinfo_url).status_code == 401

    assert peer.expire_access_tokens([tok["access_token"]]) == 1
    r = http().get(peer.userinfo_url, headers=bearer(tok["access_token"]))
    assert r.status_code == 401 and r.json()["error"] == "invalid_token"
    assert peer.stats()["userinfo_calls"] == 4


def test_userinfo_returns_raw_xss_name(peer):
    tok = login_tokens(peer, username="xss")
    info = http().get(peer.userinfo_url, headers=bearer(tok["access_token"])).json()
    assert info["name"] == "<script>alert(1)</script>" and info["login"] == "xss"


def test_access_token_ttl():
    with OAuthPeer(clients=[BASIC], access_token_ttl=1) as short:
        tok = login_tokens(short)
        assert tok["expires_in"] == 1
        assert http().get(short.userinfo_url, headers=bearer(tok["access_token"])).ok
        wait_until(lambda: not short.introspect(tok["access_token"], BASIC)["active"],
                   "the peer's introspection to call the access token expired")
        r = http().get(short.userinfo_url, headers=bearer(tok["access_token"]))
        assert r.status_code == 401
        r = refresh(short, BASIC, tok["refresh_token"])
        assert r.status_code == 200 and r.json()["expires_in"] == 1


def test_revoke_access_and_refresh_tokens(peer):
    tok = login_tokens(peer, BASIC)
    # RFC 7009 requires client authentication.
    r = http().post(peer.revoke_url, data={"token": tok["access_token"]})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"

    r = http().post(peer.revoke_url, data={"token": tok["access_token"],
                                           "token_type_hint": "access_token"},
                    auth=(BASIC.client_id, BASIC.client_secret))
    assert r.status_code == 200
    assert http().get(peer.userinfo_url, headers=bearer(tok["access_token"])).status_code == 401
    # Refresh token survives access-token revocation...
    new = refresh(peer, BASIC, tok["refresh_token"]).json()

    # ...but revoking the refresh token (client_secret_post client here) kills it.
    tok2 = login_tokens(peer, POST)
    r = http().post(peer.revoke_url, data={
        "token": tok2["refresh_token"], "token_type_hint": "refresh_token",
        "client_id": POST.client_id, "client_secret": POST.client_secret})
    assert r.status_code == 200
    r = refresh(peer, POST, tok2["refresh_token"])
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert http().get(peer.userinfo_url, headers=bearer(tok2["access_token"])).status_code == 401

    # Unknown tokens still answer 200 (RFC 7009 section 2.2).
    r = http().post(peer.revoke_url, data={"token": "unknown"},
                    auth=(BASIC.client_id, BASIC.client_secret))
    assert r.status_code == 200
    stats = peer.stats()
    assert stats["revocations"] == 3 and stats["revoked_tokens"] == 2
    assert http().get(peer.userinfo_url, headers=bearer(new["access_token"])).ok


def test_api_echo_and_items(peer):
    tok = login_tokens(peer)
    h = dict(bearer(tok["access_token"]), **{"X-Custom": "Value", "Content-Type": "text/plain"})
    r = http().put(peer.base_url + "/api/echo/a/b?x=1&y=two", headers=h, data="hello body")
    assert r.status_code == 200
    echo = r.json()
    assert echo["user"] == "alice" and echo["method"] == "PUT"
    assert echo["path"] == "/api/echo/a/b" and echo["query"] == "x=1&y=two"
    assert echo["headers"]["x-custom"] == "Value"
    assert echo["headers"]["authorization"] == "Bearer <redacted>"  # the echo never reflects a credential
    assert echo["body"] == "hello body"
    assert http().get(peer.base_url + "/api/echo").status_code == 401

    items = http().get(peer.base_url + "/api/items", headers=bearer(tok["access_token"]))
    assert items.status_code == 200 and len(items.json()) == 2
    r = http().post(peer.base_url + "/api/items", headers=bearer(tok["access_token"]),
                    json={"name": "new thing"})
    assert r.status_code == 201 and r.json()["name"] == "new thing"
    items = http().get(peer.base_url + "/api/items", headers=bearer(tok["access_token"])).json()
    assert [i["name"] for i in items][-1] == "new thing"


def test_discovery_metadata(peer):
    meta = http().get(peer.base_url + "/.well-known/oauth-authorization-server").json()
    assert meta["issuer"] == peer.base_url
    assert meta["token_endpoint"] == peer.token_url
    assert meta["code_challenge_methods_supported"] == ["S256"]


# --------------------------------------------------------------------------
# /_control modes
# --------------------------------------------------------------------------


def _assert_injected(r, mode):
    if mode == "invalid_grant":
        assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    elif mode == "unavailable":
        assert r.status_code == 503
    elif mode == "html":
        assert r.status_code == 200
        assert r.headers["Content-Type"].startswith("text/html")
        assert r.text == "<html>oops</html>"
    elif mode == "huge":
        assert r.status_code == 200
        assert r.headers["Content-Type"].startswith("application/json")
        assert len(r.content) > 10 * 1024 * 1024
        json.loads(r.content)
    else:
        raise AssertionError(mode)


@pytest.mark.parametrize("mode", ["invalid_grant", "unavailable", "html", "huge"])
def test_token_modes(peer, mode):
    tok = login_tokens(peer)
    peer.set_mode(token=mode)
    _assert_injected(refresh(peer, BASIC, tok["refresh_token"]), mode)
    # Mode affects /token only.
    assert http().get(peer.userinfo_url, headers=bearer(tok["access_token"])).ok
    peer.set_mode(token="normal")
    # The injected failure did not consume the refresh token.
    assert refresh(peer, BASIC, tok["refresh_token"]).status_code == 200
    expected_failures = 1 if mode in ("invalid_grant", "unavailable") else 0
    assert peer.stats()["failed_token_requests"] == expected_failures


@pytest.mark.parametrize("mode", ["invalid_grant", "unavailable", "html", "huge"])
def test_userinfo_modes(peer, mode):
    tok = login_tokens(peer)
    peer.set_mode(userinfo=mode)
    _assert_injected(http().get(peer.userinfo_url, headers=bearer(tok["access_token"])), mode)
    # Mode affects /userinfo only.
    assert refresh(peer, BASIC, tok["refresh_token"]).status_code == 200
    peer.reset()
    assert http().get(peer.userinfo_url, headers=bearer(tok["access_token"])).ok


def test_slow_mode_and_for_seconds(peer):
    tok = login_tokens(peer)
    peer.set_mode(token="slow", userinfo="slow", seconds=0.6)
    t0 = time.monotonic()
    r = refresh(peer, BASIC, tok["refresh_token"])
    assert r.status_code == 200 and time.monotonic() - t0 >= 0.6
    t0 = time.monotonic()
    assert http().get(peer.userinfo_url, headers=bearer(r.json()["access_token"])).ok
    assert time.monotonic() - t0 >= 0.6

    peer.set_mode(token="unavailable", for_seconds=0.5)
    assert refresh(peer, BASIC, r.json()["refresh_token"]).status_code == 503
    wait_until(lambda: http().get(peer.base_url + "/_control/mode").json()["token"]["mode"] == "normal",
               "the token endpoint's mode to end after its 0.5 seconds")
    assert refresh(peer, BASIC, r.json()["refresh_token"]).status_code == 200


def test_reset_clears_stats_and_modes(peer):
    login_tokens(peer)
    peer.set_mode(token="unavailable", userinfo="html")
    assert peer.stats()["authorization_code_grants"] == 1
    peer.reset()
    assert peer.stats() == {**peer.stats(), "authorization_code_grants": 0,
                            "refresh_grants": 0, "failed_token_requests": 0,
                            "revocations": 0, "userinfo_calls": 0}
    mode = http().get(peer.base_url + "/_control/mode").json()
    assert mode["token"]["mode"] == "normal" and mode["userinfo"]["mode"] == "normal"


def test_unknown_mode_rejected(peer):
    r = http().post(peer.base_url + "/_control/mode", json={"token": "explode"})
    assert r.status_code == 400


def test_runtime_client_registration(peer):
    extra = PeerClient("runtime-client", "rt-secret", "client_secret_post",
                       "http://127.0.0.1:53699/cb")
    peer.add_client(extra)
    tok = login_tokens(peer, extra)
    assert tok["access_token"]


# --------------------------------------------------------------------------
# concurrency
# --------------------------------------------------------------------------


def test_200_concurrent_requests(peer):
    tok = login_tokens(peer)
    url = peer.userinfo_url
    headers = bearer(tok["access_token"])

    def call(_):
        with http() as s:
            return s.get(url, headers=headers, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=200) as pool:
        codes = list(pool.map(call, range(250)))
    assert codes == [200] * 250
    assert peer.stats()["userinfo_calls"] == 250
