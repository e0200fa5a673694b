"""Fixtures for Latchkey's interop tests: the real Latchkey binary, the Authlib provider, Chromium.

Every peer runs as its own process on loopback. Nothing here mocks OAuth: the provider is Authlib's
authorization server (peers/oauth_server.py), and Latchkey is the binary `make test` built.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlparse

import pytest
import requests

sys.path.insert(0, str(Path(__file__).parent))
from peers.oauth_peer import OAuthPeer, PeerClient  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = Path(__file__).parent / "output"
LATCHKEY_BIN = os.environ.get("LATCHKEY_BIN", str(ROOT / ".build" / "debug" / "latchkey"))
CLIENT_SECRETS = {
    "basic": "basic-secret-" + secrets.token_urlsafe(16),
    "post": "post-secret-" + secrets.token_urlsafe(16),
}


def wait_until(condition, what: str, timeout: float = 60, interval: float = 0.05):
    """Calls `condition()` until it returns something truthy, and returns that. The timeout only keeps a broken run
    from hanging: it is no claim about how soon the awaited thing should happen, and no test relies on it."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(interval)
    return value


def api_instant(text: str) -> float:
    """The epoch time by which an instant the API names (`expires_at`) has certainly passed. The API writes whole
    seconds and drops the fraction, so the instant itself lies somewhere in the second it names."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() + 1


def wait_past(instant: float, what: str) -> None:
    """Waits until the wall clock, which Latchkey and the peers read too, is past `instant` (epoch seconds)."""
    wait_until(lambda: time.time() > instant, what)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# The tools every test manifest shares: a read and a write on the provider's items API.
ITEM_TOOLS = """\
tools:
  - name: list_items
    description: List items.
    access: read
    request: {method: GET, path: /items}
    input: {type: object, properties: {}}
  - name: create_item
    description: Create an item.
    access: write
    request: {method: POST, path: /items, body: {name: "{name}"}}
    input: {type: object, required: [name], properties: {name: {type: string}}}
"""


def provider_manifest(pid: str, peer_url: str, client_auth: str, pkce: bool = True, extra: str = "") -> str:
    return f"""\
id: {pid}
name: Authlib Test Provider ({pid})
docs: https://docs.authlib.org/en/latest/
auth:
  mode: oauth2
  authorization_url: {peer_url}/authorize
  token_url: {peer_url}/token
  revocation_url: {peer_url}/revoke
  scopes: [profile, email]
  pkce: {"true" if pkce else "false"}
  client_auth: {client_auth}
  default_token_lifetime: 3600
  identity: {{url: {peer_url}/userinfo, id: sub, name: name}}
{extra}
proxy:
  base_url: {peer_url}/api
  inject: {{header: Authorization, format: "Bearer {{access_token}}"}}
{ITEM_TOOLS}  - name: echo
    description: Echo a path segment and a query value back.
    access: read
    request: {{method: GET, path: "/echo/{{segment}}", query: {{q: "{{q}}", n: "{{n}}"}}}}
    input: {{type: object, required: [segment], properties: {{segment: {{type: string}}, q: {{type: string}}, n: {{type: integer, minimum: 1, maximum: 5}}}}}}
"""


def api_key_manifest(peer_url: str, provider: str = "authlib-key", pricing: str = "free") -> str:
    return f"""\
id: {provider}
name: Authlib Key Provider
docs: https://docs.authlib.org/en/latest/
auth:
  mode: api_key
  api_key: {{label: API token}}
  identity: {{url: {peer_url}/userinfo, id: sub, name: name}}
