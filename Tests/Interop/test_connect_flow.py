"""A person connects an account end to end, against the real Authlib provider."""

from __future__ import annotations

import os
import re
import time
from urllib.parse import parse_qs, urlparse

import pytest

from conftest import CLIENT_SECRETS
from peers.oauth_peer import browser_login_and_consent


def chromium():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1000,800"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def test_a_person_connects_in_chromium_and_the_agent_sees_an_active_connection(world, output_dir):
    lk, peer = world.lk, world.peer
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    # 1. An admin creates an org, team, project and agent.
    org, key = world.org_with_agent()
    # 2. The agent installs and gets a connect link.
    r = lk.call("POST", "/v1/integrations", key, json={"provider": "authlib-basic"})
    assert r.status_code == 201, r.text
    installed = r.json()
    assert installed["state"] == "installed"
    url = world.connect_link(key)

    # 3. The browser opens the link, logs in and consents at the provider, and lands on the success page.
    driver = chromium()
    try:
        driver.get(url)
        assert "Connect your Authlib Test Provider" in driver.find_element(By.TAG_NAME, "h1").text
        driver.save_screenshot(str(output_dir / "01-connect-page.png"))
        driver.find_element(By.ID, "connect-button").click()
        browser_login_and_consent(driver, "alice", "alice-password")
        WebDriverWait(driver, 15).until(EC.presence_of_element_located((By.ID, "connect-success")))
        assert driver.find_element(By.ID, "account").text == "Alice Example"
        driver.save_screenshot(str(output_dir / "02-connect-success.png"))
    finally:
        driver.quit()

    # 4. GET /v1/connections shows the connection active, with the account's name; the install's id is kept.
    connections = world.connections(key)
    assert len(connections) == 1
    c = connections[0]
    assert c["id"] == installed["id"]
    assert c["state"] == "active"
    assert c["account"] == "Alice Example"
    assert c["account_id"] == "1001"
    assert set(c["scopes"]) == {"profile", "email"}
    assert c["expires_at"]

    # 5. The database holds neither the tokens the provider issued nor the client secret, as raw bytes.
    issued = peer.issued()
    assert len(issued) >= 2
    raw = lk.db_bytes()
    for token in issued:
        assert token.encode() not in raw
    for secret in CLIENT_SECRETS.values():
        assert secret.encode() not in raw
    # ...and no response or log line carried them either.
    log = lk.log_path.read_bytes()
    for token in issued:
        assert token.encode() not in log
    for secret in CLIENT_SECRETS.values():
        assert secret.encode() not in log
    # No line names a secret either; request paths are left out, since a route may be called `/rotate-secret`.
    assert b"secret" not in re.sub(rb"path=\S+", b"", log.lower()).replace(b"secret:", b"")


def test_client_secret_post_app_connects_and_returns_to_an_allowed_url(world, person):
    lk, peer = world.lk, world.peer
    org, key = world.org_with_agent()
    before = peer.stats()["authorization_code_grants"]
    url = world.connect_link(key, provider="authlib-post", return_to="http://127.0.0.1:9/done?x=1")
    r = person.connect(url)
    assert r.status_code == 303
    location = urlparse(r.headers["Location"])
    assert (location.scheme, location.netloc, location.path) == ("http", "127.0.0.1:9", "/done")
    query = parse_qs(location.query)
    assert query["status"] == ["connected"] and query["x"] == ["1"]
    assert peer.stats()["authorization_code_grants"] == before + 1
    [c] = world.connections(key)
    assert c["id"] == query["connection_id"][0]
    assert (c["provider"], c["state"], c["account"]) == ("authlib-post", "active", "Alice Example")


