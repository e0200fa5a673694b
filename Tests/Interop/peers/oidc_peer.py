"""Run ``oidc_server.py`` (an Authlib OpenID Connect provider) as a loopback subprocess for interop tests.

    from peers.oidc_peer import OIDCPeer, OIDCClient

    peer = OIDCPeer(clients=[OIDCClient("latchkey", "s3cret", "http://127.0.0.1:8400/callback")])
    peer.start()
    peer.issuer        # http://127.0.0.1:<port>, the discovery document is at issuer + /.well-known/openid-configuration
    peer.set_mode("wrong_nonce")   # the next ID token carries another nonce
    ...
    peer.stop()

or ``with OIDCPeer(...) as peer: ...``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .process import PeerProcess
from .process import PeerProcessError
from .process import endpoint

SERVER_SCRIPT = Path(__file__).with_name("oidc_server.py")

# Users known to the peer: login -> (password, sub, email, email_verified, name).
USERS = {
    "alice": ("alice-password", "oidc-alice", "alice@example.com", True, "Alice Example"),
    "bob": ("bob-password", "oidc-bob", "bob@example.com", True, "Bob Example"),
    "mallory": ("mallory-password", "oidc-mallory", "mallory@example.com", True, "Mallory Example"),
    "unverified": ("unverified-password", "oidc-unverified", "unverified@example.com", False, "Unverified Example"),
}

ID_TOKEN_MODES = ("normal", "wrong_nonce", "wrong_aud", "wrong_iss", "expired", "other_key")


@dataclass(frozen=True)
class OIDCClient:
    client_id: str
    client_secret: str
    redirect_uri: str
    auth_method: str | None = None  # None: the token endpoint takes client_secret_basic and client_secret_post

    def cli_arg(self) -> str:
        method = f"{self.auth_method}:" if self.auth_method else ""
        return f"{self.client_id}:{self.client_secret}:{method}{self.redirect_uri}"


class OIDCPeerError(PeerProcessError):
    pass


class OIDCPeer(PeerProcess):
    SERVER_SCRIPT = SERVER_SCRIPT
    NAME = "oidc peer"
    CLIENT_TYPE = OIDCClient
    Error = OIDCPeerError

    def __init__(self, clients=(), issuer: str | None = None, port: int = 0,
                 access_token_ttl: int | None = None, id_token_ttl: int | None = None,
                 require_nonce: bool = True, remember_consent: bool = False,
                 verbose: bool = False, python: str | None = None, keep_log: bool = False):
        super().__init__(clients, port=port, verbose=verbose, python=python, keep_log=keep_log)
        self.issuer_override = issuer
        self.access_token_ttl = access_token_ttl
        self.id_token_ttl = id_token_ttl
        self.require_nonce = require_nonce
        self.remember_consent = remember_consent

    # ---------------- addresses ----------------

    @property
    def issuer(self) -> str:
        return self.issuer_override or self.base_url

    discovery_url = endpoint("/.well-known/openid-configuration")
    jwks_url = endpoint("/jwks")

    # ---------------- lifecycle ----------------

    def server_args(self) -> list[str]:
        args = []
        if self.issuer_override:
            args += ["--issuer", self.issuer_override]
        if self.access_token_ttl is not None:
            args += ["--access-token-ttl", str(self.access_token_ttl)]
        if self.id_token_ttl is not None:
            args += ["--id-token-ttl", str(self.id_token_ttl)]
        if not self.require_nonce:
            args.append("--no-require-nonce")
        if self.remember_consent:
            args.append("--remember-consent")
        return args

    # ---------------- control API ----------------

    def stats(self) -> dict:
        """Counters: logins, failed_logins, authorizations_approved/denied, token_requests,
        failed_token_requests, authorization_code_grants, id_tokens_issued, bad_id_tokens_issued,
        userinfo_calls, jwks_requests, discovery_requests."""
        return self._get("/_control/stats")

    def set_mode(self, mode: str, count: int | None = 1) -> dict:
        """Make the next ``count`` ID tokens (None: every one until reset) bad in one way:
        wrong_nonce, wrong_aud, wrong_iss, expired, other_key (signed by a key that is not
        in the JWKS but has the same kid). ``normal`` clears it."""
        if mode not in ID_TOKEN_MODES:
            raise ValueError(f"unknown mode {mode!r}; one of {ID_TOKEN_MODES}")
        return self._post("/_control/mode", {"mode": mode, "count": count})

    def mode(self) -> dict:
        return self._get("/_control/mode")

    def id_tokens(self) -> list:
        """Every ID token issued since the last reset: {id_token, mode, client_id, user, requested_nonce}."""
        return self._get("/_control/id_tokens")

    def reset(self) -> None:
        """Zero the stats, forget issued ID tokens and return to normal mode."""
        self._post("/_control/reset")

    def add_client(self, client: OIDCClient) -> None:
        self._post("/_control/clients", {
            "client_id": client.client_id, "client_secret": client.client_secret,
            "redirect_uri": client.redirect_uri, "auth_method": client.auth_method,
        })

    def discovery(self) -> dict:
        return self._get("/.well-known/openid-configuration")

    def jwks(self) -> dict:
        return self._get("/jwks")


def browser_oidc_login(driver, username: str, password: str | None = None, approve: bool = True,
                       timeout: float = 10.0, issuer: str | None = None) -> None:
    """Drive the OIDC peer's login and consent pages in a Selenium WebDriver that is
    currently on (or being redirected to) the peer's /authorize page.

    ``password`` defaults to the peer's ``<username>-password``. If the browser
    already has a peer session, the login form is skipped. If the peer shows no
    consent page (``remember_consent`` and an earlier approval), pass ``issuer``
    (the peer's base URL): the helper then also returns once the browser has
    left the peer, or is on a non-peer page whose query carries ``code`` or
    ``error`` (the client's redirect URI), even if no peer page was ever seen.
    Otherwise it returns after clicking approve/deny, once the browser has
    followed the redirect to the client. A rejected login raises AssertionError.
    """
    from urllib.parse import parse_qs
    from urllib.parse import urlsplit

    from selenium.common.exceptions import NoSuchElementException
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    if password is None:
        password = f"{username}-password"
    wait = WebDriverWait(driver, timeout)

    def origin(url):
        parts = urlsplit(url)
        return parts.scheme, parts.netloc

    peer_origin = origin(issuer) if issuer else None
    seen_peer = False

    def find(d, element_id):
        try:
            return d.find_element(By.ID, element_id)
        except NoSuchElementException:
            return None

    def next_step(d):
        """"login", "consent", "gone" (left the peer without a form), or False to keep waiting."""
        nonlocal seen_peer
        try:
            here = origin(d.current_url)
            if find(d, "login-error") is not None:
                raise AssertionError(f"OIDC peer rejected the login of {username!r}: {find(d, 'login-error').text}")
            if find(d, "login-form") is not None:
                return "login"
            if find(d, "consent-form") is not None:
                return "consent"
        except WebDriverException:  # the page is being replaced
            return False
        if peer_origin is not None:
            if here == peer_origin:
                seen_peer = True
            elif seen_peer or {"code", "error"} & set(parse_qs(urlsplit(d.current_url).query)):
                return "gone"  # back at the client (its redirect URI carries code or error)
        return False

    def stale(element):
        def check(_d):
            try:
                element.is_enabled()
                return False
            except WebDriverException:  # StaleElementReferenceException, or Chromium's "Node ... does not belong"
                return True
        return check

    step = wait.until(next_step)
    if peer_origin is None:
        peer_origin = origin(driver.current_url)  # a peer page is showing now
    seen_peer = True

    if step == "login":
        for name, value in (("username", username), ("password", password)):
            box = driver.find_element(By.NAME, name)
            box.clear()
            box.send_keys(value)
        button = driver.find_element(By.ID, "login")
        button.click()
        wait.until(stale(button))
        step = wait.until(next_step)
        if step == "login":
            raise AssertionError("OIDC peer showed the login form again after signing in")

    if step != "consent":
        return

    button = driver.find_element(By.ID, "approve" if approve else "deny")
    button.click()
    wait.until(stale(button))