pricing: {pricing}
proxy:
  base_url: {peer_url}/api
  inject: {{header: Authorization, format: "Bearer {{api_key}}"}}
{ITEM_TOOLS}"""


class Latchkey:
    """The Latchkey binary on a free loopback port, with its own SQLite file, keys and providers."""

    def __init__(self, workdir: Path, port: int, providers: Path, env: dict | None = None):
        self.workdir = workdir
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.admin_key = "lk_admin_" + secrets.token_urlsafe(32)
        self.db_path = workdir / "latchkey.db"
        self.log_path = workdir / "latchkey.log"
        config = workdir / "latchkey.yaml"
        config.write_text("log_level: info\n")
        self.env = {
            **os.environ,
            "LATCHKEY_CONFIG": str(config),
            "LATCHKEY_HOST": "127.0.0.1",
            "LATCHKEY_PORT": str(port),
            "LATCHKEY_PUBLIC_URL": self.url,
            "LATCHKEY_DATABASE_URL": f"sqlite:{self.db_path}",
            "LATCHKEY_MASTER_KEY_FILE": str(workdir / "master.key"),
            "LATCHKEY_ADMIN_KEY": self.admin_key,
            "LATCHKEY_PROVIDERS": str(providers),
            "LATCHKEY_RETURN_TO_ALLOWLIST": "http://127.0.0.1:9",
            "LATCHKEY_PROVIDER_TIMEOUT_SECONDS": "3",
            # Every test's wrong keys come from 127.0.0.1 to a shared Latchkey: the guessing limit is met only where a
            # test asks for it (test_hostile_traffic.py).
            "LATCHKEY_AUTH_FAILURES_PER_ADDRESS": "100000",
            "LATCHKEY_AUTH_FAILURES_PER_KEY_KIND": "100000",
            **(env or {}),
        }
        self.proc = None

    def start(self) -> "Latchkey":
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([LATCHKEY_BIN, "serve"], cwd=self.workdir, env=self.env,
                                     stdout=self.log, stderr=subprocess.STDOUT)

        def answers() -> bool:
            if self.proc.poll() is not None:
                raise RuntimeError("latchkey exited:\n" + self.log_path.read_text())
            try:
                return requests.get(self.url + "/healthz", timeout=1).status_code == 200
            except requests.RequestException:
                return False

        wait_until(answers, f"latchkey to answer /healthz (its log: {self.log_path})", interval=0.1)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()

    # API helpers
    def call(self, method: str, path: str, key: str | None = None, **kwargs) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        return requests.request(method, self.url + path, headers=headers, timeout=30, **kwargs)

    def admin(self, method: str, path: str, **kwargs) -> requests.Response:
        return self.call(method, path, self.admin_key, **kwargs)

    def db_bytes(self) -> bytes:
        """The raw bytes of the SQLite database and its WAL, as an attacker with the disk would see them."""
        data = b""
        for suffix in ("", "-wal", "-shm"):
            p = Path(str(self.db_path) + suffix)
            if p.exists():
                data += p.read_bytes()
        return data


class World:
    """A running Latchkey, the Authlib provider and helpers for the identities the tests need."""

    def __init__(self, latchkey: Latchkey, peer: OAuthPeer):
        self.lk = latchkey
        self.peer = peer
        self.counter = 0
        self.platform_keys: dict[str, tuple[str, str]] = {}

    def unique(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}-{secrets.token_hex(3)}"

    def org_with_agent(self, apps=("authlib-basic", "authlib-post", "authlib-nopkce", "authlib-down", "authlib-iss", "authlib-metered", "authlib-limited")):
        """A new org with team `team`, project `proj` and agent `agent`; provider apps registered at the org.
        Returns (org, agent_key)."""
        org = self.unique("org")
        lk = self.lk
        assert lk.admin("POST", "/v1/admin/orgs", json={"id": org}).status_code == 201
        assert lk.admin("POST", "/v1/admin/teams", json={"org": org, "id": "team"}).status_code == 201
        assert lk.admin("POST", "/v1/admin/projects", json={"team": f"{org}/team", "id": "proj"}).status_code == 201
        key = self.agent(org, "team", "proj", "agent")
        for app in apps:
            kind = "post" if app == "authlib-post" else "basic"
            r = lk.admin("PUT", f"/v1/admin/apps/{app}",
                         json={"owner": f"org:{org}", "client_id": f"latchkey-{kind}", "client_secret": CLIENT_SECRETS[kind]})
            assert r.status_code == 200, r.text
        return org, key

    def agent(self, org: str, team: str, project: str, agent: str) -> str:
        """Creates an agent (and its team and project when missing); returns its key."""
        lk = self.lk
        lk.admin("POST", "/v1/admin/teams", json={"org": org, "id": team})
        lk.admin("POST", "/v1/admin/projects", json={"team": f"{org}/{team}", "id": project})
        r = lk.admin("POST", "/v1/admin/agents", json={"project": f"{org}/{team}/{project}", "id": agent})
        assert r.status_code == 201, r.text
        assert r.json()["owner"] == f"agent:{org}/{team}/{project}/{agent}"
        return r.json()["api_key"]

    def connect_session(self, key: str, provider: str = "authlib-basic", **body) -> dict:
        """A new connect link: its `url` and `expires_at`."""
        r = self.lk.call("POST", "/v1/connect-sessions", key, json={"provider": provider, **body})
        assert r.status_code == 201, r.text
        return r.json()

    def connect_link(self, key: str, provider: str = "authlib-basic", **body) -> str:
        return self.connect_session(key, provider, **body)["url"]

    def token_expiry(self, key: str) -> float:
        """When the access token of the agent's one connection has certainly expired (epoch seconds)."""
        [c] = self.connections(key)
        return api_instant(c["expires_at"])

    def connections(self, key: str) -> list:
        r = self.lk.call("GET", "/v1/connections", key)
        assert r.status_code == 200, r.text
        return r.json()["connections"]

    def peer_token(self, username: str = "alice") -> str:
        """A fresh access token of `username` at the peer, to serve as an API key (the peer checks it like any token)."""
        _, key = self.org_with_agent(apps=("authlib-basic",))
        Person(self.peer).connect(self.connect_link(key), username=username, password=f"{username}-password")
        return [t["value"] for t in self.peer.issued(detail=True) if t["type"] == "access_token"][-1]

    def platform_key(self, provider: str = "metered-key") -> tuple[str, str]:
        """The platform's (managed) key of an API-key provider, registered on first use: (key, connection id)."""
        if provider not in self.platform_keys:
            token = self.peer_token("bob")
            r = self.lk.admin("POST", "/v1/admin/connections", json={"provider": provider, "owner": "platform", "api_key": token})
            assert r.status_code == 201 and r.json()["owner"] == "platform" and token not in r.text, r.text
            self.platform_keys[provider] = (token, r.json()["id"])
        return self.platform_keys[provider]


