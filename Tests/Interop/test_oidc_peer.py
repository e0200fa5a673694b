"""Self-tests for the Authlib-based OpenID Connect peer (peers/oidc_server.py).

These drive the peer with ``requests`` (and, for the Selenium helper, a
headless Chromium when one is installed) and verify its ID tokens with
joserfc, proving that it behaves like a real OpenID provider before
Latchkey's interop tests rely on it. No Latchkey binary is needed.
"""

from __future__ import annotations

import base64
import hashlib
import html
import os
import secrets
import shutil
import threading
import time
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from urllib.parse import urlencode

import pytest
from joserfc import jwt
from joserfc.errors import BadSignatureError
from joserfc.errors import InvalidKeyIdError
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry

from peers.oidc_peer import OIDCClient
from peers.oidc_peer import OIDCPeer
from peers.oidc_peer import USERS
from peers.oidc_peer import browser_oidc_login
from peers.testing import decide
from peers.testing import form_action
from peers.testing import hidden
from peers.testing import http
from peers.testing import peer_fixture
from peers.testing import pkce_pair
from peers.testing import post_token
from peers.testing import query_of
from peers.testing import sign_in
from peers.testing import reset_peer as _reset  # noqa: F401  (autouse)

CLIENT = OIDCClient("rp", "rp-secret", "http://127.0.0.1:53690/oidc/callback")
POST_ONLY = OIDCClient("rp-post", "rp-post-secret", "http://localhost:53691/cb?x=1", "client_secret_post")
SCOPE = "openid email profile"


peer = peer_fixture(lambda: OIDCPeer(clients=[CLIENT, POST_ONLY]))


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def auth_params(client, scope=SCOPE, nonce=None, state=None, challenge=None, **extra):
    params = {"response_type": "code", "client_id": client.client_id,
              "redirect_uri": client.redirect_uri, "scope": scope,
              "state": state or secrets.token_urlsafe(12),
              "nonce": nonce or secrets.token_urlsafe(16)}
    if challenge:
        params.update(code_challenge=challenge, code_challenge_method="S256")
    params.update(extra)
    return {k: v for k, v in params.items() if v is not None}


def authorize(peer, client=CLIENT, username="alice", scope=SCOPE, nonce=None, session=None):
    """GET /authorize (PKCE S256, nonce, state) -> login -> consent -> redirect.
    Returns (redirect query, verifier, nonce, session)."""
    s = session or http()
    verifier, challenge = pkce_pair()
    nonce = nonce or secrets.token_urlsafe(16)
    params = auth_params(client, scope=scope, nonce=nonce, challenge=challenge)

    r = s.get(peer.authorize_url, params=params, allow_redirects=False)
    assert r.status_code == 200, r.text
    if 'id="login-form"' in r.text:
        r = sign_in(s, peer, r.text, username, USERS[username][0])
    assert r.status_code == 200 and 'id="consent-form"' in r.text, r.text
    query = decide(s, peer, r.text, "approve", client, params["state"])
    return query, verifier, nonce, s


def exchange(peer, client, code, verifier, auth="client_secret_basic"):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": client.redirect_uri}
    if verifier is not None:
        data["code_verifier"] = verifier
    return post_token(peer, client, data, auth)


def login_tokens(peer, client=CLIENT, username="alice", auth="client_secret_basic", **kw):
    query, verifier, nonce, _ = authorize(peer, client, username=username, **kw)
    r = exchange(peer, client, query["code"], verifier, auth=auth)
    assert r.status_code == 200, r.text
    return r.json(), nonce


def jwks(peer) -> KeySet:
    return KeySet.import_key_set(http().get(peer.jwks_url).json())


def verify_id_token(peer, id_token: str):
    """Verify the signature against the peer's published JWKS (joserfc); returns the decoded token."""
    return jwt.decode(id_token, jwks(peer), algorithms=["RS256"])


def validate_claims(claims, peer, client, nonce):
    JWTClaimsRegistry(
        iss={"essential": True, "value": peer.issuer},
        aud={"essential": True, "value": client.client_id},
        sub={"essential": True},
        nonce={"essential": True, "value": nonce},
    ).validate(claims)  # also checks exp/iat/nbf


def unverified_claims(id_token: str) -> dict:
    """Decode without verifying (only for tokens that are deliberately bad)."""
    import json
    payload = id_token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def unverified_header(id_token: str) -> dict:
    import json
    header = id_token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))


