"""Agents over MCP: the official Python MCP client (`mcp` 2.x) against Latchkey's /mcp endpoint."""

from __future__ import annotations

import asyncio
import json

import pytest

from conftest import Person


def run(coro):
    return asyncio.run(coro)


class MCPAgent:
    """One MCP client session as an agent, recording every result it receives."""

    def __init__(self, url: str, key: str):
        self.url, self.key = url, key
        self.seen: list[str] = []

    async def __aenter__(self):
        from mcp import Client
        from mcp.client.streamable_http import streamable_http_client
        from mcp.shared._httpx_utils import create_mcp_http_client

        self.http = create_mcp_http_client(headers={"Authorization": f"Bearer {self.key}"})
        await self.http.__aenter__()
        self.client = Client(streamable_http_client(self.url, http_client=self.http))
        await self.client.__aenter__()
        return self

    async def __aexit__(self, *exc):
        await self.client.__aexit__(*exc)
        await self.http.__aexit__(*exc)

    async def tool_names(self) -> set[str]:
        result = await self.client.list_tools()
        self.seen.append(result.model_dump_json())
        return {t.name for t in result.tools}

    async def call(self, name: str, arguments: dict):
        result = await self.client.call_tool(name, arguments)
        self.seen.append(result.model_dump_json())
        return result


def test_an_agent_uses_its_tools_over_mcp_and_sets_itself_up(world, output_dir):
    lk, peer = world.lk, world.peer
    org, key = world.org_with_agent()
    Person(peer).connect(world.connect_link(key))
    url = lk.url + "/mcp"

    async def first_part():
        async with MCPAgent(url, key) as agent:
            names = await agent.tool_names()
            assert {"authlib-basic_list_items", "authlib-basic_echo", "latchkey_list_providers", "latchkey_install",
                    "latchkey_connect_link", "latchkey_connections"} <= names
            assert "authlib-basic_create_item" not in names  # a write tool, not granted
            # A read tool reaches the provider's protected API and brings back its real answer.
            result = await agent.call("authlib-basic_list_items", {})
            assert not result.is_error
            items = json.loads(result.content[0].text)
            assert items and all(i["owner"] == "alice" for i in items)
            # A write tool without a grant fails clearly.
            result = await agent.call("authlib-basic_create_item", {"name": "from mcp"})
            assert result.is_error and "tool_not_granted" in result.content[0].text
            # Bad arguments fail clearly, naming the field.
            result = await agent.call("authlib-basic_echo", {})
            assert result.is_error and "arguments.segment" in result.content[0].text
            return agent.seen

    seen = run(first_part())
    r = lk.admin("PUT", f"/v1/admin/agents/{org}/team/proj/agent/grants", json={"tools": ["authlib-basic.create_item"]})
    assert r.status_code == 200

    async def second_part():
        async with MCPAgent(url, key) as agent:
            assert "authlib-basic_create_item" in await agent.tool_names()
            result = await agent.call("authlib-basic_create_item", {"name": "from mcp"})
            assert not result.is_error and json.loads(result.content[0].text)["name"] == "from mcp"
            # The agent installs a second provider and asks a person to connect it.
            result = await agent.call("latchkey_install", {"provider": "authlib-post"})
            assert not result.is_error and json.loads(result.content[0].text)["state"] == "installed"
            result = await agent.call("latchkey_connect_link", {"provider": "authlib-post"})
            link = json.loads(result.content[0].text)["url"]
            return link, agent.seen

    link, seen2 = run(second_part())
    from test_connect_flow import chromium
    from peers.oauth_peer import browser_login_and_consent
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    driver = chromium()
    try:
        driver.get(link)
        driver.find_element(By.ID, "connect-button").click()
        browser_login_and_consent(driver, "bob", "bob-password")
        WebDriverWait(driver, 15).until(EC.presence_of_element_located((By.ID, "connect-success")))
        driver.save_screenshot(str(output_dir / "03-mcp-connect-success.png"))
    finally:
        driver.quit()

    async def third_part():
        async with MCPAgent(url, key) as agent:
            names = await agent.tool_names()
            assert {"authlib-post_list_items", "authlib-post_echo"} <= names
            result = await agent.call("authlib-post_list_items", {})
            assert not result.is_error and all(i["owner"] == "bob" for i in json.loads(result.content[0].text))
            result = await agent.call("latchkey_connections", {})
            states = {c["provider"]: c["state"] for c in json.loads(result.content[0].text)}
            assert states == {"authlib-basic": "active", "authlib-post": "active"}
            return agent.seen

    seen3 = run(third_part())
    # The agent never saw a credential: not in any MCP result, nor in the server's log.
    tokens = [t for t in peer.issued()]
    everything = "\n".join(seen + seen2 + seen3)
    log = lk.log_path.read_text()
    for token in tokens:
        assert token not in everything
        assert token not in log