class Person:
    """A person's browser, driven with plain HTTP requests: follows links and submits the provider's forms.
    Chromium drives the same pages in the browser tests; this driver keeps the many error-path tests fast."""

    def __init__(self, peer: OAuthPeer):
        self.session = requests.Session()
        self.peer = peer

    def open_connect_link(self, url: str) -> requests.Response:
        return self.session.get(url, timeout=30)

    def start(self, connect_url: str, form: dict | None = None) -> requests.Response:
        """Presses Connect: returns Latchkey's redirect to the provider (not followed)."""
        return self.session.post(connect_url + "/start", data=form or {}, allow_redirects=False, timeout=30)

    def consent(self, authorize_url: str, username="alice", password="alice-password", approve=True) -> str:
        """Logs in and answers the consent page at the provider; returns the callback URL it redirects to."""
        r = self.session.get(authorize_url, allow_redirects=False, timeout=30)
        if r.status_code in (301, 302, 303) and "/login" not in r.headers.get("Location", ""):
            return urljoin(authorize_url, r.headers["Location"])
        if "login-form" in r.text:
            r = self.session.post(self.peer.base_url + "/login",
                                  data={"username": username, "password": password,
                                        "next": authorize_url[len(self.peer.base_url):]},
                                  allow_redirects=False, timeout=30)
            if r.status_code in (301, 302, 303):
                r = self.session.get(urljoin(self.peer.base_url, r.headers["Location"]), allow_redirects=False, timeout=30)
        assert "consent-form" in r.text, r.text[:500]
        csrf = r.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        r = self.session.post(authorize_url, data={"csrf_token": csrf, "decision": "approve" if approve else "deny"},
                              allow_redirects=False, timeout=30)
        assert r.status_code in (301, 302, 303), (r.status_code, r.text[:300])
        return r.headers["Location"]

    def callback(self, callback_url: str) -> requests.Response:
        return self.session.get(callback_url, allow_redirects=False, timeout=30)

    def connect(self, connect_url: str, **kw) -> requests.Response:
        """The whole flow: press Connect, consent at the provider, land on Latchkey's callback."""
        r = self.start(connect_url)
        assert r.status_code == 303, (r.status_code, r.text[:500])
        return self.callback(self.consent(r.headers["Location"], **kw))


