"""Calls under a grant that asks for approval of each call wait for a person: 202 `approval_required`, nothing reaches
the provider until someone approves, an approved call runs exactly once as its agent, and the agent fetches the
answer. Declined and expired calls never reach the provider. Against the Authlib provider, whose access log shows
what reached it."""
from __future__ import annotations

import concurrent.futures

from conftest import Person, api_instant, wait_past

P = "authlib-basic"


def upstream(peer, since: int) -> list[str]:
    return [f'{e["method"]} {e["path"]}' for e in peer.api_log()[since:]]


def approving_org(world, grants: list[dict] | None = None, proxy_policy: str = "granted"):
    """An org whose agent has one connection; its proxy opens only by grant, and POST /items (the proxy and the
    create_item tool) waits for approval of each call. Returns (org, key, connection id)."""
    lk = world.lk
    org, key = world.org_with_agent(apps=("authlib-basic",))
    Person(world.peer).connect(world.connect_link(key))
    [conn] = world.connections(key)
    r = lk.admin("PUT", f"/v1/admin/orgs/{org}/policy", json={"read_tools": "open", "proxy": proxy_policy})
    assert r.status_code == 200, r.text
    grants = grants or [
        {"provider": P, "methods": ["POST"], "paths": ["/items"], "approval": "each_call"},
        {"provider": P, "methods": ["GET"], "paths": ["/items"]},
        {"provider": P, "tools": ["create_item"], "approval": "each_call"},
    ]
    r = lk.admin("PUT", f"/v1/admin/agents/{org}/team/proj/agent/grants", json={"grants": grants})
    assert r.status_code == 200, r.text
    return org, key, conn["id"]


def ask(lk, key: str, name: str, headers: dict | None = None):
    return lk.call("POST", f"/v1/proxy/{P}/items", key, json={"name": name, "api_token": "tk-should-not-show"},
                   headers={"X-Api-Key": "xk-should-not-show", **(headers or {})})


def test_a_call_that_needs_approval_waits_then_runs_exactly_once_and_the_agent_gets_its_answer(world):
    lk, peer = world.lk, world.peer
    org, key, conn = approving_org(world)
    before = len(peer.api_log())

    r = ask(lk, key, "approved-item")
    assert r.status_code == 202 and r.headers["Latchkey-Error"] == "approval_required", r.text
    body = r.json()
    assert body["error"]["code"] == "approval_required"
    approval = body["approval"]
    assert approval["id"].startswith("apr_") and len(approval["id"]) == 36
    assert approval["url"] == f"{lk.url}/admin/approvals/{approval['id']}"
    assert upstream(peer, before) == [], "a call waiting for approval reached the provider"

    # The agent sees it waiting; a GET under the same grants runs at once.
    waiting = lk.call("GET", f"/v1/approvals/{approval['id']}", key)
    assert waiting.status_code == 202 and waiting.json()["approval"]["state"] == "pending", waiting.text
    assert "call" not in waiting.json()["approval"] and "result" not in waiting.json()
    assert lk.call("GET", f"/v1/proxy/{P}/items", key).status_code == 200

    # The admin sees exactly what is asked, secrets hidden, and never the credential.
    shown = lk.admin("GET", f"/v1/admin/approvals/{approval['id']}")
    assert shown.status_code == 200, shown.text
    view = shown.json()
    assert view["state"] == "pending" and view["agent"] == f"agent:{org}/team/proj/agent" and view["connection"] == conn
    assert view["summary"] == f"POST {P} /items" and view["key"].startswith("key_")
    assert view["call"]["method"] == "POST" and view["call"]["path"] == "/items"
    assert view["call"]["body"] == {"name": "approved-item", "api_token": "[hidden]"}
    assert view["call"]["headers"]["X-Api-Key"] == "[hidden]"
    assert "should-not-show" not in shown.text and "Bearer" not in shown.text
    listed = lk.admin("GET", "/v1/admin/approvals", params={"state": "pending", "agent": f"agent:{org}/team/proj/agent"}).json()
    assert [a["id"] for a in listed["approvals"]] == [approval["id"]]

    # Approving runs the call once, now, as the agent.
    decided = lk.admin("POST", f"/v1/admin/approvals/{approval['id']}", json={"decision": "approve"})
    assert decided.status_code == 200 and decided.json()["state"] == "done" and decided.json()["result_status"] == 201, decided.text
    assert upstream(peer, before).count("POST /api/items") == 1

    fetched = lk.call("GET", f"/v1/approvals/{approval['id']}", key)
    assert fetched.status_code == 200, fetched.text
    result = fetched.json()["result"]
    assert result["status"] == 201 and result["body"]["name"] == "approved-item"
    assert result["headers"]["content-type"].startswith("application/json")
    # Fetching again gives the same answer and runs nothing again; deciding again is a conflict.
    assert lk.call("GET", f"/v1/approvals/{approval['id']}", key).json()["result"] == result
    again = lk.admin("POST", f"/v1/admin/approvals/{approval['id']}", json={"decision": "approve"})
    assert again.status_code == 409 and again.json()["error"]["field"] == "decision"
    assert upstream(peer, before).count("POST /api/items") == 1

    actions = [e["action"] for e in lk.admin("GET", "/v1/admin/audit", params={"owner": f"org:{org}", "action": "approval."}).json()["events"]]
    assert actions == ["approval.ran", "approval.approved", "approval.requested"], actions


