"""Narrowed keys: an agent mints a short-lived key for a sub-agent or one task that carries at most what its own key
may do; keys narrow again up to depth 3; revoking the agent's keys or reaching the expiry kills them."""
from __future__ import annotations

from conftest import Person, api_instant, wait_past

P = "authlib-basic"


def mint(lk, key: str, body: dict, status: int = 201) -> dict:
    r = lk.call("POST", "/v1/keys", key, json=body)
    assert r.status_code == status, r.text
    return r.json()


def proxy(lk, key: str, path: str, method: str = "GET"):
    return lk.call(method, f"/v1/proxy/{P}/{path}", key)


def test_a_narrowed_key_reaches_only_its_grants_and_narrows_again_up_to_depth_3(world):
    lk, peer = world.lk, world.peer
    org, key = world.org_with_agent()
    Person(peer).connect(world.connect_link(key))
    agent = f"agents/{org}/team/proj/agent"

    child = mint(lk, key, {"ttl": "15m", "grants": [{"provider": P, "methods": ["GET", "POST"], "paths": ["/echo/acme/**"]}]})
    assert child["api_key"].startswith("lk_agent_") and child["depth"] == 1 and child["id"].startswith("key_")
    ck = child["api_key"]
    before = len(peer.api_log())
    assert proxy(lk, ck, "echo/acme/x").status_code == 200
    r = proxy(lk, ck, "echo/other")
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_granted" and child["id"] in r.json()["error"]["message"]
    r = lk.call("POST", f"/v1/tools/{P}.list_items/call", ck, json={"arguments": {}})
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_granted"
    assert lk.call("GET", "/v1/tools", ck).json()["tools"] == []
    assert [e["path"] for e in peer.api_log()[before:]] == ["/api/echo/acme/x"]
    # The agent's own key is as open as ever (the org's policy is open).
    assert proxy(lk, key, "echo/other").status_code == 200

    # A narrowed key installs, connects and removes nothing.
    for method, path, body in [("POST", "/v1/integrations", {"provider": P}), ("POST", "/v1/connect-sessions", {"provider": P})]:
        r = lk.call(method, path, ck, json=body)
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden", (path, r.text)

    # Narrowing again: never wider, never longer, at most three deep.
    r = lk.call("POST", "/v1/keys", ck, json={"ttl": "5m", "grants": [{"provider": P, "methods": ["GET"], "paths": ["/echo/**"]}]})
    assert r.status_code == 403 and r.json()["error"] | {"message": ""} == {"code": "exceeds_parent", "field": "grants[0]", "message": ""}
    grandchild = mint(lk, ck, {"ttl": "1d", "grants": [{"provider": P, "methods": ["GET"], "paths": ["/echo/acme/*"]}]})
    assert grandchild["depth"] == 2 and grandchild["expires_at"] == child["expires_at"]
    assert proxy(lk, grandchild["api_key"], "echo/acme/x").status_code == 200
    r = proxy(lk, grandchild["api_key"], "echo/acme/x", method="POST")
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_granted"
    third = mint(lk, grandchild["api_key"], {"ttl": "1m", "grants": [{"provider": P, "methods": ["GET"], "paths": ["/echo/acme/x"]}]})
    r = lk.call("POST", "/v1/keys", third["api_key"], json={"ttl": "1m", "grants": [{"provider": P, "methods": ["GET"], "paths": ["/echo/acme/x"]}]})
    assert r.status_code == 403 and r.json()["error"]["code"] == "exceeds_parent"

    # Admins list them (never the keys), each with its parent, and the audit log names the parent.
    listed = lk.admin("GET", f"/v1/admin/{agent}/keys").json()["narrowed_keys"]
    assert [(k["id"], k["depth"]) for k in listed] == [(third["id"], 3), (grandchild["id"], 2), (child["id"], 1)]
    assert listed[0]["parent"] == grandchild["id"] and listed[1]["parent"] == child["id"]
    assert not any(ck in str(k) for k in listed)
    events = lk.admin("GET", f"/v1/admin/audit?owner=agent:{org}/team/proj/agent&action=agent.key_narrowed").json()["events"]
    assert len(events) == 3 and f"{grandchild['id']} from {child['id']}, depth 2" in {e["detail"].split(":")[0] for e in events}

    # Revoking the agent's keys kills every narrowed key at once.
    r = lk.admin("DELETE", f"/v1/admin/{agent}/keys")
    assert r.status_code == 200 and r.json()["revoked"] == 4
    for k in (key, ck, grandchild["api_key"], third["api_key"]):
        assert proxy(lk, k, "echo/acme/x").status_code == 401
    assert lk.admin("GET", f"/v1/admin/{agent}/keys").json()["narrowed_keys"] == []


