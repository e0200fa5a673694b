"""Run ``oauth_server.py`` as a loopback subprocess for interop tests.

    from peers.oauth_peer import OAuthPeer, PeerClient

    peer = OAuthPeer(clients=[PeerClient("latchkey", "s3cret", "client_secret_basic",
                                         "http://127.0.0.1:8400/callback")])
    peer.start()
    ...
    peer.stop()

or ``with OAuthPeer(...) as peer: ...``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .process import PeerProcess
from .process import PeerProcessError
from .process import endpoint

SERVER_SCRIPT = Path(__file__).with_name("oauth_server.py")

# Users known to the peer: login -> (password, display name).
USERS = {
    "alice": ("alice-password", "Alice Example"),
    "bob": ("bob-password", "Bob Example"),
    "xss": ("xss-password", "<script>alert(1)</script>"),
}

TOKEN_MODES = ("normal", "invalid_grant", "unavailable", "slow", "html", "huge", "invalid_token")


@dataclass(frozen=True)
class PeerClient:
    client_id: str
    client_secret: str
    auth_method: str  # "client_secret_basic" | "client_secret_post"
    redirect_uri: str

    def cli_arg(self) -> str:
        return f"{self.client_id}:{self.client_secret}:{self.auth_method}:{self.redirect_uri}"


class OAuthPeerError(PeerProcessError):
    pass


class OAuthPeer(PeerProcess):
    SERVER_SCRIPT = SERVER_SCRIPT
    NAME = "oauth peer"
    CLIENT_TYPE = PeerClient
    Error = OAuthPeerError

    def __init__(self, clients=(), access_token_ttl: int | None = None,
                 issuer: str | None = None, port: int = 0, verbose: bool = False,
                 python: str | None = None, keep_log: bool = False):
        super().__init__(clients, port=port, verbose=verbose, python=python, keep_log=keep_log)
        self.access_token_ttl = access_token_ttl
        self.issuer = issuer

    revoke_url = endpoint("/revoke")

    def server_args(self) -> list[str]:
        args = []
        if self.access_token_ttl is not None:
            args += ["--access-token-ttl", str(self.access_token_ttl)]
        if self.issuer:
            args += ["--issuer", self.issuer]
        return args

    # ---------------- control API ----------------

    def stats(self) -> dict:
        return self._get("/_control/stats")

    def issued(self, detail: bool = False) -> list:
        """Every access and refresh token value issued so far (strings), or
        dicts with type/grant_type/client_id/user when ``detail``."""
        return self._get("/_control/issued" + ("?detail=1" if detail else ""))

    def set_mode(self, token: str | None = None, userinfo: str | None = None,
                 seconds: float | None = None, for_seconds: float | None = None,
                 api: str | None = None, count: int | None = None) -> dict:
        body: dict = {}
        if api is not None:
            body["api"] = api
        if count is not None:
            body["count"] = count
        if token is not None:
            body["token"] = token
        if userinfo is not None:
            body["userinfo"] = userinfo
        if seconds is not None:
            body["seconds"] = seconds
        if for_seconds is not None:
            body["for_seconds"] = for_seconds
        return self._post("/_control/mode", body)

    def set_rate_limit(self, remaining: int | None = None, reset_in: float = 60) -> dict:
        """Makes the provider API send rate-limit headers (remaining, reset as epoch seconds); None stops them."""
        return self._post("/_control/ratelimit", {} if remaining is None else {"remaining": remaining, "reset_in": reset_in})

    def api_log(self) -> list:
        """Every request that reached the provider API: method, path with query, auth scheme."""
        return self._get("/_control/api_log")

    def reset(self) -> None:
        self._post("/_control/reset")

    def add_client(self, client: PeerClient, also_accept: list[str] | None = None) -> None:
        """Adds or replaces a client; `also_accept` lists further secrets it accepts (a rotation in progress)."""
        self._post("/_control/clients", {
            "client_id": client.client_id, "client_secret": client.client_secret,
            "auth_method": client.auth_method, "redirect_uri": client.redirect_uri,
            "also_accept": also_accept or [],
        })

    def introspect(self, token: str, client: PeerClient) -> dict:
        """RFC 7662 introspection, authenticated as `client` (HTTP basic)."""
        r = self._http.post(self.base_url + "/introspect", data={"token": token},
                            auth=(client.client_id, client.client_secret), timeout=10)
        r.raise_for_status()
        return r.json()

    def client_auth_count(self, client_id: str, secret: str) -> int:
        """How often `client_id` authenticated with `secret` (compared by hash; the peer keeps no plain copy)."""
        import hashlib
        digest = hashlib.sha256(secret.encode()).hexdigest()[:8]
        return self.stats().get(f"token_client_auth_{client_id}_{digest}", 0)

    def expire_access_tokens(self, tokens: list[str] | None = None) -> int:
        return self._post("/_control/expire_access_tokens",
                          {} if tokens is None else {"tokens": tokens})["expired"]


def browser_login_and_consent(driver, username: str, password: str, approve: bool = True,
                              timeout: float = 10.0) -> None:
    """Drive the peer's login + consent pages in a Selenium WebDriver that is
    currently on (or being redirected to) the peer's /authorize page.

    If the browser already has a peer session, the login form is skipped.
    Returns after clicking approve/deny; the browser then follows the redirect
    to the client's redirect URI.
    """
    from selenium.common.exceptions import NoSuchElementException
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, timeout)

    def login_or_consent(d):
        for by, value in ((By.ID, "login-form"), (By.ID, "consent-form")):
            try:
                return d.find_element(by, value)
            except NoSuchElementException:
                pass
        return False

    form = wait.until(login_or_consent)
    if form.get_attribute("id") == "login-form":
        user_box = driver.find_element(By.NAME, "username")
        user_box.clear()
        user_box.send_keys(username)
        pw_box = driver.find_element(By.NAME, "password")
        pw_box.clear()
        pw_box.send_keys(password)
        driver.find_element(By.ID, "login").click()
        wait.until(EC.presence_of_element_located((By.ID, "consent-form")))

    button = driver.find_element(By.ID, "approve" if approve else "deny")
    button.click()

    # Wait until the consent page is gone (redirect to the client happened). While the page is being replaced,
    # Chromium may answer "Node with given id does not belong to the document" instead of a stale-element
    # error: that means gone as well.
    def consent_gone(_d):
        try:
            button.is_enabled()
            return False
        except WebDriverException:  # StaleElementReferenceException is one
            return True

    wait.until(consent_gone)