def test_a_tool_under_an_approval_grant_waits_and_its_answer_is_the_tools_answer(world):
    lk, peer = world.lk, world.peer
    _org, key, conn = approving_org(world)
    tools = {t["name"]: t for t in lk.call("GET", "/v1/tools", key).json()["tools"]}
    assert tools[f"{P}.create_item"]["approval"] == "each_call" and "approval" not in tools[f"{P}.list_items"]
    before = len(peer.api_log())
    r = lk.call("POST", f"/v1/tools/{P}.create_item/call", key, json={"arguments": {"name": "tool-item"}})
    assert r.status_code == 202 and r.json()["error"]["code"] == "approval_required", r.text
    apr = r.json()["approval"]["id"]
    view = lk.admin("GET", f"/v1/admin/approvals/{apr}").json()
    assert view["call"] == {"tool": f"{P}.create_item", "arguments": {"name": "tool-item"}} and view["summary"] == f"{P}.create_item"
    assert upstream(peer, before) == []
    assert lk.admin("POST", f"/v1/admin/approvals/{apr}", json={"decision": "approve"}).json()["state"] == "done"
    answer = lk.call("GET", f"/v1/approvals/{apr}", key).json()["result"]
    assert answer["status"] == 201 and answer["connection"] == conn and answer["result"]["name"] == "tool-item"
    assert upstream(peer, before) == ["POST /api/items"]


def test_a_declined_call_never_reaches_the_provider(world):
    lk, peer = world.lk, world.peer
    _org, key, _conn = approving_org(world)
    before = len(peer.api_log())
    apr = ask(lk, key, "declined-item").json()["approval"]["id"]
    r = lk.admin("POST", f"/v1/admin/approvals/{apr}", json={"decision": "decline"})
    assert r.status_code == 200 and r.json()["state"] == "declined" and r.json()["decided_by"] == "admin"
    got = lk.call("GET", f"/v1/approvals/{apr}", key)
    assert got.status_code == 403 and got.json()["error"]["code"] == "approval_declined", got.text
    late = lk.admin("POST", f"/v1/admin/approvals/{apr}", json={"decision": "approve"})
    assert late.status_code == 409
    assert upstream(peer, before) == []