# --------------------------------------------------------------------------
# discovery and keys
# --------------------------------------------------------------------------


def test_discovery_document(peer):
    r = http().get(peer.discovery_url)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
    doc = r.json()
    base = f"http://127.0.0.1:{peer.port}"
    assert peer.issuer == base
    assert doc["issuer"] == base
    assert doc["authorization_endpoint"] == base + "/authorize"
    assert doc["token_endpoint"] == base + "/token"
    assert doc["userinfo_endpoint"] == base + "/userinfo"
    assert doc["jwks_uri"] == base + "/jwks"
    assert doc["response_types_supported"] == ["code"]
    assert "public" in doc["subject_types_supported"]
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert {"openid", "email", "profile"} <= set(doc["scopes_supported"])
    assert set(doc["token_endpoint_auth_methods_supported"]) == {"client_secret_basic", "client_secret_post"}
    assert peer.stats()["discovery_requests"] == 1


def test_jwks_publishes_one_public_rs256_key_with_kid(peer):
    doc = http().get(peer.jwks_url).json()
    assert len(doc["keys"]) == 1
    key = doc["keys"][0]
    assert key["kty"] == "RSA" and key["alg"] == "RS256" and key["use"] == "sig"
    assert key["kid"]
    assert key["n"] and key["e"]
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key), "private key material leaked"
    assert peer.stats()["jwks_requests"] == 1


# --------------------------------------------------------------------------
# the code flow and the ID token
# --------------------------------------------------------------------------


@pytest.mark.parametrize("auth", ["client_secret_basic", "client_secret_post"])
def test_code_flow_returns_a_verifiable_id_token(peer, auth):
    tok, nonce = login_tokens(peer, auth=auth)
    assert tok["token_type"].lower() == "bearer"
    assert tok["access_token"] and tok["id_token"]
    assert tok["scope"] == SCOPE

    header = unverified_header(tok["id_token"])
    assert header["alg"] == "RS256"
    assert header["kid"] == http().get(peer.jwks_url).json()["keys"][0]["kid"]

    decoded = verify_id_token(peer, tok["id_token"])
    claims = decoded.claims
    validate_claims(claims, peer, CLIENT, nonce)
    assert claims["iss"] == peer.issuer
    assert claims["aud"] == CLIENT.client_id
    assert claims["nonce"] == nonce
    assert claims["sub"] == "oidc-alice"
    assert claims["email"] == "alice@example.com"
    assert claims["email_verified"] is True
    assert claims["name"] == "Alice Example"
    now = time.time()
    assert claims["iat"] <= now + 5 and claims["exp"] > now + 3000
    # at_hash binds the access token (left half of its SHA-256).
    half = hashlib.sha256(tok["access_token"].encode()).digest()[:16]
    assert claims["at_hash"] == base64.urlsafe_b64encode(half).rstrip(b"=").decode()

    stats = peer.stats()
    assert stats["logins"] == 1 and stats["id_tokens_issued"] == 1 and stats["bad_id_tokens_issued"] == 0
    issued = peer.id_tokens()
    assert [t["id_token"] for t in issued] == [tok["id_token"]]
    assert issued[0]["mode"] == "normal" and issued[0]["requested_nonce"] == nonce


@pytest.mark.parametrize("login,sub,email,verified,name", [
    ("bob", "oidc-bob", "bob@example.com", True, "Bob Example"),
    ("mallory", "oidc-mallory", "mallory@example.com", True, "Mallory Example"),
    ("unverified", "oidc-unverified", "unverified@example.com", False, "Unverified Example"),
])
def test_other_users(peer, login, sub, email, verified, name):
    tok, nonce = login_tokens(peer, username=login)
    claims = verify_id_token(peer, tok["id_token"]).claims
    validate_claims(claims, peer, CLIENT, nonce)
    assert (claims["sub"], claims["email"], claims["email_verified"], claims["name"]) == (sub, email, verified, name)