def test_concurrent_sessions_that_reuse_request_ids_get_their_own_answers(world):
    lk, peer = world.lk, world.peer
    org, key = world.org_with_agent()
    Person(peer).connect(world.connect_link(key))

    async def one(i: int):
        async with MCPAgent(lk.url + "/mcp", key) as agent:
            results = await asyncio.gather(*[agent.call("authlib-basic_echo", {"segment": f"s{i}-{j}"}) for j in range(4)])
            return [json.loads(r.content[0].text)["path"] for r in results]

    async def many():
        return await asyncio.gather(*[one(i) for i in range(8)])

    paths = run(many())
    for i, got in enumerate(paths):
        assert got == [f"/api/echo/s{i}-{j}" for j in range(4)]


def test_mcp_refuses_missing_wrong_and_admin_keys(world):
    import requests
    lk = world.lk
    body = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    assert requests.post(lk.url + "/mcp", json=body, headers=headers).status_code == 401
    assert requests.post(lk.url + "/mcp", json=body, headers={**headers, "Authorization": "Bearer lk_agent_nope"}).status_code == 401
    r = requests.post(lk.url + "/mcp", json=body, headers={**headers, "Authorization": f"Bearer {lk.admin_key}"})
    assert r.status_code == 403
    # Another agent cannot ride on a session it did not open.
    org, key_a = world.org_with_agent()
    key_b = world.agent(org, "team", "proj", "other")
    r = requests.post(lk.url + "/mcp", json=body, headers={**headers, "Authorization": f"Bearer {key_a}"})
    assert r.status_code == 200
    session = r.headers["Mcp-Session-Id"]
    listing = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
    r = requests.post(lk.url + "/mcp", json=listing,
                      headers={**headers, "Authorization": f"Bearer {key_b}", "Mcp-Session-Id": session, "MCP-Protocol-Version": "2025-06-18"})
    assert r.status_code == 404


def test_an_open_session_is_told_when_its_tools_change(world):
    """`notifications/tools/list_changed` arrives when a grant adds a write tool and when a connection goes away."""
    lk, peer = world.lk, world.peer
    org, key = world.org_with_agent()
    Person(peer).connect(world.connect_link(key))
    notices: list[str] = []

    async def record(message):
        text = repr(message)
        if "list_changed" in text or "ToolListChanged" in text:
            notices.append(text)

    async def wait_for(count: int, timeout: float = 8.0):
        deadline = asyncio.get_running_loop().time() + timeout
        while len(notices) < count and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        return len(notices)

    async def scenario():
        from mcp import Client
        from mcp.client.streamable_http import streamable_http_client
        from mcp.shared._httpx_utils import create_mcp_http_client

        async with create_mcp_http_client(headers={"Authorization": f"Bearer {key}"}) as http:
            async with Client(streamable_http_client(lk.url + "/mcp", http_client=http), message_handler=record) as client:
                names = {t.name for t in (await client.list_tools()).tools}
                assert "authlib-basic_create_item" not in names
                r = await asyncio.to_thread(
                    lk.admin, "PUT", f"/v1/admin/agents/{org}/team/proj/agent/grants", json={"tools": ["authlib-basic.create_item"]})
                assert r.status_code == 200
                assert await wait_for(1) == 1
                assert "authlib-basic_create_item" in {t.name for t in (await client.list_tools()).tools}
                # Nothing changed: no notice.
                assert await wait_for(2, timeout=1.5) == 1
                [c] = await asyncio.to_thread(world.connections, key)
                assert (await asyncio.to_thread(lk.call, "DELETE", f"/v1/integrations/{c['id']}", key)).status_code == 200
                assert await wait_for(2) == 2
                names = {t.name for t in (await client.list_tools()).tools}
                assert not any(n.startswith("authlib-basic_") for n in names)
                assert "latchkey_install" in names

    run(scenario())
