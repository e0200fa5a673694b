"""Agents act through Latchkey: the proxy, tools, grants, metering and retries, against the Authlib provider's API."""

from __future__ import annotations

import json
import re
import socket
import time

import pytest
import requests

from conftest import Person


@pytest.fixture
def connected(world):
    """An org whose agent has an active authlib-basic connection (as alice)."""
    org, key = world.org_with_agent()
    Person(world.peer).connect(world.connect_link(key))
    return org, key


def raw_answer_head(lk, path: str, key: str) -> list[str]:
    """The lines of the answer's head, lowercased, read off the socket: a client library would merge repeated fields."""
    with socket.create_connection(("127.0.0.1", lk.port), timeout=30) as s:
        s.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   f"Authorization: Bearer {key}\r\nConnection: close\r\n\r\n").encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return data.split(b"\r\n\r\n", 1)[0].decode("latin1").lower().split("\r\n")


def test_headers_the_provider_names_in_its_connection_header_never_reach_the_caller(world, connected):
    org, key = connected
    lines = raw_answer_head(world.lk, "/v1/proxy/authlib-basic/echo/x?hop=1", key)
    head = "\r\n".join(lines)
    assert head.startswith("http/1.1 200"), head
    assert "x-upstream: echo" in head, "other provider headers still come back"
    assert "x-hop-internal" not in head and "peer-internal" not in head, head


def test_a_providers_own_latchkey_headers_never_reach_the_caller_who_gets_one_of_each_from_latchkey(world, connected):
    org, key = connected
    lines = raw_answer_head(world.lk, "/v1/proxy/authlib-basic/echo/x?forge=1", key)
    assert lines[0].startswith("http/1.1 200"), lines[0]
    ids = [line for line in lines if line.startswith("latchkey-request-id:")]
    connections = [line for line in lines if line.startswith("latchkey-connection:")]
    assert len(ids) == 1 and "forged" not in ids[0], lines
    assert len(connections) == 1 and "conn_forged" not in connections[0] and "conn_" in connections[0], lines


def test_a_proxied_call_reaches_the_provider_with_the_credential_injected(world, connected):
    org, key = connected
    r = world.lk.call("GET", "/v1/proxy/authlib-basic/echo/a/b?x=1&y=two", key,
                      headers={"X-Custom": "kept", "Cookie": "c=1", "Latchkey-Debug": "1", "Connection": "close"})
    assert r.status_code == 200, r.text
    echo = r.json()
    assert echo["user"] == "alice"                    # the provider accepted the injected token
    assert echo["path"] == "/api/echo/a/b" and echo["args"] == {"x": ["1"], "y": ["two"]}
    assert echo["headers"]["x-custom"] == "kept"
    assert "cookie" not in echo["headers"] and "latchkey-debug" not in echo["headers"]
    assert echo["headers"]["authorization"] == "Bearer <redacted>"
    assert "set-cookie" not in {k.lower() for k in r.headers}  # the provider's cookie stays behind
    assert r.headers["X-Upstream"] == "echo" and r.headers["Latchkey-Connection"].startswith("conn_")
    r = world.lk.call("POST", "/v1/proxy/authlib-basic/items", key, json={"name": "via proxy"})
    assert r.status_code == 201 and r.json()["name"] == "via proxy"


def test_a_proxied_calls_answer_and_its_refusals_each_carry_their_own_request_id(world, connected):
    org, key = connected
    answered = world.lk.call("GET", "/v1/proxy/authlib-basic/echo/x", key)
    refused = world.lk.call("GET", "/v1/proxy/authlib-basic/echo/x", "lk_agent_not_a_key")
    unknown = world.lk.call("GET", "/v1/proxy/no-such-provider/x", key)
    assert answered.status_code == 200
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthenticated"
    assert unknown.json()["error"]["code"] == "unknown_provider"
    assert refused.headers["Latchkey-Error"] == "unauthenticated"
    ids = [r.headers["Latchkey-Request-Id"] for r in (answered, refused, unknown)]
    assert len(set(ids)) == 3 and all(re.fullmatch(r"[a-z2-7]{15}", i) for i in ids), ids


def send_raw(lk, request_line: str, key: str, extra: str = "") -> int:
    """Sends bytes exactly as written (no client-side normalisation) and returns the status code."""
    with socket.create_connection(("127.0.0.1", lk.port), timeout=10) as s:
        s.sendall((f"{request_line} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n{extra}"
                   "Connection: close\r\n\r\n").encode("latin1"))
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return int(data.split(b" ", 2)[1])