@pytest.fixture(scope="session")
def workdir():
    d = Path(tempfile.mkdtemp(prefix="latchkey-interop-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


def start_replica(world_latchkey: "Latchkey", name: str, env: dict) -> "Latchkey":
    """Another replica of `world_latchkey`: its own folder and port, the same providers, master key file, admin key
    and public URL (so OAuth callbacks land on the first), and `env` (the shared database among it)."""
    d = world_latchkey.workdir.parent / name
    d.mkdir()
    lk = Latchkey(d, free_port(), world_latchkey.env["LATCHKEY_PROVIDERS"], {**env, "LATCHKEY_PUBLIC_URL": world_latchkey.url})
    lk.admin_key = world_latchkey.admin_key
    lk.env.update({k: world_latchkey.env[k] for k in ("LATCHKEY_MASTER_KEY_FILE", "LATCHKEY_ADMIN_KEY")})
    return lk.start()


def start_world(workdir: Path, name: str, env: dict | None = None, access_token_ttl: int | None = None):
    port = free_port()
    callback = f"http://127.0.0.1:{port}/oauth/callback"
    peer = OAuthPeer(clients=[
        PeerClient("latchkey-basic", CLIENT_SECRETS["basic"], "client_secret_basic", callback),
        PeerClient("latchkey-post", CLIENT_SECRETS["post"], "client_secret_post", callback),
    ], access_token_ttl=access_token_ttl)
    peer.start()
    d = workdir / name
    providers = d / "providers"
    providers.mkdir(parents=True)
    (providers / "authlib-basic.yaml").write_text(provider_manifest("authlib-basic", peer.base_url, "client_secret_basic"))
    (providers / "authlib-post.yaml").write_text(provider_manifest("authlib-post", peer.base_url, "client_secret_post"))
    (providers / "authlib-nopkce.yaml").write_text(
        provider_manifest("authlib-nopkce", peer.base_url, "client_secret_basic", pkce=False))
    (providers / "authlib-key.yaml").write_text(api_key_manifest(peer.base_url))
    # An API-key provider metered against the org's pool when the platform's key serves it.
    (providers / "metered-key.yaml").write_text(
        api_key_manifest(peer.base_url, "metered-key", "{metered: true, credits_per_call: 1}"))
    # The same provider, metered against the org's credit pool.
    (providers / "authlib-metered.yaml").write_text(
        provider_manifest("authlib-metered", peer.base_url, "client_secret_basic").replace(
            "\nproxy:", "\npricing: {metered: true, credits_per_call: 1}\nproxy:"))
    # The same provider, naming its rate-limit headers.
    (providers / "authlib-limited.yaml").write_text(
        provider_manifest("authlib-limited", peer.base_url, "client_secret_basic").replace(
            '  inject: {header: Authorization, format: "Bearer {access_token}"}',
            '  inject: {header: Authorization, format: "Bearer {access_token}"}\n'
            '  rate_limit: {remaining_header: X-RateLimit-Remaining, reset_header: X-RateLimit-Reset, reset_format: epoch_seconds}'))
    # The same provider, naming its issuer (RFC 9207 mix-up defence).
    (providers / "authlib-iss.yaml").write_text(
        provider_manifest("authlib-iss", peer.base_url, "client_secret_basic", extra=f"  issuer: {peer.base_url}"))
    # The same provider, but its token endpoint is down (nothing listens on that port).
    down = provider_manifest("authlib-down", peer.base_url, "client_secret_basic")
    (providers / "authlib-down.yaml").write_text(
        down.replace(f"token_url: {peer.base_url}/token", f"token_url: http://127.0.0.1:{free_port()}/token"))
    lk = Latchkey(d, port, providers, env).start()
    return lk, peer


@pytest.fixture(scope="session")
def world(workdir):
    lk, peer = start_world(workdir, "main")
    yield World(lk, peer)
    lk.stop()
    peer.stop()


@pytest.fixture(scope="session")
def short_lived_world(workdir):
    """A Latchkey whose connect links, states, people's sign-in links and approvals expire after 2 seconds."""
    lk, peer = start_world(workdir, "short", env={
        "LATCHKEY_CONNECT_SESSION_TTL_SECONDS": "2", "LATCHKEY_AUTHORIZATION_STATE_TTL_SECONDS": "2",
        "LATCHKEY_SIGN_IN_LINK_TTL_SECONDS": "2", "LATCHKEY_APPROVAL_WINDOW_SECONDS": "2"})
    yield World(lk, peer)
    lk.stop()
    peer.stop()


@pytest.fixture(scope="session")
def five_second_world(workdir):
    """The provider issues 5-second access tokens and rotating refresh tokens."""
    lk, peer = start_world(workdir, "five-second", access_token_ttl=5)
    yield World(lk, peer)
    lk.stop()
    peer.stop()


@pytest.fixture(scope="session")
def on_use_world(workdir):
    """5-second rotating tokens, and no background refresher: tokens are refreshed only when a call needs one, so a
    test can meet an expired token on purpose."""
    lk, peer = start_world(workdir, "on-use", env={"LATCHKEY_BACKGROUND_REFRESH": "off"}, access_token_ttl=5)
    yield World(lk, peer)
    lk.stop()
    peer.stop()


@pytest.fixture
def person(world):
    return Person(world.peer)


@pytest.fixture(scope="session")
def output_dir():
    OUTPUT.mkdir(exist_ok=True)
    return OUTPUT