def test_userinfo(peer):
    tok, _ = login_tokens(peer, username="unverified")
    r = http().get(peer.userinfo_url, headers={"Authorization": f"Bearer {tok['access_token']}"})
    assert r.status_code == 200, r.text
    assert r.json() == {"sub": "oidc-unverified", "email": "unverified@example.com", "email_verified": False,
                        "name": "Unverified Example", "preferred_username": "unverified"}

    # Scope-filtered: openid alone yields just the subject.
    tok, _ = login_tokens(peer, scope="openid")
    r = http().get(peer.userinfo_url, headers={"Authorization": f"Bearer {tok['access_token']}"})
    assert r.json() == {"sub": "oidc-alice"}
    # ... while the ID token still carries the email claims.
    claims = verify_id_token(peer, tok["id_token"]).claims
    assert claims["email"] == "alice@example.com" and claims["email_verified"] is True

    r = http().get(peer.userinfo_url)
    assert r.status_code == 401
    r = http().get(peer.userinfo_url, headers={"Authorization": "Bearer not-a-token"})
    assert r.status_code == 401
    assert peer.stats()["userinfo_calls"] == 4


def test_without_openid_scope_there_is_no_id_token(peer):
    tok, _ = login_tokens(peer, scope="email")
    assert "id_token" not in tok and tok["access_token"]
    r = http().get(peer.userinfo_url, headers={"Authorization": f"Bearer {tok['access_token']}"})
    assert r.status_code == 403 and "insufficient_scope" in r.text


def test_pinned_client_auth_method(peer):
    query, verifier, _, _ = authorize(peer, POST_ONLY)
    r = exchange(peer, POST_ONLY, query["code"], verifier, auth="client_secret_basic")
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    tok, nonce = login_tokens(peer, POST_ONLY, auth="client_secret_post")
    validate_claims(verify_id_token(peer, tok["id_token"]).claims, peer, POST_ONLY, nonce)


def test_wrong_code_verifier_is_invalid_grant(peer):
    query, verifier, _, _ = authorize(peer)
    r = exchange(peer, CLIENT, query["code"], verifier[::-1])
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant", r.text
    r = exchange(peer, CLIENT, query["code"], None)
    assert r.status_code == 400 and r.json()["error"] == "invalid_request", r.text
    assert peer.stats()["id_tokens_issued"] == 0


def test_codes_are_single_use_and_bound_to_the_client(peer):
    query, verifier, _, _ = authorize(peer)
    other = OIDCClient(POST_ONLY.client_id, POST_ONLY.client_secret, CLIENT.redirect_uri)
    r = exchange(peer, other, query["code"], verifier, auth="client_secret_post")
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert exchange(peer, CLIENT, query["code"], verifier).status_code == 200
    again = exchange(peer, CLIENT, query["code"], verifier)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    bad_secret = OIDCClient(CLIENT.client_id, "wrong", CLIENT.redirect_uri)
    assert exchange(peer, bad_secret, "whatever", verifier).json()["error"] == "invalid_client"


def test_authorization_request_checks(peer):
    s = http()
    _, challenge = pkce_pair()

    def get(**overrides):
        params = auth_params(CLIENT, challenge=challenge)
        params.update(overrides)
        return s.get(peer.authorize_url, params={k: v for k, v in params.items() if v is not None},
                     allow_redirects=False)

    # PKCE is mandatory, S256 only.
    r = get(code_challenge=None, code_challenge_method=None)
    assert r.status_code == 302 and query_of(r.headers["Location"])["error"] == "invalid_request"
    r = get(code_challenge_method="plain")
    assert r.status_code == 302 and query_of(r.headers["Location"])["error"] == "invalid_request"
    # The nonce is required.
    r = get(nonce=None)
    assert r.status_code == 302 and query_of(r.headers["Location"])["error"] == "invalid_request"
    # Unknown redirect URI: an error page, never a redirect.
    r = get(redirect_uri="http://127.0.0.1:1/evil")
    assert r.status_code == 400 and "<code id=\"error\">" in r.text and "Location" not in r.headers
    # prompt=none without a session.
    r = get(prompt="none")
    assert r.status_code == 302 and query_of(r.headers["Location"])["error"] == "login_required"


def test_nonce_cannot_be_replayed(peer):
    nonce = secrets.token_urlsafe(16)
    query, verifier, _, s = authorize(peer, nonce=nonce)
    assert exchange(peer, CLIENT, query["code"], verifier).status_code == 200
    _, challenge = pkce_pair()
    r = s.get(peer.authorize_url, params=auth_params(CLIENT, nonce=nonce, challenge=challenge),
              allow_redirects=False)
    assert r.status_code == 302 and query_of(r.headers["Location"])["error"] == "invalid_request"