def test_an_approval_nobody_decides_expires_and_never_runs(short_lived_world):
    world = short_lived_world
    lk, peer = world.lk, world.peer
    _org, key, _conn = approving_org(world)
    before = len(peer.api_log())
    approval = ask(lk, key, "expired-item").json()["approval"]
    wait_past(api_instant(approval["expires_at"]), "the approval window")
    got = lk.call("GET", f"/v1/approvals/{approval['id']}", key)
    assert got.status_code == 410 and got.json()["error"]["code"] == "approval_expired", got.text
    late = lk.admin("POST", f"/v1/admin/approvals/{approval['id']}", json={"decision": "approve"})
    assert late.status_code == 410 and late.json()["error"]["code"] == "approval_expired", late.text
    assert lk.admin("GET", f"/v1/admin/approvals/{approval['id']}").json()["state"] == "expired"
    assert upstream(peer, before) == []


def test_an_approved_call_does_not_run_once_its_agents_keys_are_revoked_or_its_grant_is_gone(world):
    lk, peer = world.lk, world.peer
    org, key, _conn = approving_org(world)
    before = len(peer.api_log())
    first = ask(lk, key, "revoked-key-item").json()["approval"]["id"]
    assert lk.admin("DELETE", f"/v1/admin/agents/{org}/team/proj/agent/keys").status_code == 200
    ended = lk.admin("POST", f"/v1/admin/approvals/{first}", json={"decision": "approve"}).json()
    assert ended["state"] == "failed", ended
    assert upstream(peer, before) == []

    new_key = lk.admin("POST", f"/v1/admin/agents/{org}/team/proj/agent/keys").json()["api_key"]
    second = ask(lk, new_key, "withdrawn-grant-item").json()["approval"]["id"]
    lk.admin("PUT", f"/v1/admin/agents/{org}/team/proj/agent/grants", json={"grants": []})
    assert lk.admin("POST", f"/v1/admin/approvals/{second}", json={"decision": "approve"}).json()["state"] == "failed"
    got = lk.call("GET", f"/v1/approvals/{second}", new_key)
    assert got.status_code == 403 and got.json()["error"]["code"] == "not_granted", got.text
    assert upstream(peer, before) == []
    failures = lk.admin("GET", "/v1/admin/audit", params={"owner": f"org:{org}", "action": "approval.failed"}).json()["events"]
    assert len(failures) == 2 and all(e["outcome"] == "failure" for e in failures)


def test_only_the_agent_and_the_key_that_asked_see_an_approval(world):
    lk = world.lk
    org, key, _conn = approving_org(world)
    r = lk.call("POST", "/v1/keys", key, json={"ttl": "10m", "grants": [
        {"provider": P, "methods": ["POST"], "paths": ["/items"], "approval": "each_call"}]})
    assert r.status_code == 201, r.text
    narrowed = r.json()["api_key"]
    sibling = lk.call("POST", "/v1/keys", key, json={"ttl": "10m", "grants": [
        {"provider": P, "methods": ["POST"], "paths": ["/items"], "approval": "each_call"}]}).json()["api_key"]
    other = world.agent(org, "team", "proj", "other")
    apr = ask(lk, narrowed, "narrowed-item").json()["approval"]["id"]
    assert lk.call("GET", f"/v1/approvals/{apr}", narrowed).status_code == 202
    assert lk.call("GET", f"/v1/approvals/{apr}", key).status_code == 202
    for stranger in (sibling, other):
        got = lk.call("GET", f"/v1/approvals/{apr}", stranger)
        assert got.status_code == 404 and got.json()["error"]["code"] == "not_found", got.text
    # Agents cannot decide; the admin route takes the admin key only.
    assert lk.call("POST", f"/v1/admin/approvals/{apr}", key, json={"decision": "approve"}).status_code == 403
    # A narrowed key without approval in its grant cannot be minted from one that asks for it.
    wider = lk.call("POST", "/v1/keys", narrowed, json={"ttl": "5m", "grants": [{"provider": P, "methods": ["POST"], "paths": ["/items"]}]})
    assert wider.status_code == 403 and wider.json()["error"]["code"] == "exceeds_parent"