def test_a_narrowed_key_ends_at_its_expiry_and_asks_for_no_more_than_the_grants_allow(world):
    lk, peer = world.lk, world.peer
    org, key = world.org_with_agent()
    Person(peer).connect(world.connect_link(key))
    short = mint(lk, key, {"ttl": "2s", "grants": [{"provider": P, "tools": ["list_items"]}]})
    r = lk.call("POST", f"/v1/tools/{P}.list_items/call", short["api_key"], json={"arguments": {}})
    assert r.status_code == 200
    wait_past(api_instant(short["expires_at"]), "the 2 s key expires")
    r = lk.call("POST", f"/v1/tools/{P}.list_items/call", short["api_key"], json={"arguments": {}})
    assert r.status_code == 401
    listed = lk.admin("GET", f"/v1/admin/agents/{org}/team/proj/agent/keys").json()["narrowed_keys"]
    assert [k["expired"] for k in listed] == [True]

    # Under the granted policy a key may carry only what the agent's grants cover; write tools always need a grant.
    r = lk.admin("PUT", f"/v1/admin/orgs/{org}/policy", json={"read_tools": "granted", "proxy": "granted"})
    assert r.status_code == 200
    r = lk.admin("PUT", f"/v1/admin/projects/{org}/team/proj/grants", json={"grants": [{"provider": P, "methods": ["GET"], "paths": ["/echo/**"]}]})
    assert r.status_code == 200
    for grant, field in [({"provider": P, "tools": ["list_items"]}, "grants[0]"), ({"provider": P, "tools": ["create_item"]}, "grants[0]"),
                         ({"provider": P, "methods": ["POST"], "paths": ["/echo/x"]}, "grants[0]")]:
        r = lk.call("POST", "/v1/keys", key, json={"ttl": "5m", "grants": [grant]})
        assert r.status_code == 403 and r.json()["error"]["code"] == "exceeds_parent" and r.json()["error"]["field"] == field, r.text
    ok = mint(lk, key, {"ttl": "5m", "grants": [{"provider": P, "methods": ["GET"], "paths": ["/echo/a/*"]}]})
    assert proxy(lk, ok["api_key"], "echo/a/b").status_code == 200
    # The admin key mints nothing; bad input names the field.
    assert lk.admin("POST", "/v1/keys", json={"ttl": "5m", "grants": []}).status_code == 403
    for body, field in [({"grants": [{"provider": P, "tools": ["list_items"]}]}, "ttl"), ({"ttl": "2d", "grants": []}, "ttl"),
                        ({"ttl": "5m", "grants": []}, "grants"), ({"ttl": "5m", "grants": [{"provider": P}]}, "grants[0]")]:
        r = lk.call("POST", "/v1/keys", key, json=body)
        assert r.status_code == 400 and r.json()["error"]["field"] == field, (body, r.text)


def test_over_mcp_a_narrowed_key_sees_and_calls_only_its_grants(world):
    """The official MCP client with a narrowed key: its tool list holds only its granted tools, and it installs
    nothing; a session it opened is its own, not its parent's."""
    import asyncio
    import json

    import requests
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    lk, peer = world.lk, world.peer
    org, key = world.org_with_agent()
    Person(peer).connect(world.connect_link(key))
    child = mint(lk, key, {"ttl": "15m", "grants": [{"provider": P, "tools": ["list_items"]}]})["api_key"]

    async def scenario():
        async with create_mcp_http_client(headers={"Authorization": f"Bearer {child}"}) as http:
            async with Client(streamable_http_client(lk.url + "/mcp", http_client=http)) as client:
                names = {t.name for t in (await client.list_tools()).tools}
                assert f"{P}_list_items" in names and f"{P}_echo" not in names
                result = await client.call_tool(f"{P}_list_items", {})
                assert not result.is_error and json.loads(result.content[0].text)
                result = await client.call_tool(f"{P}_echo", {"segment": "s"})
                assert result.is_error and "not_granted" in result.content[0].text
                result = await client.call_tool("latchkey_install", {"provider": P})
                assert result.is_error and "forbidden" in result.content[0].text

    asyncio.run(scenario())

    # A session opened with the agent's own key is not the narrowed key's, and the other way round.
    body = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    r = requests.post(lk.url + "/mcp", json=body, headers={**headers, "Authorization": f"Bearer {key}"})
    assert r.status_code == 200
    listing = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
    r = requests.post(lk.url + "/mcp", json=listing, headers={**headers, "Authorization": f"Bearer {child}",
                      "Mcp-Session-Id": r.headers["Mcp-Session-Id"], "MCP-Protocol-Version": "2025-06-18"})
    assert r.status_code == 404