def test_pkce_is_sent_and_a_flow_without_it_is_refused_by_the_provider(world, person):
    lk, peer = world.lk, world.peer
    org, key = world.org_with_agent()
    # With PKCE (the default), the authorization request carries an S256 challenge.
    r = person.start(world.connect_link(key))
    query = parse_qs(urlparse(r.headers["Location"]).query)
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert len(query["state"][0]) >= 43  # 256 random bits, base64url

    # A manifest that turns PKCE off: the provider enforces PKCE and refuses; nothing is stored.
    url = world.connect_link(key, provider="authlib-nopkce")
    r = person.start(url)
    assert "code_challenge" not in r.headers["Location"]
    callback = person.consent(r.headers["Location"]) if "error=" not in r.headers["Location"] else None
    r2 = person.session.get(r.headers["Location"], allow_redirects=False)
    target = callback or r2.headers.get("Location")
    assert target and "error=invalid_request" in target
    page = person.callback(target)
    assert page.status_code == 502
    assert 'id="error-code">provider_error' in page.text
    assert [c for c in world.connections(key) if c["provider"] == "authlib-nopkce"] == []


def test_reconnect_keeps_the_connection_id_and_replaces_the_credential(world, person):
    lk, peer = world.lk, world.peer
    org, key = world.org_with_agent()
    person.connect(world.connect_link(key))
    [first] = world.connections(key)
    tokens_before = set(peer.issued())
    url = world.connect_link(key, connection_id=first["id"], scopes=["repo"])
    r = person.connect(url)
    assert r.status_code == 200, r.text
    [again] = world.connections(key)
    assert again["id"] == first["id"]
    assert set(again["scopes"]) == {"profile", "email", "repo"}
    assert set(peer.issued()) - tokens_before  # new tokens were issued


def test_owners_see_only_their_own_chain(world, person):
    lk = world.lk
    org, key_a = world.org_with_agent()
    key_b = world.agent(org, "team", "proj", "second")      # same project
    key_c = world.agent(org, "team", "other", "third")      # same team, other project
    key_d = world.agent(org, "rival", "proj", "fourth")     # other team

    # The first agent's own connection is seen by nobody else.
    person.connect(world.connect_link(key_a))
    assert len(world.connections(key_a)) == 1
    assert world.connections(key_b) == [] and world.connections(key_c) == []

    # A project-level connection (connected by an admin's link) is seen by both agents of the project,
    # and not by an agent in another project or another team.
    r = lk.admin("POST", "/v1/connect-sessions", json={"provider": "authlib-post", "owner": f"project:{org}/team/proj"})
    assert r.status_code == 201, r.text
    from conftest import Person
    Person(world.peer).connect(r.json()["url"], username="bob", password="bob-password")
    seen_a = {c["provider"] for c in world.connections(key_a)}
    seen_b = [c for c in world.connections(key_b)]
    assert seen_a == {"authlib-basic", "authlib-post"}
    assert [(c["owner"], c["account"]) for c in seen_b] == [(f"project:{org}/team/proj", "Bob Example")]
    assert world.connections(key_c) == []
    assert world.connections(key_d) == []

    # An agent cannot install, connect or remove for another owner.
    r = lk.call("POST", "/v1/integrations", key_b, json={"provider": "authlib-basic", "owner": f"agent:{org}/team/proj/agent"})
    assert r.status_code == 403 and r.json()["error"]["field"] == "owner"
    project_conn = seen_b[0]["id"]
    r = lk.call("DELETE", f"/v1/integrations/{project_conn}", key_b)
    assert r.status_code == 403
    r = lk.call("DELETE", f"/v1/integrations/{world.connections(key_a)[0]['id']}", key_d)
    assert r.status_code == 404