HOSTILE_PATHS = [
    "../admin", "a/../../etc/passwd", "a/%2e%2e/b", "%2E%2E/x", "a/%2e./b", "./x", "a/./b", "/evil.example/x", "//evil.example",
    "http://evil.example/", "https:evil.example", "a\\..\\b", "a%5c..%5cb", "a%2fb", "a%00b", "a#frag", "a%23b", "a%3fb",
    "a%252e%252e/b", "a//b", "a%0d%0aX-Injected:%20y", "a%09b", "a%2F..%2Fb", "x/%2E%2e/%2e%2E/y", "x/http://evil.example/",
    # Dot segments with path parameters, and overlong or invalid UTF-8 escapes (issue 15, gap 3).
    "a/..;/b", "..;/admin", "a/.;/b", "a/..;jsessionid=x/b", "a/%c0%ae%c0%ae/b", "%c0%ae%c0%ae/x", "a/%e0%80%ae/b",
    "a/%c0%af/b", "a/%ff/b", "a/%zz/b",
]
HOSTILE_HEADERS = [
    "Latchkey-Connection: ../../admin\r\n", "Latchkey-User: ../other\r\n", "Latchkey-User: otherorg/alice\r\n",
]


@pytest.mark.parametrize("path", HOSTILE_PATHS)
def test_a_hostile_path_is_refused_and_never_reaches_the_provider(world, connected, path):
    org, key = connected
    before = len(world.peer.api_log())
    status = send_raw(world.lk, f"GET /v1/proxy/authlib-basic/{path}", key)
    assert status == 400, path
    assert len(world.peer.api_log()) == before


@pytest.mark.parametrize("header", HOSTILE_HEADERS)
def test_a_hostile_control_header_is_refused_and_never_reaches_the_provider(world, connected, header):
    org, key = connected
    before = len(world.peer.api_log())
    status = send_raw(world.lk, "GET /v1/proxy/authlib-basic/echo/x", key, header)
    assert status in (400, 404), header
    assert len(world.peer.api_log()) == before


def test_a_control_header_sent_twice_is_refused_even_when_both_name_the_callers_own_connection(world, connected):
    org, key = connected
    own = world.lk.call("GET", "/v1/proxy/authlib-basic/echo/x", key).headers["Latchkey-Connection"]
    before = len(world.peer.api_log())
    twice = f"Latchkey-Connection: {own}\r\nLatchkey-Connection: {own}\r\n"
    # The values read as one, joined by a comma: no connection has that id, and neither value is picked alone.
    assert send_raw(world.lk, "GET /v1/proxy/authlib-basic/echo/x", key, twice) in (400, 404)
    assert send_raw(world.lk, "GET /v1/proxy/authlib-basic/echo/x", key, f"Latchkey-Connection: {own}\r\n") == 200
    assert len(world.peer.api_log()) == before + 1


@pytest.mark.parametrize("arguments", [
    {"segment": ".."}, {"segment": "."}, {"segment": "a\r\nb"}, {"segment": "x", "n": 99}, {"segment": 5},
    {"segment": "x", "q": {"nested": 1}}, {"q": "missing segment"},
])
def test_hostile_tool_arguments_are_refused_with_the_field_named(world, connected, arguments):
    org, key = connected
    before = len(world.peer.api_log())
    r = world.lk.call("POST", "/v1/tools/authlib-basic.echo/call", key, json={"arguments": arguments})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["field"].startswith("arguments")
    assert len(world.peer.api_log()) == before


def test_tool_arguments_cannot_inject_path_query_or_fragment(world, connected):
    org, key = connected
    r = world.lk.call("POST", "/v1/tools/authlib-basic.echo/call", key,
                      json={"arguments": {"segment": "a/b?c=d#e", "q": "x&y=z", "n": 3}})
    assert r.status_code == 200, r.text
    result = r.json()["result"]
    # The whole argument arrived as path text (the provider decodes %2F), not as a query or a fragment.
    assert result["path"] == "/api/echo/a/b?c=d#e"
    assert result["args"] == {"n": ["3"], "q": ["x&y=z"]}


