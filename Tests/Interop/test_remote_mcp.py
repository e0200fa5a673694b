"""Remote MCP servers (issue 14), slice by slice. So far: Latchkey's client ID metadata document, and discovery of
how a real remote MCP server (the official Python SDK's, with its own authorization server) is authorized."""
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from conftest import LATCHKEY_BIN, free_port

PEERS = Path(__file__).parent / "peers"


def test_latchkey_serves_its_client_id_metadata_document_at_its_own_url(world):
    lk = world.lk
    url = lk.url + "/oauth/client-metadata.json"
    r = requests.get(url, timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
    document = r.json()
    # The document's URL is the client id (the public URL here is the test's own address).
    assert document["client_id"].endswith("/oauth/client-metadata.json")
    assert document["redirect_uris"] == [document["client_uri"] + "/oauth/callback"]
    assert document["client_id"] == document["client_uri"] + "/oauth/client-metadata.json"
    assert (document["grant_types"], document["response_types"], document["token_endpoint_auth_method"]) == (
        ["authorization_code", "refresh_token"], ["code"], "none")
    # It needs no key and carries no secret.
    assert "secret" not in r.text


@pytest.fixture(scope="module")
def mcp_server():
    """The Python SDK's authorizing MCP server on loopback (`peers/mcp_auth_server.py`); its MCP endpoint's URL."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(PEERS / "mcp_auth_server.py"), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = proc.stdout.readline()  # blocks until the server listens, or ends when it exits
        assert line.strip() == f"READY {port}", f"the MCP peer did not start: {line!r}"
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def discover(url: str) -> subprocess.CompletedProcess:
    return subprocess.run([LATCHKEY_BIN, "providers", "discover", url], capture_output=True, text=True, timeout=120)


def test_discovery_against_the_sdks_authorizing_server_finds_its_metadata(mcp_server):
    r = discover(mcp_server)
    assert r.returncode == 0, r.stderr
    found = dict(line.split(": ", 1) for line in r.stdout.strip().splitlines())
    base = mcp_server.removesuffix("/mcp")
    assert found["resource"] == mcp_server
    assert found["authorization server"] == base + "/"
    assert (found["authorization endpoint"], found["token endpoint"]) == (base + "/authorize", base + "/token")
    assert found["registration"] == f"dynamic ({base}/register)" and found["scopes"] == "notes"


def test_discovery_names_the_document_and_field_when_the_server_has_no_metadata_there(mcp_server):
    elsewhere = mcp_server.removesuffix("/mcp") + "/not-mcp"
    r = discover(elsewhere)
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.startswith("latchkey: invalid_provider_response: protected resource metadata of ")
    assert "resource_metadata: none was found" in r.stderr
    r = discover("http://mcp.example.com/mcp")
    assert r.returncode == 1 and "invalid_request: url:" in r.stderr and "https" in r.stderr