def test_login_and_consent_pages(peer):
    s = http()
    _, challenge = pkce_pair()
    params = auth_params(CLIENT, challenge=challenge)
    r = s.get(peer.authorize_url, params=params)
    assert 'id="login-form"' in r.text and 'name="username"' in r.text and 'name="password"' in r.text
    assert 'id="login"' in r.text
    r = s.post(peer.base_url + "/login", data={"username": "alice", "password": "nope",
                                               "next": hidden(r.text, "next")}, allow_redirects=False)
    assert r.status_code == 401 and 'id="login-error"' in r.text
    assert peer.stats()["failed_logins"] == 1

    cookie_names = set()
    r = s.post(peer.base_url + "/login", data={"username": "bob", "password": "bob-password",
                                               "next": "/authorize?" + urlencode(params)}, allow_redirects=False)
    assert r.status_code == 303
    cookie_names |= {c.name for c in s.cookies}
    assert cookie_names == {f"oidc_peer_session_{peer.port}"}
    r = s.get(peer.base_url + r.headers["Location"])
    assert 'id="consent-form"' in r.text and 'id="approve"' in r.text and 'id="deny"' in r.text
    assert 'id="user-login">bob<' in r.text and 'id="client-id">rp<' in r.text
    action = form_action(r.text, "consent-form")

    # The consent form is CSRF-protected.
    r2 = s.post(peer.base_url + action, data={"decision": "approve"}, allow_redirects=False)
    assert r2.status_code == 400 and "csrf" in r2.text
    r2 = s.post(peer.base_url + action, data={"decision": "approve", "csrf_token": "forged"}, allow_redirects=False)
    assert r2.status_code == 400

    # Deny goes back to the client with access_denied.
    r2 = s.post(peer.base_url + action, data={"decision": "deny", "csrf_token": hidden(r.text, "csrf_token")},
                allow_redirects=False)
    assert r2.status_code == 302
    q = query_of(r2.headers["Location"])
    assert q["error"] == "access_denied" and q["state"] == params["state"]
    assert peer.stats()["authorizations_denied"] == 1


def test_prompt_login_asks_again_even_with_a_session(peer):
    _, _, _, s = authorize(peer, username="alice")
    _, challenge = pkce_pair()
    r = s.get(peer.authorize_url, params=auth_params(CLIENT, challenge=challenge, prompt="login"))
    assert 'id="login-form"' in r.text
    r = s.get(peer.authorize_url, params=auth_params(CLIENT, challenge=challenge, prompt="none"),
              allow_redirects=False)
    assert r.status_code == 302 and query_of(r.headers["Location"])["error"] == "consent_required"


# --------------------------------------------------------------------------
# deliberately bad ID tokens (control API)
# --------------------------------------------------------------------------


def test_wrong_nonce_mode_spoils_only_the_next_id_token(peer):
    assert peer.set_mode("wrong_nonce") == {"mode": "wrong_nonce", "count": 1}
    tok, nonce = login_tokens(peer)
    claims = verify_id_token(peer, tok["id_token"]).claims  # still correctly signed
    assert claims["nonce"] != nonce and claims["nonce"]
    assert claims["iss"] == peer.issuer and claims["aud"] == CLIENT.client_id
    assert peer.mode()["mode"] == "normal"

    tok, nonce = login_tokens(peer)
    assert verify_id_token(peer, tok["id_token"]).claims["nonce"] == nonce
    stats = peer.stats()
    assert stats["id_tokens_issued"] == 2 and stats["bad_id_tokens_issued"] == 1
    assert [t["mode"] for t in peer.id_tokens()] == ["wrong_nonce", "normal"]


@pytest.mark.parametrize("mode", ["wrong_aud", "wrong_iss", "expired"])
def test_bad_claim_modes(peer, mode):
    peer.set_mode(mode)
    tok, nonce = login_tokens(peer)
    claims = verify_id_token(peer, tok["id_token"]).claims  # signature fine, claims wrong
    assert claims["nonce"] == nonce and claims["sub"] == "oidc-alice"
    if mode == "wrong_aud":
        assert claims["aud"] != CLIENT.client_id and claims["iss"] == peer.issuer
    elif mode == "wrong_iss":
        assert claims["iss"] != peer.issuer and claims["aud"] == CLIENT.client_id
    else:
        assert claims["exp"] < time.time() - 600 and claims["iat"] < claims["exp"]
    with pytest.raises(Exception):
        validate_claims(claims, peer, CLIENT, nonce)


