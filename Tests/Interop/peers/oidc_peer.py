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

import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import requests

SERVER_SCRIPT = Path(__file__).with_name("oidc_server.py")
READY_TIMEOUT = 20.0

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


class OIDCPeerError(RuntimeError):
    pass


class OIDCPeer:
    def __init__(self, clients=(), issuer: str | None = None, port: int = 0,
                 access_token_ttl: int | None = None, id_token_ttl: int | None = None,
                 require_nonce: bool = True, remember_consent: bool = False,
                 verbose: bool = False, python: str | None = None, keep_log: bool = False):
        self.clients = list(clients)
        self.issuer_override = issuer
        self.requested_port = port
        self.access_token_ttl = access_token_ttl
        self.id_token_ttl = id_token_ttl
        self.require_nonce = require_nonce
        self.remember_consent = remember_consent
        self.verbose = verbose
        self.python = python or sys.executable
        self.keep_log = keep_log  # keep the stderr log file after stop()
        self.port: int | None = None
        self.proc: subprocess.Popen | None = None
        self._log_file = None
        self.log_path: str | None = None
        self._http = requests.Session()
        self._http.trust_env = False  # never route loopback control calls via a proxy

    # ---------------- addresses ----------------

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise OIDCPeerError("peer not started")
        return f"http://127.0.0.1:{self.port}"

    @property
    def issuer(self) -> str:
        return self.issuer_override or self.base_url

    @property
    def discovery_url(self) -> str:
        return self.base_url + "/.well-known/openid-configuration"

    @property
    def authorize_url(self) -> str:
        return self.base_url + "/authorize"

    @property
    def token_url(self) -> str:
        return self.base_url + "/token"

    @property
    def userinfo_url(self) -> str:
        return self.base_url + "/userinfo"

    @property
    def jwks_url(self) -> str:
        return self.base_url + "/jwks"

    # ---------------- lifecycle ----------------

    def command(self) -> list[str]:
        cmd = [self.python, str(SERVER_SCRIPT), "--port", str(self.requested_port)]
        if self.issuer_override:
            cmd += ["--issuer", self.issuer_override]
        if self.access_token_ttl is not None:
            cmd += ["--access-token-ttl", str(self.access_token_ttl)]
        if self.id_token_ttl is not None:
            cmd += ["--id-token-ttl", str(self.id_token_ttl)]
        if not self.require_nonce:
            cmd.append("--no-require-nonce")
        if self.remember_consent:
            cmd.append("--remember-consent")
        for c in self.clients:
            cmd += ["--client", c.cli_arg() if isinstance(c, OIDCClient) else str(c)]
        if self.verbose:
            cmd.append("--verbose")
        return cmd

    def start(self, timeout: float = READY_TIMEOUT) -> "OIDCPeer":
        if self.proc is not None:
            raise OIDCPeerError("already started")
        fd, self.log_path = tempfile.mkstemp(prefix="oidc-peer-", suffix=".log")
        os.close(fd)
        self._log_file = open(self.log_path, "wb")
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            self.command(), stdout=subprocess.PIPE, stderr=self._log_file,
            stdin=subprocess.DEVNULL, env=env, cwd=str(SERVER_SCRIPT.parent),
        )
        lines: queue.Queue = queue.Queue()

        def pump(stream):
            for raw in iter(stream.readline, b""):
                lines.put(raw.decode("utf-8", "replace").rstrip("\n"))
            lines.put(None)

        threading.Thread(target=pump, args=(self.proc.stdout,), daemon=True).start()

        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                tail = self.log_tail()
                self.stop()
                raise OIDCPeerError(f"oidc peer not READY within {timeout}s\n{tail}")
            try:
                line = lines.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                continue
            if line is None:
                rc = self.proc.wait(timeout=5)
                tail = self.log_tail()
                self.stop()
                raise OIDCPeerError(f"oidc peer exited with {rc} before READY\n{tail}")
            if line.startswith("READY "):
                self.port = int(line.split()[1])
                return self

    def stop(self, timeout: float = 5.0) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=timeout)
        if proc is not None and proc.stdout:
            proc.stdout.close()
        if self._log_file:
            self._log_file.close()
            self._log_file = None
            if not self.keep_log and self.log_path:
                try:
                    os.unlink(self.log_path)
                except OSError:
                    pass
        self._http.close()

    def __enter__(self):
        return self.start() if self.proc is None else self

    def __exit__(self, *exc):
        self.stop()

    def log_tail(self, n: int = 4000) -> str:
        if not self.log_path or not os.path.exists(self.log_path):
            return ""
        with open(self.log_path, "rb") as f:
            return f.read()[-n:].decode("utf-8", "replace")

    # ---------------- control API ----------------

    def _get(self, path):
        r = self._http.get(self.base_url + path, timeout=10)
        r.raise_for_status()
        return r.json()

    def _post(self, path, body=None):
        r = self._http.post(self.base_url + path, json=body or {}, timeout=10)
        r.raise_for_status()
        return r.json()

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