def test_approval_routes_refuse_bad_input(world):
    lk = world.lk
    _org, key, _conn = approving_org(world)
    apr = ask(lk, key, "bad-input-item").json()["approval"]["id"]
    for body, field in [({}, "decision"), ({"decision": "maybe"}, "decision"), ({"decision": "approve", "why": "x"}, "why")]:
        r = lk.admin("POST", f"/v1/admin/approvals/{apr}", json=body)
        assert r.status_code == 400 and r.json()["error"]["field"] == field, (body, r.text)
    for wait in ("31", "-1", "soon"):
        r = lk.call("GET", f"/v1/approvals/{apr}", key, params={"wait": wait})
        assert r.status_code == 400 and r.json()["error"]["field"] == "wait", r.text
    assert lk.admin("GET", "/v1/admin/approvals", params={"state": "maybe"}).json()["error"]["field"] == "state"
    assert lk.admin("GET", "/v1/admin/approvals/apr_nope").status_code == 404
    assert lk.admin("POST", "/v1/admin/approvals/apr_nope", json={"decision": "approve"}).status_code == 404
    # Nothing stored was harmed: it still waits.
    assert lk.admin("GET", f"/v1/admin/approvals/{apr}").json()["state"] == "pending"


def test_a_long_poll_returns_as_soon_as_the_call_ran(world):
    lk = world.lk
    _org, key, _conn = approving_org(world)
    apr = ask(lk, key, "long-poll-item").json()["approval"]["id"]
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        polling = pool.submit(lambda: lk.call("GET", f"/v1/approvals/{apr}", key, params={"wait": "30"}))
        assert lk.admin("POST", f"/v1/admin/approvals/{apr}", json={"decision": "approve"}).status_code == 200
        got = polling.result()
    assert got.status_code == 200 and got.json()["result"]["body"]["name"] == "long-poll-item", got.text


def test_the_official_mcp_client_sees_approval_required_and_after_approval_gets_the_result(world):
    import asyncio

    from test_mcp import MCPAgent

    lk, peer = world.lk, world.peer
    _org, key, conn = approving_org(world)
    before = len(peer.api_log())

    async def ask_over_mcp():
        async with MCPAgent(lk.url + "/mcp", key) as agent:
            listed = await agent.client.list_tools()
            create = next(t for t in listed.tools if t.name == f"{P}_create_item")
            assert "approval" in create.description
            result = await agent.call(create.name, {"name": "mcp-item"})
            return result

    held = asyncio.run(ask_over_mcp())
    text = held.content[0].text
    assert not held.is_error and text.startswith("approval_required:"), text
    apr = held.structured_content["approval"]["id"]
    assert apr in text and held.structured_content["approval"]["url"] in text and "latchkey_approval" in text
    assert upstream(peer, before) == []

    async def follow(wait: int):
        async with MCPAgent(lk.url + "/mcp", key) as agent:
            return await agent.call("latchkey_approval", {"id": apr, "wait": wait})

    waiting = asyncio.run(follow(0))
    assert not waiting.is_error and "pending" in waiting.content[0].text, waiting.content[0].text
    assert lk.admin("POST", f"/v1/admin/approvals/{apr}", json={"decision": "approve"}).json()["state"] == "done"
    done = asyncio.run(follow(5))
    assert not done.is_error, done.content[0].text
    assert done.structured_content["status"] == 201 and done.structured_content["connection"] == conn
    assert done.structured_content["result"]["name"] == "mcp-item"
    assert upstream(peer, before) == ["POST /api/items"]

    # A declined one reads as a tool error with its code.
    async def decline_over_mcp():
        async with MCPAgent(lk.url + "/mcp", key) as agent:
            r = await agent.call(f"{P}_create_item", {"name": "declined-mcp-item"})
            other = r.structured_content["approval"]["id"]
            assert lk.admin("POST", f"/v1/admin/approvals/{other}", json={"decision": "decline"}).status_code == 200
            return await agent.call("latchkey_approval", {"id": other})

    declined = asyncio.run(decline_over_mcp())
    assert declined.is_error and declined.content[0].text.startswith("approval_declined:"), declined.content[0].text
    assert upstream(peer, before) == ["POST /api/items"]


