"""Remote MCP servers (issue 14), slice by slice. So far: Latchkey's client ID metadata document, discovery of how a
real remote MCP server (the official Python SDK's, with its own authorization server) is authorized, servers that an
admin adds as providers (each checked by discovery first: a broken server's metadata stores nothing), and connecting
one on each way of being its client (a pre-registered app, dynamic registration, the client ID metadata document),
then refreshing and revoking its tokens as for any connection."""
import asyncio
import subprocess
from concurrent.futures import ThreadPoolExecutor
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from conftest import LATCHKEY_BIN, api_instant, free_port, wait_past, wait_until
from test_connect_flow import chromium
from test_mcp import MCPAgent

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
    yield from run_peer("mcp_auth_server.py", "/mcp")


@pytest.fixture(scope="module")
def cimd_server():
    """The same SDK server, whose authorization server also takes client ID metadata documents (`--cimd`)."""
    yield from run_peer("mcp_auth_server.py", "/mcp", "--cimd")


@pytest.fixture(scope="module")
def short_lived_server():
    """The SDK server whose access tokens live four seconds."""
    yield from run_peer("mcp_auth_server.py", "/mcp", "--token-ttl", "4")


def run_peer(script: str, path: str = "", *flags: str):
    """Runs `peers/{script}` on a free loopback port until the test module ends; yields its URL with `path`."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(PEERS / script), "--port", str(port), *flags],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = proc.stdout.readline()  # blocks until the server listens, or ends when it exits
        assert line.strip() == f"READY {port}", f"{script} did not start: {line!r}"
        yield f"http://127.0.0.1:{port}{path}"
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


@pytest.fixture(scope="module")
def bad_metadata():
    """`peers/mcp_bad_metadata.py`: one MCP server per way of getting the metadata wrong; its base URL."""
    yield from run_peer("mcp_bad_metadata.py")


def test_an_admin_adds_a_remote_mcp_server_as_a_provider_that_agents_and_admins_see(world, mcp_server):
    lk = world.lk
    server_id = world.unique("notes")
    r = lk.admin("POST", "/v1/admin/mcp-servers", json={
        "id": server_id, "name": "Notes", "url": mcp_server, "tools": {"deny": ["add_note"]}})
    assert r.status_code == 201, r.text
    assert r.json() == {"id": server_id, "name": "Notes", "url": mcp_server, "scopes": [], "tools": {"deny": ["add_note"]},
                        "origin": "admin"}
    listed = lk.admin("GET", "/v1/admin/mcp-servers").json()["mcp_servers"]
    assert [s for s in listed if s["id"] == server_id] == [r.json()]
    assert lk.admin("GET", f"/v1/admin/mcp-servers/{server_id}").json() == r.json()
    org, key = world.org_with_agent(apps=())
    provider = [p for p in lk.call("GET", "/v1/providers", key).json()["providers"] if p["id"] == server_id]
    assert [(p["kind"], p["url"], p["auth_mode"], p["tools"]) for p in provider] == [("mcp", mcp_server, "oauth2", [])]
    # An id already taken, by an admin's server or a manifest file, is a conflict; the first one stands.
    again = lk.admin("POST", "/v1/admin/mcp-servers", json={"id": server_id, "name": "Other", "url": mcp_server})
    assert (again.status_code, again.json()["error"]["code"], again.json()["error"]["field"]) == (409, "conflict", "id")
    on_file = lk.admin("POST", "/v1/admin/mcp-servers", json={"id": "authlib-basic", "name": "X", "url": mcp_server})
    assert on_file.status_code == 409
    # Agents cannot add or remove one.
    assert lk.call("POST", "/v1/admin/mcp-servers", key, json={"id": "mine", "name": "Mine", "url": mcp_server}).status_code in (401, 403)
    assert lk.call("DELETE", f"/v1/admin/mcp-servers/{server_id}", key).status_code in (401, 403)
    # Removed, it is gone from every listing and its audit trail says who did what.
    assert lk.admin("DELETE", f"/v1/admin/mcp-servers/{server_id}").json() == {"id": server_id, "removed": True}
    assert lk.admin("GET", f"/v1/admin/mcp-servers/{server_id}").status_code == 404
    assert server_id not in [p["id"] for p in lk.call("GET", "/v1/providers", key).json()["providers"]]
    actions = [e["action"] for e in lk.admin("GET", "/v1/admin/audit", params={"provider": server_id}).json()["events"]]
    assert actions == ["mcp_server.removed", "mcp_server.added"]


@pytest.mark.parametrize("mode, code, words", [
    ("no-metadata", "invalid_provider_response", ["protected resource metadata", "resource_metadata: none was found"]),
    ("wrong-resource", "invalid_provider_response", ["protected resource metadata", "resource"]),
    ("wrong-issuer", "invalid_provider_response", ["authorization server metadata", "issuer"]),
    ("http-authorize", "invalid_provider_response", ["authorization server metadata", "authorization_endpoint"]),
    ("redirect", "invalid_provider_response", ["protected resource metadata", "redirect"]),
    ("huge", "invalid_provider_response", ["protected resource metadata"]),
])
def test_a_server_whose_metadata_is_wrong_is_refused_with_a_clear_error_and_nothing_is_stored(world, bad_metadata, mode, code, words):
    lk = world.lk
    server_id = world.unique("bad")
    r = lk.admin("POST", "/v1/admin/mcp-servers", json={"id": server_id, "name": "Bad", "url": f"{bad_metadata}/{mode}/mcp"})
    assert r.status_code == 502, r.text
    body = r.json()["error"]
    assert body["code"] == code
    for word in words:
        assert word in body["message"], body["message"]
    assert lk.admin("GET", f"/v1/admin/mcp-servers/{server_id}").status_code == 404
    assert server_id not in [s["id"] for s in lk.admin("GET", "/v1/admin/mcp-servers").json()["mcp_servers"]]
    assert lk.admin("GET", "/v1/admin/audit", params={"provider": server_id}).json()["events"] == []


def test_the_control_server_of_the_bad_metadata_peer_is_accepted_and_redirects_were_never_followed(world, bad_metadata):
    lk = world.lk
    r = lk.admin("POST", "/v1/admin/mcp-servers", json={"id": world.unique("good"), "name": "Good", "url": f"{bad_metadata}/good/mcp"})
    assert r.status_code == 201, r.text
    seen = requests.get(bad_metadata + "/seen", timeout=10).json()
    assert not any("?followed" in path for path in seen), seen


def test_a_bad_field_is_named_and_nothing_is_fetched(world, bad_metadata):
    lk = world.lk
    for body, field in [
        ({"id": "Bad Id", "name": "X", "url": f"{bad_metadata}/good/mcp"}, "id"),
        ({"id": "x1", "name": "X", "url": "http://169.254.169.254/mcp"}, "url"),
        ({"id": "x2", "name": "X", "url": f"{bad_metadata}/good/mcp#top"}, "url"),
        ({"id": "x3", "name": "X", "url": f"{bad_metadata}/good/mcp", "tools": {"allow": ["a"], "deny": ["b"]}}, "tools"),
        ({"id": "x4", "name": "X", "url": f"{bad_metadata}/good/mcp", "scopes": "notes"}, "scopes"),
        ({"id": "x5", "url": f"{bad_metadata}/good/mcp"}, "name"),
    ]:
        r = lk.admin("POST", "/v1/admin/mcp-servers", json=body)
        error = r.json()["error"]
        assert (r.status_code, error["code"], error.get("field")) == (400, "invalid_request", field), (body, r.text)


def peer_state(server_url: str) -> dict:
    return requests.get(server_url.removesuffix("/mcp") + "/peer/state", timeout=10).json()


def live_tokens(server_url: str, client_id: str) -> tuple[int, int]:
    """How many access and refresh tokens of `client_id` the server holds now."""
    state = peer_state(server_url)
    return tuple(len([t for t in state[kind] if t["client_id"] == client_id]) for kind in ("access_tokens", "refresh_tokens"))


def add_server(world, url: str) -> str:
    server_id = world.unique("notes")
    r = world.lk.admin("POST", "/v1/admin/mcp-servers", json={"id": server_id, "name": "Notes", "url": url})
    assert r.status_code == 201, r.text
    return server_id


def connect_remote(world, key: str, provider: str) -> tuple[dict, dict]:
    """A person connects `provider` from a connect link (the SDK's authorization server consents at once): the
    connection, and the query of the authorization request Latchkey sent the browser with."""
    link = world.connect_link(key, provider)
    browser = requests.Session()
    page = browser.get(link, timeout=30)
    assert page.status_code == 200 and "notes" in page.text, page.text[:300]
    r = browser.post(link + "/start", data={}, allow_redirects=False, timeout=30)
    assert r.status_code == 303, r.text[:300]
    query = {k: v[0] for k, v in parse_qs(urlsplit(r.headers["Location"]).query).items()}
    r = browser.get(r.headers["Location"], allow_redirects=False, timeout=30)
    assert r.status_code == 302, r.text[:300]
    r = browser.get(r.headers["Location"], allow_redirects=False, timeout=30)
    assert r.status_code == 200, r.text[r.text.find("<main"):][:800]
    [connection] = [c for c in world.connections(key) if c["provider"] == provider]
    return connection, query


def test_a_person_connects_a_server_that_registers_clients_and_the_client_is_reused_per_org(world, mcp_server):
    lk = world.lk
    server_id = add_server(world, mcp_server)
    org, key = world.org_with_agent(apps=())
    before = peer_state(mcp_server)["registrations"]
    connection, query = connect_remote(world, key, server_id)
    assert connection["state"] == "active" and connection["expires_at"]
    # OAuth 2.1 as the MCP authorization spec says: PKCE S256, the resource indicator, the registered client.
    assert (query["code_challenge_method"], query["resource"], query["scope"]) == ("S256", mcp_server, "notes")
    state = peer_state(mcp_server)
    assert state["registrations"] == before + 1 and state["clients"][query["client_id"]] == "client_secret_basic"
    assert [t["resource"] for t in state["access_tokens"] if t["client_id"] == query["client_id"]] == [mcp_server]
    events = lk.admin("GET", "/v1/admin/audit", params={"provider": server_id}).json()["events"]
    assert [e["action"] for e in events if e["action"] == "mcp_client.registered"] == ["mcp_client.registered"]
    # Another agent of the org connects on the same client: nothing more is registered.
    other = world.agent(org, "team", "proj", "second")
    _, again = connect_remote(world, other, server_id)
    assert again["client_id"] == query["client_id"] and peer_state(mcp_server)["registrations"] == before + 1
    # Neither the tokens nor the client secret ever reach an answer.
    for r in (lk.call("GET", "/v1/connections", key), lk.admin("GET", f"/v1/admin/connections/{connection['id']}"),
              lk.admin("GET", "/v1/admin/audit", params={"provider": server_id})):
        assert "mcp_at_" not in r.text and "mcp_rt_" not in r.text


def test_a_remote_connection_refreshes_and_its_revocation_reaches_the_server(world, mcp_server):
    lk = world.lk
    server_id = add_server(world, mcp_server)
    _, key = world.org_with_agent(apps=())
    connection, query = connect_remote(world, key, server_id)
    assert live_tokens(mcp_server, query["client_id"]) == (1, 1)
    r = lk.admin("POST", f"/v1/admin/connections/{connection['id']}/refresh")
    assert r.status_code == 200, r.text
    # The SDK's server rotates the refresh token and leaves the old access token to expire.
    assert live_tokens(mcp_server, query["client_id"]) == (2, 1)
    # A server with a live connection cannot be removed.
    assert lk.admin("DELETE", f"/v1/admin/mcp-servers/{server_id}").status_code == 409
    r = lk.admin("POST", f"/v1/admin/connections/{connection['id']}/revoke")
    assert r.status_code == 200, r.text
    # Revocation reached the server's RFC 7009 endpoint: the tokens Latchkey held are gone there.
    assert live_tokens(mcp_server, query["client_id"]) == (1, 0)
    events = [e["action"] for e in lk.admin("GET", "/v1/admin/audit", params={"provider": server_id}).json()["events"]]
    assert "connection.refresh_forced" in events and "connection.revoked_at_provider" in events
    assert lk.admin("DELETE", f"/v1/admin/mcp-servers/{server_id}").status_code == 200


def test_a_pre_registered_app_comes_before_registration(world, mcp_server):
    lk = world.lk
    server_id = add_server(world, mcp_server)
    org, key = world.org_with_agent(apps=())
    client_id = world.unique("pre-")
    r = requests.post(mcp_server.removesuffix("/mcp") + "/peer/clients", timeout=10, json={
        "client_id": client_id, "client_secret": "pre-secret-" + client_id, "redirect_uri": lk.url + "/oauth/callback"})
    assert r.status_code == 201
    r = lk.admin("PUT", f"/v1/admin/apps/{server_id}", json={"owner": f"org:{org}", "client_id": client_id,
                                                             "client_secret": "pre-secret-" + client_id})
    assert r.status_code == 200, r.text
    before = peer_state(mcp_server)["registrations"]
    connection, query = connect_remote(world, key, server_id)
    assert query["client_id"] == client_id and connection["state"] == "active"
    assert peer_state(mcp_server)["registrations"] == before
    assert lk.admin("POST", f"/v1/admin/connections/{connection['id']}/refresh").status_code == 200


def test_a_server_that_takes_client_id_metadata_documents_gets_latchkeys_and_registers_nothing(world, cimd_server):
    lk = world.lk
    server_id = add_server(world, cimd_server)
    _, key = world.org_with_agent(apps=())
    connection, query = connect_remote(world, key, server_id)
    assert query["client_id"] == lk.url + "/oauth/client-metadata.json" and connection["state"] == "active"
    state = peer_state(cimd_server)
    assert state["registrations"] == 0 and state["documents_fetched"] >= 1
    # A public client: the refresh goes with the client id alone, and PKCE proved the code exchange.
    assert lk.admin("POST", f"/v1/admin/connections/{connection['id']}/refresh").status_code == 200
    assert lk.admin("POST", f"/v1/admin/connections/{connection['id']}/revoke").status_code == 200
    assert live_tokens(cimd_server, query["client_id"]) == (1, 0)


def test_a_person_connects_a_remote_mcp_server_in_chromium_and_no_token_is_stored_in_the_clear(world, mcp_server, output_dir):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    lk = world.lk
    server_id = add_server(world, mcp_server)
    _, key = world.org_with_agent(apps=())
    r = lk.call("POST", "/v1/integrations", key, json={"provider": server_id})
    assert r.status_code == 201, r.text
    installed = r.json()
    link = world.connect_link(key, server_id)
    driver = chromium()
    try:
        driver.get(link)
        assert "Connect your Notes" in driver.find_element(By.TAG_NAME, "h1").text
        assert "notes" in driver.find_element(By.TAG_NAME, "main").text
        driver.save_screenshot(str(output_dir / "remote-mcp-01-connect-page.png"))
        driver.find_element(By.ID, "connect-button").click()
        # The SDK's authorization server consents at once and sends the browser back to Latchkey's callback.
        WebDriverWait(driver, 30).until(EC.presence_of_element_located((By.ID, "connect-success")))
        driver.save_screenshot(str(output_dir / "remote-mcp-02-connect-success.png"))
    finally:
        driver.quit()
    [connection] = world.connections(key)
    assert (connection["id"], connection["state"], connection["scopes"]) == (installed["id"], "active", ["notes"])
    state = peer_state(mcp_server)
    tokens = [t["token"] for kind in ("access_tokens", "refresh_tokens") for t in state[kind]]
    secrets_ = [lk.admin("GET", "/v1/admin/audit").text, lk.call("GET", "/v1/connections", key).text]
    raw = lk.db_bytes()
    for token in tokens:
        assert token.encode() not in raw
        assert all(token not in text for text in secrets_)


def test_an_agent_uses_a_remote_servers_tools_through_latchkey_and_never_sees_its_token(world, mcp_server):
    lk = world.lk
    server_id = add_server(world, mcp_server)
    org, key = world.org_with_agent(apps=())
    connect_remote(world, key, server_id)
    # The agents' API lists the server's tools by their hints: list_notes says it only reads, add_note says nothing.
    tools = {t["name"]: t for t in lk.call("GET", "/v1/tools", key).json()["tools"]}
    assert tools[f"{server_id}.list_notes"]["access"] == "read"
    assert f"{server_id}.add_note" not in tools, "a write the agent was not granted is not listed"
    refused = lk.call("POST", f"/v1/tools/{server_id}.add_note/call", key, json={"arguments": {"text": "x"}})
    assert refused.status_code == 403, refused.text
    r = lk.admin("PUT", f"/v1/admin/agents/{org}/team/proj/agent/grants", json={"tools": [f"{server_id}.add_note"]})
    assert r.status_code == 200, r.text
    tools = {t["name"]: t for t in lk.call("GET", "/v1/tools", key).json()["tools"]}
    assert tools[f"{server_id}.add_note"]["access"] == "write"
    assert tools[f"{server_id}.add_note"]["input"]["properties"]["text"]["type"] == "string"
    added = lk.call("POST", f"/v1/tools/{server_id}.add_note/call", key, json={"arguments": {"text": "via the API"}})
    assert added.status_code == 200, added.text
    assert added.json()["result"]["content"][0]["text"] == "kept 1" and added.json()["result"]["isError"] is False
    missing = lk.call("POST", f"/v1/tools/{server_id}.drop_notes/call", key, json={"arguments": {}})
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")
    answers = [added.text, missing.text]

    async def over_mcp():
        async with MCPAgent(lk.url + "/mcp", key) as agent:
            names = await agent.tool_names()
            assert {f"{server_id}_list_notes", f"{server_id}_add_note"} <= names
            result = await agent.call(f"{server_id}_add_note", {"text": "via MCP"})
            assert not result.is_error and result.content[0].text == "kept 2"
            result = await agent.call(f"{server_id}_list_notes", {})
            assert not result.is_error
            assert [c.text for c in result.content] == ["via the API", "via MCP"], result
            return agent.seen

    answers += asyncio.run(over_mcp())
    # The dashboard's Available Tools tab lists the server's tools once a connection exists.
    from test_dashboard import sign_in
    page = sign_in(lk).get(f"{lk.url}/admin/integrations/{server_id}?tab=tools", timeout=30)
    assert page.status_code == 200 and "list_notes" in page.text and "add_note" in page.text
    assert "This integration has no tools" not in page.text
    answers.append(page.text)
    # The agent never saw the server's tokens: not in one answer it got.
    state = peer_state(mcp_server)
    tokens = [t["token"] for kind in ("access_tokens", "refresh_tokens") for t in state[kind]]
    assert tokens
    for answer in answers:
        assert not any(token in answer for token in tokens)
    # The calls that reached the server count in the org's usage, as proxied calls do (own credentials: no credits).
    usage = lambda: lk.admin("GET", f"/v1/admin/orgs/{org}/credits").json()["usage"]
    wait_until(lambda: usage() == [{"provider": server_id, "agent": f"agent:{org}/team/proj/agent", "credentials": "own",
                                    "calls": 3, "credits": 0}], "the remote calls are counted")
    # Nor does Latchkey's log hold one.
    log = lk.log_path.read_text()
    assert not any(token in log for token in tokens)


def test_an_access_token_expiring_mid_use_is_refreshed_once_for_fifty_concurrent_tool_calls(on_use_world, short_lived_server):
    # No background refresher here: the calls meet the expired token themselves.
    world = on_use_world
    lk = world.lk
    server_id = add_server(world, short_lived_server)
    _, key = world.org_with_agent(apps=())
    connection, query = connect_remote(world, key, server_id)
    call = lambda _: lk.call("POST", f"/v1/tools/{server_id}.list_notes/call", key, json={"arguments": {}})
    assert call(0).status_code == 200
    wait_past(api_instant(connection["expires_at"]), "the access token expires")
    with ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(call, range(50)))
    assert [r.status_code for r in answers] == [200] * 50, {r.text for r in answers if r.status_code != 200}
    # One refresh: the first access token and the one refresh gave, no more.
    assert live_tokens(short_lived_server, query["client_id"])[0] == 2
    events = [e["action"] for e in lk.admin("GET", "/v1/admin/audit", params={"provider": server_id}).json()["events"]]
    assert events.count("connection.refreshed") == 1


def test_a_grant_revoked_at_the_server_gives_reauth_required_with_a_link_over_mcp(world, mcp_server):
    lk = world.lk
    server_id = add_server(world, mcp_server)
    _, key = world.org_with_agent(apps=())
    connection, query = connect_remote(world, key, server_id)
    assert lk.call("POST", f"/v1/tools/{server_id}.list_notes/call", key, json={"arguments": {}}).status_code == 200
    r = requests.post(mcp_server.removesuffix("/mcp") + "/peer/revoke-grants", json={"client_id": query["client_id"]}, timeout=10)
    assert r.status_code == 200

    async def over_mcp():
        async with MCPAgent(lk.url + "/mcp", key) as agent:
            return await agent.call(f"{server_id}_list_notes", {})

    result = asyncio.run(over_mcp())
    assert result.is_error
    text = result.content[0].text
    assert text.startswith("reauth_required:") and f"{lk.url}/connect/cs_" in text, text
    [after] = world.connections(key)
    assert after["state"] == "needs_reauth"
    # Over the agents' API the same call is 424 with the link.
    r = lk.call("POST", f"/v1/tools/{server_id}.list_notes/call", key, json={"arguments": {}})
    assert (r.status_code, r.json()["error"]["code"]) == (424, "reauth_required") and r.json()["error"]["connect_url"]


def test_a_servers_tools_list_changed_reaches_the_agents_open_session(world, mcp_server):
    lk = world.lk
    server_id = add_server(world, mcp_server)
    org, key = world.org_with_agent(apps=())
    connect_remote(world, key, server_id)
    r = lk.admin("PUT", f"/v1/admin/agents/{org}/team/proj/agent/grants", json={"tools": [f"{server_id}.open_archive"]})
    assert r.status_code == 200, r.text
    notices: list[str] = []

    async def record(message):
        if "list_changed" in repr(message) or "ToolListChanged" in repr(message):
            notices.append(repr(message))

    async def scenario():
        from mcp import Client
        from mcp.client.streamable_http import streamable_http_client
        from mcp.shared._httpx_utils import create_mcp_http_client

        async with create_mcp_http_client(headers={"Authorization": f"Bearer {key}"}) as http:
            async with Client(streamable_http_client(lk.url + "/mcp", http_client=http), message_handler=record) as client:
                names = {t.name for t in (await client.list_tools()).tools}
                assert f"{server_id}_open_archive" in names and f"{server_id}_count_notes" not in names
                before = len(notices)
                result = await client.call_tool(f"{server_id}_open_archive", {})
                assert not result.is_error and result.content[0].text == "archive open"
                deadline = asyncio.get_running_loop().time() + 20
                while len(notices) == before and asyncio.get_running_loop().time() < deadline:
                    await asyncio.sleep(0.05)
                assert len(notices) > before, "the server's list_changed reached the agent's session"
                names = {t.name for t in (await client.list_tools()).tools}
                assert f"{server_id}_count_notes" in names

    asyncio.run(scenario())


def test_a_remote_tools_progress_reaches_each_agent_that_asked_for_it_and_no_other(world, mcp_server):
    lk = world.lk
    server_id = add_server(world, mcp_server)
    _, key = world.org_with_agent(apps=())
    connect_remote(world, key, server_id)
    heard: dict[str, list] = {"three": [], "five": [], "none": []}

    async def session(name: str, steps: int | None):
        from mcp import Client
        from mcp.client.streamable_http import streamable_http_client
        from mcp.shared._httpx_utils import create_mcp_http_client

        async def progress(progress, total, message):
            heard[name].append((progress, total, message))

        async def other(message):
            if "progress" in repr(message).lower():
                heard["none"].append(repr(message))

        async with create_mcp_http_client(headers={"Authorization": f"Bearer {key}"}) as http:
            async with Client(streamable_http_client(lk.url + "/mcp", http_client=http),
                              message_handler=other if steps is None else None) as client:
                result = await client.call_tool(f"{server_id}_export_notes", {"steps": steps or 2},
                                                progress_callback=progress if steps else None)
                assert not result.is_error and result.content[0].text.endswith(f"notes in {steps or 2} steps"), result
                # Every step reached the session on the call's own stream, before the result: nothing to wait for.

    async def scenario():
        # Two sessions of the agent call at once on the one upstream session; a third asks for no progress.
        await asyncio.gather(session("three", 3), session("five", 5), session("none", None))

    asyncio.run(scenario())
    for name, steps in [("three", 3), ("five", 5)]:
        own = [(n, float(steps), f"step {n} of {steps}") for n in range(1, steps + 1)]
        assert heard[name] == own, (name, heard[name])
    assert heard["none"] == [], "a call that asked for no progress is told none"
    # Upstream, Latchkey asked under tokens of its own, never an agent's; the call that asked for none asked none.
    tokens = peer_state(mcp_server)["progress_tokens"]
    assert sorted(t is None for t in tokens) == [False, False, True], tokens
    assert all(t.startswith("latchkey-") for t in tokens if t is not None) and len(set(tokens)) == 3


def test_a_server_on_a_private_link_local_or_metadata_address_is_refused_before_any_connection(world):
    lk = world.lk
    for url in ["https://169.254.169.254/mcp", "https://10.1.2.3/mcp", "https://[fd00:ec2::254]/mcp", "https://[::ffff:192.168.0.1]/mcp"]:
        server_id = world.unique("internal")
        r = lk.admin("POST", "/v1/admin/mcp-servers", json={"id": server_id, "name": "Internal", "url": url})
        error = r.json()["error"]
        assert (r.status_code, error["code"]) == (400, "invalid_request"), (url, r.text)
        assert "private, link-local or reserved" in error["message"] and "mcp_allowed_networks" in error["message"], error
        assert lk.admin("GET", f"/v1/admin/mcp-servers/{server_id}").status_code == 404


def test_a_registration_endpoint_that_answers_500_is_a_clear_error_and_nothing_is_stored(world, bad_metadata):
    lk = world.lk
    server_id = add_server(world, f"{bad_metadata}/register-500/mcp")
    _, key = world.org_with_agent(apps=())
    link = world.connect_link(key, server_id)
    browser = requests.Session()
    assert browser.get(link, timeout=30).status_code == 200
    for attempt in (1, 2):
        r = browser.post(link + "/start", data={}, allow_redirects=False, timeout=30)
        assert r.status_code >= 500 and "client registration at" in r.text and "nothing was registered" in r.text, r.text[:400]
        # Nothing was kept: the next start asks the server again.
        assert requests.get(bad_metadata + "/seen", timeout=10).json()["/register-500/register"] == attempt
    actions = [e["action"] for e in lk.admin("GET", "/v1/admin/audit", params={"provider": server_id}).json()["events"]]
    assert "mcp_client.registered" not in actions
    assert [c["state"] for c in world.connections(key)] == []