def test_other_key_mode_signs_with_a_key_not_in_the_jwks(peer):
    peer.set_mode("other_key")
    tok, nonce = login_tokens(peer)
    published_kid = http().get(peer.jwks_url).json()["keys"][0]["kid"]
    assert unverified_header(tok["id_token"])["kid"] == published_kid
    with pytest.raises(BadSignatureError):
        verify_id_token(peer, tok["id_token"])
    claims = unverified_claims(tok["id_token"])
    assert claims["nonce"] == nonce and claims["iss"] == peer.issuer and claims["aud"] == CLIENT.client_id


def test_mode_count_and_reset(peer):
    peer.set_mode("wrong_aud", count=None)  # sticky
    for _ in range(2):
        tok, _ = login_tokens(peer)
        assert verify_id_token(peer, tok["id_token"]).claims["aud"] != CLIENT.client_id
    peer.set_mode("normal")
    tok, _ = login_tokens(peer)
    assert verify_id_token(peer, tok["id_token"]).claims["aud"] == CLIENT.client_id

    r = http().post(peer.base_url + "/_control/mode", json={"mode": "bogus"})
    assert r.status_code == 400 and "wrong_nonce" in r.json()["modes"]
    with pytest.raises(ValueError):
        peer.set_mode("bogus")
    peer.set_mode("expired", count=2)
    peer.reset()
    assert peer.mode()["mode"] == "normal" and peer.stats()["id_tokens_issued"] == 0


def test_two_peers_have_distinct_keys_and_cookies():
    with OIDCPeer(clients=[CLIENT]) as a, OIDCPeer(clients=[CLIENT]) as b:
        assert a.issuer != b.issuer
        ka, kb = a.jwks()["keys"][0], b.jwks()["keys"][0]
        assert ka["kid"] != kb["kid"] and ka["n"] != kb["n"]
        tok, nonce = login_tokens(a)
        with pytest.raises(InvalidKeyIdError):  # b does not know a's kid
            jwt.decode(tok["id_token"], jwks(b), algorithms=["RS256"])
        s = http()
        authorize(a, session=s)
        authorize(b, session=s)
        assert {c.name for c in s.cookies} == {f"oidc_peer_session_{a.port}", f"oidc_peer_session_{b.port}"}


# --------------------------------------------------------------------------
# the Selenium helper
# --------------------------------------------------------------------------


class _CallbackHandler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        body = f"<html><body><h1 id='callback'>callback</h1><p id='query'>{html.escape(self.path)}</p></body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args):
        pass


def _chromium():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


@pytest.mark.skipif(not (os.path.exists("/usr/bin/chromium") and shutil.which("chromedriver")),
                    reason="needs Chromium and chromedriver")
def test_browser_oidc_login_helper():
    callback = ThreadingHTTPServer(("127.0.0.1", 0), _CallbackHandler)
    threading.Thread(target=callback.serve_forever, daemon=True).start()
    client = OIDCClient("browser-rp", "browser-secret", f"http://127.0.0.1:{callback.server_address[1]}/cb")
    driver = None
    try:
        with OIDCPeer(clients=[client], remember_consent=True) as peer:
            driver = _chromium()

            def run(**kw):
                verifier, challenge = pkce_pair()
                params = auth_params(client, challenge=challenge)
                driver.get(peer.authorize_url + "?" + urlencode(params))
                browser_oidc_login(driver, "mallory", **kw)
                from selenium.webdriver.common.by import By
                from selenium.webdriver.support import expected_conditions as EC
                from selenium.webdriver.support.ui import WebDriverWait
                WebDriverWait(driver, 10).until(EC.presence_of_element_located((By.ID, "callback")))
                q = query_of(driver.current_url)
                assert q["state"] == params["state"]
                return q, verifier, params["nonce"]

            # Login + consent.
            q, verifier, nonce = run()
            r = exchange(peer, client, q["code"], verifier)
            claims = verify_id_token(peer, r.json()["id_token"]).claims
            validate_claims(claims, peer, client, nonce)
            assert claims["sub"] == "oidc-mallory"
            # Session and remembered consent: the peer redirects straight back.
            q, _, _ = run(issuer=peer.issuer)
            assert "code" in q
            assert peer.stats()["logins"] == 1

            # A wrong password is reported, not silently waited on.
            driver.delete_all_cookies()
            _, challenge = pkce_pair()
            driver.get(peer.authorize_url + "?" + urlencode(auth_params(client, challenge=challenge)))
            with pytest.raises(AssertionError, match="rejected the login"):
                browser_oidc_login(driver, "mallory", "wrong-password")
    finally:
        if driver is not None:
            driver.quit()
        callback.shutdown()
        callback.server_close()