def test_tools_appear_when_active_and_write_tools_need_a_grant(world):
    lk = world.lk
    org, key = world.org_with_agent()
    assert lk.call("GET", "/v1/tools", key).json()["tools"] == []
    Person(world.peer).connect(world.connect_link(key))
    names = {t["name"] for t in lk.call("GET", "/v1/tools", key).json()["tools"]}
    assert names == {"authlib-basic.list_items", "authlib-basic.echo"}
    r = lk.call("POST", "/v1/tools/authlib-basic.create_item/call", key, json={"arguments": {"name": "x"}})
    assert r.status_code == 403 and r.json()["error"]["code"] == "tool_not_granted"
    r = lk.admin("PUT", f"/v1/admin/agents/{org}/team/proj/agent/grants", json={"tools": ["authlib-basic.create_item"]})
    assert r.status_code == 200 and r.json()["tools"] == ["authlib-basic.create_item"]
    assert "authlib-basic.create_item" in {t["name"] for t in lk.call("GET", "/v1/tools", key).json()["tools"]}
    r = lk.call("POST", "/v1/tools/authlib-basic.create_item/call", key, json={"arguments": {"name": "granted"}})
    assert r.status_code == 200 and r.json()["status"] == 201 and r.json()["result"]["name"] == "granted"
    r = lk.call("POST", "/v1/tools/authlib-basic.list_items/call", key, json={"arguments": {}})
    assert "granted" in [i["name"] for i in r.json()["result"]]
    r = lk.call("POST", "/v1/tools/authlib-basic.create_item/call", key, json={"arguments": {}})
    assert r.status_code == 400 and r.json()["error"]["field"] == "arguments.name"
    r = lk.admin("PUT", f"/v1/admin/agents/{org}/team/proj/agent/grants", json={"tools": ["nope.tool"]})
    assert r.status_code == 404 and r.json()["error"]["field"] == "tool"


def test_retries_recover_from_two_503s_and_give_up_within_the_bound(world, connected):
    lk, peer = world.lk, world.peer
    org, key = connected
    before = len(peer.api_log())
    peer.set_mode(api="unavailable", count=2)
    r = lk.call("GET", "/v1/proxy/authlib-basic/items", key)
    assert r.status_code == 200
    assert len(peer.api_log()) - before == 3

    before = len(peer.api_log())
    peer.set_mode(api="unavailable")
    try:
        r = lk.call("GET", "/v1/proxy/authlib-basic/items", key)
        # At most 3 attempts (the backoff schedule and its 6 s cap are unit-tested on the manual clock).
        assert r.status_code == 503
        assert len(peer.api_log()) - before == 3
        # Not idempotent: a POST is sent once. Retries off: once.
        before = len(peer.api_log())
        assert lk.call("POST", "/v1/proxy/authlib-basic/items", key, json={"name": "x"}).status_code == 503
        assert lk.call("GET", "/v1/proxy/authlib-basic/items", key, headers={"Latchkey-Retry": "off"}).status_code == 503
        assert len(peer.api_log()) - before == 2
    finally:
        peer.set_mode(api="normal")


def test_a_401_forces_one_refresh_and_one_retry(world, connected):
    lk, peer = world.lk, world.peer
    org, key = connected
    refreshes = peer.stats()["refresh_grants"]
    peer.expire_access_tokens()
    r = lk.call("GET", "/v1/proxy/authlib-basic/items", key, headers={"Latchkey-Retry": "off"})
    assert r.status_code == 200
    assert peer.stats()["refresh_grants"] == refreshes + 1


# --- the authorization matrix ----------------------------------------------------------------------

