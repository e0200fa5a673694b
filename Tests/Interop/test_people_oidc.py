"""People sign in at /me through OpenID Connect against a real OpenID provider (Authlib's, on loopback), then see and
control their connections and which agents may use them, in headless Chromium (issue 11)."""

from __future__ import annotations

import re
import secrets
from urllib.parse import urljoin, urlparse

import pytest
import requests

from peers.oauth_peer import browser_login_and_consent
from peers.oidc_peer import OIDCClient, OIDCPeer, browser_oidc_login
from test_connect_flow import chromium

SECRET = "oidc-secret-" + secrets.token_urlsafe(16)


@pytest.fixture(scope="module")
def oidc(world):
    peer = OIDCPeer(clients=[OIDCClient("latchkey-me", SECRET, world.lk.url + "/me/oidc/callback")]).start()
    yield peer
    peer.stop()


def org_with_sign_in(world, oidc, *people):
    org, key = world.org_with_agent()
    for uid in people:
        r = world.lk.admin("POST", "/v1/admin/users", json={"org": org, "id": uid, "email": f"{uid.upper()}@Example.com"})
        assert r.status_code == 201, r.text
    r = world.lk.admin("PUT", f"/v1/admin/orgs/{org}/sign-in",
                       json={"issuer": oidc.issuer, "client_id": "latchkey-me", "client_secret": SECRET})
    assert r.status_code == 200, r.text
    assert r.json() == {"org": org, "issuer": oidc.issuer, "client_id": "latchkey-me",
                        "redirect_uri": world.lk.url + "/me/oidc/callback"}
    assert SECRET not in world.lk.admin("GET", f"/v1/admin/orgs/{org}/sign-in").text
    return org, key


def sign_in_over_http(lk, org: str, username: str) -> tuple[requests.Session, requests.Response]:
    """The whole OpenID Connect sign-in with plain HTTP: Latchkey -> the provider's login and consent -> the callback."""
    s = requests.Session()
    r = s.get(lk.url + f"/me/login?org={org}", allow_redirects=False, timeout=30)
    assert r.status_code == 303, r.text[:300]
    authorize = r.headers["Location"]
    base = f"{urlparse(authorize).scheme}://{urlparse(authorize).netloc}"
    r = s.get(authorize, allow_redirects=False, timeout=30)
    if 'id="login-form"' in r.text:
        nxt = re.search(r'name="next" value="([^"]*)"', r.text).group(1).replace("&amp;", "&")
        r = s.post(base + "/login", data={"username": username, "password": f"{username}-password", "next": nxt},
                   allow_redirects=False, timeout=30)
        r = s.get(urljoin(base, r.headers["Location"]), allow_redirects=False, timeout=30)
    csrf = re.search(r'name="csrf_token" value="([^"]*)"', r.text).group(1)
    action = re.search(r'id="consent-form"[^>]*action="([^"]*)"', r.text)
    r = s.post(urljoin(base, action.group(1).replace("&amp;", "&")) if action else authorize,
               data={"csrf_token": csrf, "decision": "approve"}, allow_redirects=False, timeout=30)
    assert r.status_code in (302, 303), r.text[:300]
    return s, s.get(r.headers["Location"], allow_redirects=False, timeout=30)


def test_a_bad_id_token_signs_nobody_in_and_an_unregistered_account_is_refused(world, oidc):
    lk = world.lk
    org, _ = org_with_sign_in(world, oidc, "alice")
    for mode in ("other_key", "wrong_nonce", "wrong_aud", "wrong_iss", "expired"):
        oidc.set_mode(mode)
        s, page = sign_in_over_http(lk, org, "alice")
        assert page.status_code == 403, (mode, page.text[:300])
        assert "ID token was refused" in page.text, mode
        assert "lk_person_session" not in s.cookies
    oidc.set_mode("normal")
    # Mallory has an account at the identity provider but is no person of this org.
    s, page = sign_in_over_http(lk, org, "mallory")
    assert page.status_code == 403 and "no person of" in page.text
    # Alice's verified email matches the registered one (case does not matter), and her subject is recorded.
    s, page = sign_in_over_http(lk, org, "alice")
    assert page.status_code == 200 and f"user:{org}/alice" in page.text
    assert f"user:{org}/alice" in s.get(lk.url + "/me", timeout=30).text
    events = lk.admin("GET", f"/v1/admin/audit?owner=org:{org}&action=person.sign_in").json()["events"]
    assert sorted(e["detail"] for e in events) == sorted(
        ["invalid_signature", "nonce_mismatch", "wrong_audience", "wrong_issuer", "expired", "unknown_person"]), events


