"""Agents reach only what they were granted: tool and proxy grants, path patterns, connections, expiry, inheritance
from project and team, and both org policies, against the Authlib provider, whose access log shows what reached it."""
from __future__ import annotations

import http.client
import json
from types import SimpleNamespace
from urllib.parse import urlsplit

from conftest import Person, api_instant, wait_past

P = "authlib-basic"


def put_grants(lk, owner_path: str, body: dict, status: int = 200) -> dict:
    r = lk.admin("PUT", f"/v1/admin/{owner_path}/grants", json=body)
    assert r.status_code == status, r.text
    return r.json()


def set_policy(lk, org: str, read_tools: str, proxy: str) -> None:
    r = lk.admin("PUT", f"/v1/admin/orgs/{org}/policy", json={"read_tools": read_tools, "proxy": proxy})
    assert r.status_code == 200 and r.json() == {"org": org, "read_tools": read_tools, "proxy": proxy}, r.text


def raw_call(lk, method: str, raw_path: str, key: str, headers: dict) -> SimpleNamespace:
    """A call whose path goes out byte for byte (requests would decode `%61` to `a` before sending)."""
    url = urlsplit(lk.url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    conn.request(method, raw_path, headers={"Authorization": f"Bearer {key}", **headers})
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return SimpleNamespace(status_code=r.status, text=body.decode(), json=lambda: json.loads(body))


def upstream_paths(peer, since: int) -> list[str]:
    return [f'{e["method"]} {e["path"]}' for e in peer.api_log()[since:]]


def test_the_authorization_matrix_over_grants_and_policies(world):
    lk, peer = world.lk, world.peer
    org, key = world.org_with_agent()
    # Two connections of the agent (alice's and bob's accounts), and an agent of another team.
    Person(peer).connect(world.connect_link(key))
    Person(peer).connect(world.connect_link(key), username="bob", password="bob-password")
    conns = world.connections(key)
    assert len({c["account_id"] for c in conns}) == 2
    alice, bob = conns[0]["id"], conns[1]["id"]
    other = world.agent(org, "ops", "infra", "bot")
    Person(peer).connect(world.connect_link(other))

    set_policy(lk, org, "granted", "granted")
    put_grants(lk, f"teams/{org}/team", {"grants": [{"provider": P, "tools": ["list_items"]}]})
    put_grants(lk, f"projects/{org}/team/proj", {"grants": [{"provider": P, "methods": ["GET"], "paths": ["/echo/acme/*"]}]})
    shown = put_grants(lk, f"agents/{org}/team/proj/agent", {"grants": [
        {"provider": P, "methods": ["POST"], "paths": ["/echo/only/**"], "connection": alice},
        {"provider": P, "methods": ["GET"], "paths": ["/echo/soon/x"], "ttl": "2s"},
        {"provider": P, "methods": ["PUT"], "paths": ["/echo/ask/*"], "approval": "each_call"},
    ]})
    assert [g["expired"] for g in shown["grants"]] == [False, False, False] and shown["owner"] == f"agent:{org}/team/proj/agent"
    soon = api_instant(shown["grants"][1]["expires_at"])

    def proxy(k, method, path, connection=None):
        headers = {"Latchkey-Connection": connection} if connection else {}
        return raw_call(lk, method, f"/v1/proxy/{P}/{path}", k, headers)

    def tool(k, name):
        return lk.call("POST", f"/v1/tools/{P}.{name}/call", k, json={"arguments": {"segment": "s"} if name == "echo" else {}})

    cells = [
        # (what, call, expected status, expected code, the upstream path it reaches or None)
        ("project's GET rule", lambda: proxy(key, "GET", "echo/acme/x", alice), 200, None, "GET /api/echo/acme/x"),
        ("a longer path", lambda: proxy(key, "GET", "echo/acme/x/y", alice), 403, "not_granted", None),
        ("a lookalike segment", lambda: proxy(key, "GET", "echo/acme-evil/x", alice), 403, "not_granted", None),
        ("another case", lambda: proxy(key, "GET", "echo/ACME/x", alice), 403, "not_granted", None),
        ("an encoded letter", lambda: proxy(key, "GET", "echo/%61cme/x", alice), 403, "not_granted", None),
        ("an encoded slash", lambda: proxy(key, "GET", "echo/acme%2Fx", alice), 400, "invalid_request", None),
        ("another method", lambda: proxy(key, "DELETE", "echo/acme/x", alice), 403, "not_granted", None),
        ("agent's POST rule on its connection", lambda: proxy(key, "POST", "echo/only/a/b", alice), 200, None, "POST /api/echo/only/a/b"),
        ("agent's POST rule on another connection", lambda: proxy(key, "POST", "echo/only/a/b", bob), 403, "not_granted", None),
        ("team's read tool", lambda: tool(key, "list_items"), 200, None, "GET /api/items"),
        ("an ungranted read tool", lambda: tool(key, "echo"), 403, "not_granted", None),
        ("an ungranted write tool", lambda: tool(key, "create_item"), 403, "tool_not_granted", None),
        ("a live grant before expiry", lambda: proxy(key, "GET", "echo/soon/x", alice), 200, None, "GET /api/echo/soon/x"),
        ("another team's agent", lambda: proxy(other, "GET", "echo/acme/x"), 403, "not_granted", None),
        ("another team's agent, read tool", lambda: tool(other, "list_items"), 403, "not_granted", None),
        ("a rule that asks approval: held", lambda: proxy(key, "PUT", "echo/ask/x", alice), 202, "approval_required", None),
        ("a rule that asks approval, another path", lambda: proxy(key, "PUT", "echo/ask/x/y", alice), 403, "not_granted", None),
        ("a rule that asks approval, another agent", lambda: proxy(other, "PUT", "echo/ask/x"), 403, "not_granted", None),
    ]
    for what, call, status, code, reached in cells:
        before = len(peer.api_log())
        r = call()
        assert r.status_code == status, (what, r.status_code, r.text[:300])
        if code:
            assert r.json()["error"]["code"] == code, (what, r.text)
        assert upstream_paths(peer, before) == ([reached] if reached else []), (what, upstream_paths(peer, before))

    refused = proxy(key, "GET", "echo/acme-evil/x", alice).json()["error"]
    assert refused["field"] == "path" and f"GET {P} /echo/acme-evil/x" in refused["message"]

    # The tool list shows only what the agent may call: the team's read tool.
    assert {t["name"] for t in lk.call("GET", "/v1/tools", key).json()["tools"]} == {f"{P}.list_items"}
    assert lk.call("GET", "/v1/tools", other).json()["tools"] == []

    # Expiry: the next call after the instant is refused, and the grant is shown as expired.
    wait_past(soon, "the 2 s grant expires")
    before = len(peer.api_log())
    r = proxy(key, "GET", "echo/soon/x", alice)
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_granted"
    assert upstream_paths(peer, before) == []
    shown = lk.admin("GET", f"/v1/admin/agents/{org}/team/proj/agent/grants").json()
    assert [g["expired"] for g in shown["grants"]] == [False, True, False]

    # Under the open policy, read tools and the proxy need no grant; write tools still do.
    set_policy(lk, org, "open", "open")
    before = len(peer.api_log())
    assert proxy(key, "GET", "echo/acme-evil/x", alice).status_code == 200
    assert tool(other, "echo").status_code == 200
    assert tool(key, "create_item").status_code == 403
    assert upstream_paths(peer, before) == ["GET /api/echo/acme-evil/x", "GET /api/echo/s"]


def test_grant_routes_refuse_bad_input_and_keep_what_was_stored(world):
    lk = world.lk
    org, _key = world.org_with_agent()
    agent = f"agents/{org}/team/proj/agent"
    good = {"grants": [{"provider": P, "methods": ["GET"], "paths": ["/echo/**"]}]}
    put_grants(lk, agent, good)
    bad = [
        ({"grants": [{"provider": P, "methods": ["GET"], "paths": ["echo"]}]}, 400, "grants[0].paths[0]"),
        ({"grants": [{"provider": P, "methods": ["BREW"], "paths": ["/x"]}]}, 400, "grants[0].methods[0]"),
        ({"grants": [{"provider": "nope", "tools": ["x"]}]}, 404, "grants[0].provider"),
        ({"grants": [{"provider": P, "tools": ["list_items"], "ttl": "2y"}]}, 400, "grants[0].ttl"),
        ({"grants": [{"provider": P, "tools": ["list_items"], "approval": "always"}]}, 400, "grants[0].approval"),
        ({"grants": [{"provider": P, "tools": ["list_items"], "colour": "red"}]}, 400, "grants[0].colour"),
        ({"tools": ["nope.tool"]}, 404, "tool"),
        ({}, 400, "grants"),
    ]
    for body, status, field in bad:
        r = lk.admin("PUT", f"/v1/admin/{agent}/grants", json=body)
        assert r.status_code == status and r.json()["error"]["field"] == field, (body, r.text)
    assert lk.admin("GET", f"/v1/admin/{agent}/grants").json()["grants"][0]["paths"] == ["/echo/**"]

    r = lk.admin("PUT", f"/v1/admin/orgs/{org}/grants", json=good)
    assert r.status_code == 404
    r = lk.admin("PUT", f"/v1/admin/teams/{org}/ghost/grants", json=good)
    assert r.status_code == 404 and r.json()["error"]["field"] == "team"
    for body, field in [({"proxy": "closed"}, "proxy"), ({"read_tools": 1}, "read_tools"), ({"writes": "open"}, "writes")]:
        r = lk.admin("PUT", f"/v1/admin/orgs/{org}/policy", json=body)
        assert r.status_code == 400 and r.json()["error"]["field"] == field, (body, r.text)
    assert lk.admin("GET", f"/v1/admin/orgs/{org}/policy").json() == {"org": org, "read_tools": "open", "proxy": "open"}
    assert lk.admin("PUT", f"/v1/admin/orgs/nobody-{org}/policy", json={"proxy": "granted"}).status_code == 404


def test_over_mcp_the_tool_list_follows_the_policy_and_a_refusal_is_readable(world):
    """The official MCP client: under `granted` the list holds only granted tools, a policy change tells the open
    session, and an ungranted call is a tool error that names `not_granted`."""
    import asyncio

    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    lk, peer = world.lk, world.peer
    org, key = world.org_with_agent()
    Person(peer).connect(world.connect_link(key))
    notices: list[str] = []

    async def record(message):
        if "list_changed" in repr(message) or "ToolListChanged" in repr(message):
            notices.append(repr(message))

    async def notices_reach(count: int):
        while len(notices) < count:
            await asyncio.sleep(0.05)

    async def scenario():
        async with create_mcp_http_client(headers={"Authorization": f"Bearer {key}"}) as http:
            async with Client(streamable_http_client(lk.url + "/mcp", http_client=http), message_handler=record) as client:
                names = {t.name for t in (await client.list_tools()).tools}
                assert {f"{P}_list_items", f"{P}_echo"} <= names
                await asyncio.to_thread(set_policy, lk, org, "granted", "open")
                await asyncio.wait_for(notices_reach(1), timeout=60)
                names = {t.name for t in (await client.list_tools()).tools}
                assert not any(n.startswith(f"{P}_") for n in names) and "latchkey_install" in names
                result = await client.call_tool(f"{P}_list_items", {})
                assert result.is_error and "not_granted" in result.content[0].text and f"{P}.list_items" in result.content[0].text
                await asyncio.to_thread(put_grants, lk, f"projects/{org}/team/proj", {"grants": [{"provider": P, "tools": ["list_items"]}]})
                await asyncio.wait_for(notices_reach(2), timeout=60)
                names = {t.name for t in (await client.list_tools()).tools}
                assert f"{P}_list_items" in names and f"{P}_echo" not in names
                result = await client.call_tool(f"{P}_list_items", {})
                assert not result.is_error

    asyncio.run(scenario())