def test_authorization_matrix(world):
    lk, peer = world.lk, world.peer
    org, key_a = world.org_with_agent()
    key_b = world.agent(org, "team", "proj", "bee")
    other_org, key_x = world.org_with_agent()
    Person(peer).connect(world.connect_link(key_a))
    Person(peer).connect(world.connect_link(key_b), username="bob", password="bob-password")
    conn_a = world.connections(key_a)[0]["id"]
    conn_b = world.connections(key_b)[0]["id"]
    # A user of the other org with a connection of their own.
    from test_people import add_people, person_connects, signed_in
    add_people(world, other_org, "carol")
    link = lk.admin("POST", "/v1/connect-sessions", json={"provider": "authlib-basic", "owner": f"user:{other_org}/carol"}).json()["url"]
    assert person_connects(world, signed_in(world, other_org, "carol"), link).status_code == 200
    user_conn = lk.admin("GET", f"/v1/admin/connections?owner=user:{other_org}/carol").json()["connections"][0]["id"]

    before = len(peer.api_log())
    cases = [
        # (method, path, headers, json, expected status)
        ("GET", "/v1/proxy/authlib-basic/items", {"Latchkey-Connection": conn_b}, None, 404),
        ("POST", "/v1/tools/authlib-basic.list_items/call", {}, {"arguments": {"connection": conn_b}}, 404),
        ("POST", "/v1/tools/authlib-basic.list_items/call", {}, {"arguments": {}, "connection": conn_b}, 404),
        ("GET", "/v1/proxy/authlib-basic/items", {"Latchkey-User": f"{other_org}/carol"}, None, 404),
        ("GET", "/v1/proxy/authlib-basic/items", {"Latchkey-Connection": user_conn}, None, 404),
        ("DELETE", f"/v1/integrations/{conn_b}", {}, None, 404),
        ("POST", "/v1/connect-sessions", {}, {"provider": "authlib-basic", "connection_id": conn_b}, 404),
        ("POST", "/v1/connect-sessions", {}, {"provider": "authlib-basic", "owner": f"agent:{org}/team/proj/bee"}, 403),
        ("POST", "/v1/integrations", {}, {"provider": "authlib-basic", "owner": f"project:{org}/team/proj"}, 403),
    ]
    for admin_path in ["/v1/admin/orgs", "/v1/admin/teams", "/v1/admin/projects", "/v1/admin/agents", "/v1/admin/users",
                       "/v1/admin/connections", f"/v1/admin/orgs/{org}/credits"]:
        cases.append(("POST", admin_path, {}, {"id": "x", "add": 5}, 403))
    cases += [
        ("GET", "/v1/admin/connections", {}, None, 403),
        ("GET", "/v1/admin/audit", {}, None, 403),
        ("PUT", "/v1/admin/apps/authlib-basic", {}, {"owner": f"org:{org}", "client_id": "x"}, 403),
        ("PUT", f"/v1/admin/agents/{org}/team/proj/agent/grants", {}, {"tools": ["authlib-basic.create_item"]}, 403),
        ("DELETE", f"/v1/admin/agents/{org}/team/proj/bee/keys", {}, None, 403),
    ]
    for method, path, headers, body, expected in cases:
        r = lk.call(method, path, key_a, headers=headers, json=body)
        assert r.status_code == expected, (method, path, headers, body, r.status_code, r.text)
    assert len(peer.api_log()) == before  # nothing reached the provider

    # An uninstalled (revoked) integration's connection and tools are gone.
    assert lk.call("DELETE", f"/v1/integrations/{conn_a}", key_a).status_code == 200
    assert lk.call("GET", "/v1/proxy/authlib-basic/items", key_a).status_code == 404
    assert lk.call("GET", "/v1/proxy/authlib-basic/items", key_a, headers={"Latchkey-Connection": conn_a}).status_code == 404
    assert lk.call("GET", "/v1/tools", key_a).json()["tools"] == []
    # B's connection is untouched.
    assert lk.call("GET", "/v1/proxy/authlib-basic/items", key_b).status_code == 200


def test_a_connection_that_needs_reauth_refuses_calls_with_424(world, connected):
    lk, peer = world.lk, world.peer
    org, key = connected
    peer.expire_access_tokens()
    peer.set_mode(token="invalid_grant")
    try:
        r = lk.call("GET", "/v1/proxy/authlib-basic/items", key)
    finally:
        peer.set_mode(token="normal")
    assert r.status_code == 424 and r.json()["error"]["code"] == "reauth_required"
    [c] = world.connections(key)
    assert c["state"] == "needs_reauth" and c["last_error"] == "invalid_grant"
    before = len(peer.api_log())
    r = lk.call("POST", "/v1/tools/authlib-basic.list_items/call", key, json={"arguments": {}})
    assert r.status_code == 424
    assert lk.call("GET", "/v1/tools", key).json()["tools"] == []
    assert len(peer.api_log()) == before


def test_a_spent_rate_limit_holds_calls_until_the_reset_instead_of_spending_them(world):
    lk, peer = world.lk, world.peer
    org, key = world.org_with_agent()
    Person(peer).connect(world.connect_link(key, provider="authlib-limited"))
    try:
        # A short reset: the next call waits for it, then goes.
        peer.set_rate_limit(remaining=0, reset_in=2)
        assert lk.call("GET", "/v1/proxy/authlib-limited/items", key).status_code == 200
        reset_at = time.time() + 1.5
        peer.set_rate_limit(None)
        before = len(peer.api_log())
        assert lk.call("GET", "/v1/proxy/authlib-limited/items", key).status_code == 200
        log = peer.api_log()[before:]
        assert len(log) == 1 and log[0]["at"] >= reset_at - 1.0
        # A long reset: refused at once with 429 and Retry-After, and nothing is sent.
        peer.set_rate_limit(remaining=0, reset_in=60)
        assert lk.call("GET", "/v1/proxy/authlib-limited/items", key).status_code == 200
        before = len(peer.api_log())
        r = lk.call("GET", "/v1/proxy/authlib-limited/items", key)
        # Refused, not held until the reset: the answer says when to come back, and nothing was sent.
        assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"
        assert 55 <= int(r.headers["Retry-After"]) <= 61
        assert len(peer.api_log()) == before
    finally:
        peer.set_rate_limit(None)