def test_a_person_signs_in_and_controls_their_connections_and_agents_in_chromium(world, oidc, output_dir):
    lk = world.lk
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    org, key = org_with_sign_in(world, oidc, "alice")
    as_alice = {"Latchkey-User": f"{org}/alice"}
    driver = chromium()
    wait = WebDriverWait(driver, 20)
    try:
        # 1. Alice signs in at /me through her org's identity provider.
        driver.get(lk.url + "/me")
        driver.find_element(By.ID, "org").send_keys(org)
        driver.find_element(By.ID, "sign-in-button").click()
        browser_oidc_login(driver, "alice")
        wait.until(EC.presence_of_element_located((By.ID, "connections")))
        assert driver.find_element(By.ID, "who").text == f"user:{org}/alice"

        # She connects two accounts from the console: the connect page needs her signed in, and she is.
        for provider in ("authlib-basic", "authlib-post"):
            driver.get(lk.url + "/me")
            driver.find_element(By.CSS_SELECTOR, f"#provider option[value='{provider}']").click()
            driver.find_element(By.ID, "connect-new-button").click()
            wait.until(EC.presence_of_element_located((By.ID, "connect-button"))).click()
            browser_login_and_consent(driver, "alice", "alice-password")
            wait.until(EC.presence_of_element_located((By.ID, "connect-success")))

        # 2. The console shows her connections.
        driver.get(lk.url + "/me")
        rows = driver.find_elements(By.CSS_SELECTOR, "#connections tr.connection")
        assert sorted(r.get_attribute("data-provider") for r in rows) == ["authlib-basic", "authlib-post"]
        assert all(r.find_element(By.CLASS_NAME, "account").text == "Alice Example" for r in rows)
        driver.save_screenshot(str(output_dir / "05-me-connections.png"))

        # 3. She revokes one.
        driver.find_element(By.CSS_SELECTOR, "tr.connection[data-provider='authlib-post'] button.revoke").click()
        assert "was revoked" in wait.until(EC.presence_of_element_located((By.ID, "flash"))).text
        rows = driver.find_elements(By.CSS_SELECTOR, "#connections tr.connection")
        assert [r.get_attribute("data-provider") for r in rows] == ["authlib-basic"]
        connection = rows[0].get_attribute("data-connection")

        # 5. (before) The agent's call on her behalf needs her consent.
        r = lk.call("GET", "/v1/proxy/authlib-basic/items", key, headers=dict(as_alice))
        assert r.status_code == 403 and r.json()["error"]["code"] == "consent_required"
        consent_url = r.json()["error"]["consent_url"]

        # 4. She grants the agent use of the other connection, from the link the agent passed on.
        driver.get(consent_url)
        assert driver.find_element(By.ID, "consent-agent").text == f"agent:{org}/team/proj/agent"
        assert driver.find_element(By.ID, "consent-account").text == "Alice Example"
        driver.save_screenshot(str(output_dir / "06-me-consent-request.png"))
        driver.find_element(By.ID, "approve").click()
        wait.until(EC.presence_of_element_located((By.ID, "flash")))
        r = lk.call("GET", "/v1/proxy/authlib-basic/items", key, headers=dict(as_alice))
        assert r.status_code == 200 and r.json()[0]["owner"] == "alice"

        # The console shows the grant and the agent that used the connection.
        driver.get(lk.url + "/me")
        consent_row = driver.find_element(By.CSS_SELECTOR, f"tr.consent[data-connection='{connection}']")
        assert consent_row.get_attribute("data-grantee") == f"agent:{org}/team/proj/agent"
        used_by = driver.find_element(By.CSS_SELECTOR, f"tr.connection[data-connection='{connection}'] .used-by").text
        assert f"agent:{org}/team/proj/agent" in used_by
        driver.save_screenshot(str(output_dir / "07-me-agent-granted.png"))

        # 6. She withdraws it: the next call is refused again.
        consent_row.find_element(By.CSS_SELECTOR, "button.withdraw").click()
        wait.until(EC.presence_of_element_located((By.ID, "flash")))
        r = lk.call("GET", "/v1/proxy/authlib-basic/items", key, headers=dict(as_alice))
        assert r.status_code == 403 and r.json()["error"]["code"] == "consent_required"
        driver.save_screenshot(str(output_dir / "08-me-withdrawn.png"))

        driver.find_element(By.ID, "logout").click()
        wait.until(EC.presence_of_element_located((By.ID, "sign-in")))
    finally:
        driver.quit()
    actions = {e["action"] for e in lk.admin("GET", f"/v1/admin/audit?owner=user:{org}/alice").json()["events"]}
    assert {"person.signed_in", "person.signed_out", "consent.granted", "consent.withdrawn", "connection.used"} <= actions


def test_an_orgs_identity_provider_can_come_from_the_config_file(world, oidc, workdir):
    from conftest import Latchkey, free_port

    d = workdir / "sign-in-config"
    d.mkdir()
    lk = Latchkey(d, free_port(), world.lk.env["LATCHKEY_PROVIDERS"], {"OIDC_SECRET": "from-env-" + SECRET})
    (d / "latchkey.yaml").write_text(
        "log_level: info\n"
        f"sign_in:\n  cfgorg:\n    issuer: {oidc.issuer}\n    client_id: latchkey-config\n"
        "    client_secret: ${OIDC_SECRET}\n")
    oidc.add_client(OIDCClient("latchkey-config", "from-env-" + SECRET, lk.url + "/me/oidc/callback"))
    lk.start()
    try:
        r = lk.admin("GET", "/v1/admin/orgs/cfgorg/sign-in")
        assert r.status_code == 200 and r.json()["issuer"] == oidc.issuer and r.json()["client_id"] == "latchkey-config"
        assert lk.admin("POST", "/v1/admin/users", json={"org": "cfgorg", "id": "bob", "email": "bob@example.com"}).status_code == 201
        s, page = sign_in_over_http(lk, "cfgorg", "bob")
        assert page.status_code == 200 and "user:cfgorg/bob" in page.text
        assert b"from-env-" not in lk.db_bytes() and b"from-env-" not in lk.log_path.read_bytes()
    finally:
        lk.stop()
