"""Proxied calls to a provider over HTTPS on loopback, on both proxy clients: the provider's certificate is verified
against the system's store and the authorities `outbound_ca_files` adds, a certificate for another name is refused
whoever signed it, and without the added authority the provider is not trusted at all."""

from __future__ import annotations

import json
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import Latchkey, free_port

CLIENTS = ["event-loop", "curl"]


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def authority(workdir):
    """A private CA, and two certificates it signed: one for 127.0.0.1 and one for provider.example."""
    d = workdir / "tls"
    d.mkdir()
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
            "-keyout", str(d / "ca.key"), "-out", str(d / "ca.pem"), "-subj", "/CN=Latchkey test CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign")
    for name, san in (("right", "IP:127.0.0.1"), ("wrong", "DNS:provider.example")):
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", str(d / f"{name}.key"), "-out", str(d / f"{name}.csr"), "-subj", f"/CN={name}")
        (d / f"{name}.ext").write_text(f"subjectAltName={san}\nextendedKeyUsage=serverAuth\n")
        openssl("x509", "-req", "-in", str(d / f"{name}.csr"), "-CA", str(d / "ca.pem"), "-CAkey", str(d / "ca.key"),
                "-CAcreateserial", "-days", "1", "-out", str(d / f"{name}.pem"), "-extfile", str(d / f"{name}.ext"))
    return d


class Upstream(BaseHTTPRequestHandler):
    """Answers every GET with the path and the Authorization header it got."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        body = json.dumps({"path": self.path, "authorization": self.headers.get("Authorization")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def upstreams(authority):
    """Two HTTPS providers on loopback: one presenting the certificate for 127.0.0.1, one for provider.example."""
    ports = {}
    servers = []
    for name in ("right", "wrong"):
        server = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
        server.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(authority / f"{name}.pem"), str(authority / f"{name}.key"))
        server.socket = context.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        ports[name] = server.server_address[1]
    yield ports
    for server in servers:
        server.shutdown()


def manifest(provider: str, port: int) -> str:
    return f"""\
id: {provider}
name: TLS provider {provider}
docs: https://example.com/docs
auth:
  mode: api_key
  api_key: {{label: API token}}
proxy:
  base_url: https://127.0.0.1:{port}/api
  inject: {{header: Authorization, format: "Bearer {{api_key}}"}}
"""


def start(workdir, name: str, upstreams, env: dict) -> tuple[Latchkey, str]:
    """A Latchkey with both providers, an agent, and a connection of each provider at the agent; returns it and the key."""
    d = workdir / name
    (d / "providers").mkdir(parents=True)
    for provider in ("right", "wrong"):
        (d / "providers" / f"tls-{provider}.yaml").write_text(manifest(f"tls-{provider}", upstreams[provider]))
    lk = Latchkey(d, free_port(), d / "providers", env).start()
    assert lk.admin("POST", "/v1/admin/orgs", json={"id": "tls"}).status_code == 201
    assert lk.admin("POST", "/v1/admin/teams", json={"org": "tls", "id": "t"}).status_code == 201
    assert lk.admin("POST", "/v1/admin/projects", json={"team": "tls/t", "id": "p"}).status_code == 201
    r = lk.admin("POST", "/v1/admin/agents", json={"project": "tls/t/p", "id": "a"})
    assert r.status_code == 201, r.text
    key = r.json()["api_key"]
    for provider in ("right", "wrong"):
        r = lk.admin("POST", "/v1/admin/connections",
                     json={"provider": f"tls-{provider}", "owner": "agent:tls/t/p/a", "api_key": f"secret-{provider}"})
        assert r.status_code == 201, r.text
    return lk, key


@pytest.mark.parametrize("client", CLIENTS)
def test_a_provider_whose_certificate_an_added_authority_signed_is_served_and_another_name_is_refused(
        workdir, authority, upstreams, client):
    lk, key = start(workdir, f"trusting-{client}", upstreams,
                    {"LATCHKEY_OUTBOUND_CA_FILES": str(authority / "ca.pem"), "LATCHKEY_PROXY_CLIENT": client})
    try:
        assert ("event loops" if client == "event-loop" else "libcurl") in lk.log_path.read_text()
        for _ in range(3):  # again on the kept connection
            r = lk.call("GET", "/v1/proxy/tls-right/whoami?x=1", key)
            assert r.status_code == 200, r.text
            assert r.json() == {"path": "/api/whoami?x=1", "authorization": "Bearer secret-right"}
        # Signed by the same trusted authority, but for another name: refused before any request is sent.
        r = lk.call("GET", "/v1/proxy/tls-wrong/whoami", key)
        assert r.status_code == 502, r.text
        assert r.json()["error"]["code"] == "provider_unavailable"
        assert "TLS" in r.json()["error"]["message"]
        assert "secret-wrong" not in r.text
    finally:
        lk.stop()


@pytest.mark.parametrize("client", CLIENTS)
def test_without_the_added_authority_the_provider_is_not_trusted(workdir, upstreams, client):
    lk, key = start(workdir, f"untrusting-{client}", upstreams, {"LATCHKEY_PROXY_CLIENT": client})
    try:
        r = lk.call("GET", "/v1/proxy/tls-right/whoami", key)
        assert r.status_code == 502, r.text
        assert r.json()["error"]["code"] == "provider_unavailable" and "TLS" in r.json()["error"]["message"]
    finally:
        lk.stop()


def test_an_unreadable_authority_file_stops_the_server_with_the_setting_named(workdir, upstreams):
    d = workdir / "bad-ca"
    (d / "providers").mkdir(parents=True)
    (d / "not-a-ca.pem").write_text("not a certificate")
    lk = Latchkey(d, free_port(), d / "providers", {"LATCHKEY_OUTBOUND_CA_FILES": str(d / "not-a-ca.pem")})
    with pytest.raises(RuntimeError) as exited:
        lk.start()
    assert "outbound_ca_files" in str(exited.value)