def test_the_person_whose_connection_it_is_decides_at_me_and_nobody_else_but_the_admin(world):
    from test_people import add_people, csrf, person_connects, signed_in

    lk, peer = world.lk, world.peer
    org, key = world.org_with_agent(apps=(P,))
    add_people(world, org, "alice", "bob")
    alice = signed_in(world, org, "alice")
    link = lk.admin("POST", "/v1/connect-sessions", json={"provider": P, "owner": f"user:{org}/alice"}).json()["url"]
    assert person_connects(world, alice, link).status_code == 200
    [conn] = lk.admin("GET", f"/v1/admin/connections?owner=user:{org}/alice").json()["connections"]
    assert lk.admin("PUT", f"/v1/admin/agents/{org}/team/proj/agent/grants", json={"grants": [
        {"provider": P, "methods": ["POST"], "paths": ["/items"], "approval": "each_call"}]}).status_code == 200
    page = alice.get(lk.url + f"/me/consent?agent=agent:{org}/team/proj/agent&connection={conn['id']}", timeout=30)
    r = alice.post(lk.url + "/me/consent", data={
        "csrf": csrf(page.text), "agent": f"agent:{org}/team/proj/agent", "grantee": f"agent:{org}/team/proj/agent",
        "connection": conn["id"], "decision": "approve"}, allow_redirects=False, timeout=30)
    assert r.status_code == 303, r.text[:300]
    before = len(peer.api_log())

    r = ask(lk, key, "alices-item", headers={"Latchkey-User": f"{org}/alice"})
    assert r.status_code == 202, r.text
    approval = r.json()["approval"]
    assert approval["url"] == f"{lk.url}/me/approvals/{approval['id']}"

    # Bob sees nothing of it and cannot decide it; without a session the page asks to sign in.
    bob = signed_in(world, org, "bob")
    assert approval["id"] not in bob.get(lk.url + "/me/approvals", timeout=30).text
    assert bob.get(approval["url"], timeout=30).status_code == 404
    bob_page = bob.get(lk.url + "/me", timeout=30)
    r = bob.post(approval["url"] + "/decide", data={"csrf": csrf(bob_page.text), "decision": "approve"}, timeout=30)
    assert r.status_code == 404, r.text[:300]
    assert "Sign in" in requests_get(approval["url"]).text
    assert upstream(peer, before) == []

    # Alice sees it in her list, reads exactly what is asked, and approves it once.
    assert approval["id"] in alice.get(lk.url + "/me/approvals", timeout=30).text
    page = alice.get(approval["url"], timeout=30)
    assert page.status_code == 200 and "alices-item" in page.text and "should-not-show" not in page.text
    r = alice.post(approval["url"] + "/decide", data={"csrf": csrf(page.text), "decision": "approve"}, allow_redirects=False, timeout=30)
    assert r.status_code == 303 and r.headers["Location"] == f"/me/approvals/{approval['id']}", r.text[:300]
    assert "answered 201" in alice.get(approval["url"], timeout=30).text
    assert upstream(peer, before) == ["POST /api/items"]
    got = lk.call("GET", f"/v1/approvals/{approval['id']}", key).json()
    assert got["approval"]["decided_by"] == f"user:{org}/alice" and got["result"]["body"]["owner"] == "alice"
    events = lk.admin("GET", "/v1/admin/audit", params={"owner": f"org:{org}", "action": "approval.approved"}).json()["events"]
    assert [e["actor"] for e in events] == [f"user:{org}/alice"]


def requests_get(url: str):
    import requests

    return requests.get(url, timeout=30)