def test_removing_an_integration_destroys_the_credential(world, person):
    org, key = world.org_with_agent()
    person.connect(world.connect_link(key))
    [c] = world.connections(key)
    revocations = world.peer.stats()["revocations"]
    r = world.lk.call("DELETE", f"/v1/integrations/{c['id']}", key)
    assert r.status_code == 200 and r.json()["state"] == "revoked"
    # Revoked at the provider (RFC 7009): the refresh token and the access token.
    assert world.peer.stats()["revocations"] == revocations + 2
    audit = world.lk.admin("GET", f"/v1/admin/audit?owner=org:{org}").json()["events"]
    assert [e["outcome"] for e in audit if e["action"] == "connection.revoked_at_provider"] == ["success"]
    assert world.connections(key) == []
    r = world.lk.admin("GET", f"/v1/admin/connections?owner=org:{org}&state=revoked")
    assert [x["id"] for x in r.json()["connections"]] == [c["id"]]


def test_an_api_key_is_checked_at_the_identity_url_before_it_is_stored(world, person):
    lk, peer = world.lk, world.peer
    org, key = world.org_with_agent()
    # A bad key is refused by the provider and nothing is stored.
    url = world.connect_link(key, provider="authlib-key")
    page = person.open_connect_link(url)
    assert page.status_code == 200 and 'name="api_key"' in page.text
    r = person.session.post(url + "/key", data={"api_key": "not-a-valid-token"}, allow_redirects=False)
    assert r.status_code == 400 and 'id="error-code">invalid_api_key' in r.text
    assert world.connections(key) == []
    # A good key (an access token the provider accepts) is stored, sealed, with the account's identity.
    good = Person(peer)
    good.connect(world.connect_link(key))
    token = [t["value"] for t in peer.issued(detail=True) if t["type"] == "access_token"][-1]
    r = person.session.post(url + "/key", data={"api_key": token}, allow_redirects=False)
    assert r.status_code == 200, r.text
    keyed = [c for c in world.connections(key) if c["provider"] == "authlib-key"]
    assert [(c["state"], c["account"]) for c in keyed] == [("active", "Alice Example")]
    assert token.encode() not in lk.db_bytes()


from conftest import Person  # noqa: E402


def test_a_refused_refresh_token_gives_424_with_a_link_and_the_person_reconnects_in_chromium(world, output_dir):
    lk, peer = world.lk, world.peer
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    org, key = world.org_with_agent()
    from conftest import Person
    Person(peer).connect(world.connect_link(key))
    [before] = world.connections(key)

    # The provider refuses the refresh token: the connection needs a person.
    peer.expire_access_tokens()
    peer.set_mode(token="invalid_grant")
    try:
        r = lk.call("GET", "/v1/proxy/authlib-basic/items", key)
    finally:
        peer.set_mode(token="normal")
    assert r.status_code == 424, r.text
    error = r.json()["error"]
    assert error["code"] == "reauth_required" and r.headers["Latchkey-Error"] == "reauth_required"
    link = error["connect_url"]
    assert link.startswith(lk.url + "/connect/cs_") and error["connect_url_expires_at"]
    assert world.connections(key)[0]["state"] == "needs_reauth"
    # A retry on the same connection gets the same link, not a new session each time; a tool call too.
    assert lk.call("GET", "/v1/proxy/authlib-basic/items", key).json()["error"]["connect_url"] == link
    r = lk.call("POST", "/v1/tools/authlib-basic.list_items/call", key, json={"arguments": {}})
    assert r.status_code == 424 and r.json()["error"]["connect_url"] == link

    # The person opens the link in a real browser and consents again.
    driver = chromium()
    try:
        driver.get(link)
        driver.find_element(By.ID, "connect-button").click()
        browser_login_and_consent(driver, "alice", "alice-password")
        WebDriverWait(driver, 15).until(EC.presence_of_element_located((By.ID, "connect-success")))
        driver.save_screenshot(str(output_dir / "04-reconnect-success.png"))
    finally:
        driver.quit()

    [after] = world.connections(key)
    assert after["id"] == before["id"] and after["state"] == "active" and after["last_error"] is None
    r = lk.call("GET", "/v1/proxy/authlib-basic/items", key)
    assert r.status_code == 200, r.text
    # The link was single-use.
    assert Person(peer).open_connect_link(link).status_code in (404, 410)
