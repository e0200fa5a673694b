"""Three Latchkey replicas on one PostgreSQL (the throwaway cluster `make test` starts): a connect flow crosses
replicas, one refresh serves calls on all three, a dead lease holder is replaced, a revocation reaches every replica
within a second."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from conftest import Person, World, free_port, start_replica, start_world, wait_past, wait_until

POSTGRES = os.environ.get("LATCHKEY_TEST_POSTGRES_URL")
pytestmark = pytest.mark.skipif(not POSTGRES, reason="needs LATCHKEY_TEST_POSTGRES_URL (make test sets it)")
LEASE_SECONDS = 5


def lease_row(connection_id: str) -> tuple[str, int, float]:
    """The connection's refresh lease as PostgreSQL holds it: holder (`host:pid:random`), fence, expiry."""
    out = subprocess.run(
        ["psql", POSTGRES, "-At", "-F", "|", "-c",
         f"SELECT holder, fence, expires_at FROM refresh_leases WHERE connection_id = '{connection_id}'"],
        check=True, capture_output=True, text=True).stdout.strip()
    holder, fence, expires_at = out.split("|")
    return holder, int(fence), float(expires_at)


@pytest.fixture(scope="module")
def replicas(workdir):
    """Replica 2 is the public URL, so every OAuth callback lands there; 1 and 3 share its database and keys."""
    env = {
        "LATCHKEY_DATABASE_URL": f"{POSTGRES}?sslmode=disable",
        "LATCHKEY_BACKGROUND_REFRESH": "off",  # calls meet expired tokens on purpose
        "LATCHKEY_REFRESH_LEASE_SECONDS": str(LEASE_SECONDS),
    }
    second, peer = start_world(workdir, "replica2", env=env, access_token_ttl=5)
    first, third = (start_replica(second, name, env) for name in ("replica1", "replica3"))
    yield World(second, peer), first, second, third
    for lk in (first, second, third):
        lk.stop()
    peer.stop()


def test_a_connect_flow_started_on_one_replica_finishes_on_another_in_chromium(replicas, output_dir):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    from peers.oauth_peer import browser_login_and_consent
    from test_connect_flow import chromium

    world, first, second, third = replicas
    org, key = world.org_with_agent()
    r = first.call("POST", "/v1/connect-sessions", key, json={"provider": "authlib-basic"})
    assert r.status_code == 201, r.text
    link = r.json()["url"].replace(second.url, first.url)  # the person opens it on replica 1
    driver = chromium()
    try:
        driver.get(link)
        driver.find_element(By.ID, "connect-button").click()
        browser_login_and_consent(driver, "alice", "alice-password")
        WebDriverWait(driver, 15).until(EC.presence_of_element_located((By.ID, "connect-success")))
        assert driver.current_url.startswith(second.url)  # the callback landed on replica 2
        driver.save_screenshot(str(output_dir / "replicas-connect-success.png"))
    finally:
        driver.quit()
    [c] = third.call("GET", "/v1/connections", key).json()["connections"]
    assert c["state"] == "active" and c["account"] == "Alice Example"


def test_300_calls_over_three_replicas_just_after_expiry_share_one_refresh(replicas):
    world, first, second, third = replicas
    org, key = world.org_with_agent()
    Person(world.peer).connect(world.connect_link(key))
    refreshes = world.peer.stats()["refresh_grants"]
    wait_past(world.token_expiry(key), "the access token to expire")

    def call(i):
        lk = (first, second, third)[i % 3]
        return requests.get(lk.url + "/v1/proxy/authlib-basic/items", headers={"Authorization": f"Bearer {key}"}, timeout=60)

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=48) as pool:
        statuses = [r.status_code for r in pool.map(call, range(300))]
    took = time.monotonic() - started
    # Refresh tokens rotate: two replicas refreshing the same token would meet invalid_grant, and a call would fail.
    assert statuses == [200] * 300
    # One refresh for the expired token, and one more only for each 5-second token that expired while the calls went
    # on (on a busy machine 300 calls can outlast a token).
    made = world.peer.stats()["refresh_grants"] - refreshes
    print(f"\n300 calls over three replicas in {took:.1f} s: {made} refresh(es)")
    assert 1 <= made <= 1 + int(took // 5)


def test_a_revocation_on_replica_3_stops_calls_on_replica_1_after_the_cache_second(replicas):
    """The documented bound: a replica trusts a connection it resolved for one second, so from one second after a
    revocation elsewhere on, every call is refused."""
    world, first, second, third = replicas
    org, key = world.org_with_agent()
    Person(world.peer).connect(world.connect_link(key))
    [c] = world.connections(key)
    assert first.call("GET", "/v1/proxy/authlib-basic/items", key).status_code == 200  # replica 1 now caches it
    assert third.admin("POST", f"/v1/admin/connections/{c['id']}/revoke").status_code == 200
    wait_past(time.time() + 1.0, "the cache second on replica 1")
    for _ in range(5):
        r = first.call("GET", "/v1/proxy/authlib-basic/items", key)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", r.text


def test_revoking_an_agents_keys_on_replica_3_kills_its_narrowed_key_on_replica_1_after_the_cache_second(replicas):
    """The documented bound: a replica trusts a key it checked for one second, so one second after a revocation
    elsewhere, the revoked agent key and every key narrowed from it are refused."""
    world, first, second, third = replicas
    org, key = world.org_with_agent()
    Person(world.peer).connect(world.connect_link(key))
    r = first.call("POST", "/v1/keys", key, json={"ttl": "15m", "grants": [{"provider": "authlib-basic", "methods": ["GET"], "paths": ["/items"]}]})
    assert r.status_code == 201, r.text
    child = r.json()["api_key"]
    assert first.call("GET", "/v1/proxy/authlib-basic/items", child).status_code == 200  # replica 1 now trusts it
    r = third.admin("DELETE", f"/v1/admin/agents/{org}/team/proj/agent/keys")
    assert r.status_code == 200 and r.json()["revoked"] == 2
    wait_past(time.time() + 1.0, "the cache second after the revocation")
    assert first.call("GET", "/v1/proxy/authlib-basic/items", child).status_code == 401
    assert first.call("GET", "/v1/proxy/authlib-basic/items", key).status_code == 401


def test_twenty_concurrent_approvals_and_polls_across_two_replicas_run_the_call_once(replicas):
    from test_approvals import approving_org, ask, upstream

    world, first, second, _third = replicas
    _org, key, _conn = approving_org(world)
    peer = world.peer
    before = len(peer.api_log())
    approval = ask(first, key, "replicated-item").json()["approval"]

    def approve(i):
        lk = (first, second)[i % 2]
        return lk.admin("POST", f"/v1/admin/approvals/{approval['id']}", json={"decision": "approve"}).status_code

    def poll(i):
        lk = (second, first)[i % 2]
        return lk.call("GET", f"/v1/approvals/{approval['id']}", key, params={"wait": "10"}).status_code

    with ThreadPoolExecutor(40) as pool:
        polls = [pool.submit(poll, i) for i in range(20)]
        approvals = list(pool.map(approve, range(20)))
        polled = [p.result() for p in polls]
    assert sorted(approvals) == [200] + [409] * 19, approvals
    assert upstream(peer, before) == ["POST /api/items"]
    assert set(polled) <= {200, 202}, polled
    for lk in (first, second):
        got = lk.call("GET", f"/v1/approvals/{approval['id']}", key)
        assert got.status_code == 200 and got.json()["result"]["body"]["name"] == "replicated-item", got.text
    assert upstream(peer, before) == ["POST /api/items"]


def test_a_consent_withdrawn_on_replica_1_is_enforced_on_replica_2_within_a_second(replicas):
    """README: a withdrawal takes effect at once where it was made, and within one second (the resolution cache) on
    the other replicas. The person's session, made on replica 2, works on replica 1 too (it lives in the database)."""
    from test_people import add_people, csrf, person_connects, signed_in

    world, first, second, third = replicas
    org, key = world.org_with_agent()
    add_people(world, org, "alice")
    alice = signed_in(world, org, "alice")
    link = second.admin("POST", "/v1/connect-sessions", json={"provider": "authlib-basic", "owner": f"user:{org}/alice"}).json()["url"]
    assert person_connects(world, alice, link).status_code == 200
    [c] = [x for x in world.lk.admin("GET", f"/v1/admin/connections?owner=user:{org}/alice").json()["connections"]]
    grantee = f"agent:{org}/team/proj/agent"
    as_alice = {"Latchkey-User": f"{org}/alice"}
    r = alice.post(first.url + "/me/consents", data={"csrf": csrf(alice.get(first.url + "/me").text), "connection": c["id"],
                                                     "grantee": grantee}, allow_redirects=False)
    assert r.status_code == 303
    assert second.call("GET", "/v1/proxy/authlib-basic/items", key, headers=dict(as_alice)).status_code == 200  # cached there

    r = alice.post(first.url + "/me/consents/withdraw", data={"csrf": csrf(alice.get(first.url + "/me").text),
                                                              "connection": c["id"], "grantee": grantee}, allow_redirects=False)
    assert r.status_code == 303
    withdrawn_at = time.time()
    assert first.call("GET", "/v1/proxy/authlib-basic/items", key, headers=dict(as_alice)).status_code == 403  # at once here
    # Replica 2 may still serve from its cache for the documented second; from then on it refuses every call.
    wait_past(withdrawn_at + 1.0, "the cache second on replica 2")
    for _ in range(5):
        r = second.call("GET", "/v1/proxy/authlib-basic/items", key, headers=dict(as_alice))
        assert r.status_code == 403 and r.json()["error"]["code"] == "consent_required", r.text


def test_a_replica_killed_while_holding_the_lease_is_replaced_when_the_lease_expires(replicas):
    world, first, second, third = replicas
    org, key = world.org_with_agent()
    Person(world.peer).connect(world.connect_link(key))
    wait_past(world.token_expiry(key), "the access token to expire")
    token_requests = world.peer.stats()["token_requests"]
    world.peer.set_mode(token="hang", seconds=2.5, count=1)
    pending = ThreadPoolExecutor(max_workers=1).submit(
        requests.get, first.url + "/v1/proxy/authlib-basic/items", headers={"Authorization": f"Bearer {key}"}, timeout=30)
    # Replica 1 takes the lease before it calls the provider: once the token endpoint is hanging, it holds it.
    wait_until(lambda: world.peer.stats()["token_requests"] > token_requests, "replica 1's refresh to reach the token endpoint")
    [c] = world.connections(key)
    holder, fence, expires_at = lease_row(c["id"])
    assert holder.split(":")[1] == str(first.proc.pid), f"replica 1 (pid {first.proc.pid}) does not hold the lease: {holder}"
    assert expires_at > time.time()
    killed_at = time.time()
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait()
    with pytest.raises(requests.RequestException):
        pending.result()
    r = requests.get(third.url + "/v1/proxy/authlib-basic/items", headers={"Authorization": f"Bearer {key}"}, timeout=60)
    assert r.status_code == 200, r.text
    # Replica 3 took the lease over: a newer fence, held by it, taken after the dead holder's lease ran out.
    holder_after, fence_after, _ = lease_row(c["id"])
    assert fence_after > fence and holder_after.split(":")[1] == str(third.proc.pid), holder_after
    assert time.time() >= expires_at > killed_at
    [c] = world.connections(key)
    assert c["state"] == "active"
    # Replica 3 took the lease over with a higher fence, refreshed, and released it: nothing is left locked.
    holder_after, fence_after, expires_after = lease_row(c["id"])
    assert holder_after.split(":")[1] == str(third.proc.pid) and fence_after > fence, (holder_after, fence_after)
    assert expires_after <= time.time()
    first.start()


def test_a_remote_mcp_server_added_on_one_replica_serves_its_tools_on_every_replica(replicas):
    from test_remote_mcp import add_server, connect_remote, peer_state, run_peer

    world, first, second, third = replicas
    peer = run_peer("mcp_auth_server.py", "/mcp")
    url = next(peer)
    try:
        server_id = add_server(World(first, world.peer), url)
        # Every replica's catalog learns it from the database within mcp_server_sync_seconds.
        wait_until(lambda: all(lk.admin("GET", f"/v1/admin/mcp-servers/{server_id}").status_code == 200 for lk in (second, third)),
                   "the other replicas know the server")
        _, key = world.org_with_agent(apps=())
        _, query = connect_remote(world, key, server_id)
        for lk in (first, second, third):
            r = lk.call("POST", f"/v1/tools/{server_id}.list_notes/call", key, json={"arguments": {}})
            assert r.status_code == 200 and r.json()["result"]["isError"] is False, (lk.url, r.text)
        # One client registered for the org, whichever replica asked; each replica holds its own upstream session.
        assert list(peer_state(url)["clients"]).count(query["client_id"]) == 1
    finally:
        peer.close()


def start_nginx(workdir, upstreams: list[int]) -> tuple[str, Path, subprocess.Popen]:
    """nginx as the README sets it up in front of replicas: round robin over `upstreams`, no session affinity, answers
    streamed through. Its access log names the replica that served each request and the request's MCP session."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    home = Path(tempfile.mkdtemp(prefix="nginx-", dir=workdir))
    (home / "logs").mkdir()
    port = free_port()
    servers = " ".join(f"server 127.0.0.1:{p};" for p in upstreams)
    (home / "nginx.conf").write_text(f"""
worker_processes 1;
daemon off;
error_log {home}/logs/error.log warn;
pid {home}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
  log_format sessions '$upstream_addr $request_method $status $http_mcp_session_id';
  access_log {home}/logs/access.log sessions;
  client_body_temp_path {home}/body; proxy_temp_path {home}/proxy;
  fastcgi_temp_path {home}/fastcgi; uwsgi_temp_path {home}/uwsgi; scgi_temp_path {home}/scgi;
  upstream latchkey {{ {servers} keepalive 16; }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://latchkey;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_buffering off;
      proxy_read_timeout 3600s;
    }}
  }}
}}
""")
    proc = subprocess.Popen([nginx, "-p", str(home), "-c", "nginx.conf"], stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"

    def listening() -> bool:
        assert proc.poll() is None, proc.stderr.read()
        try:
            return requests.get(url + "/healthz", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    wait_until(listening, "nginx to listen")
    return url, home / "logs" / "access.log", proc


def test_an_mcp_session_behind_round_robin_nginx_is_served_by_all_three_replicas(replicas, workdir):
    """Gap 6 of issue 15: a session's requests land on every replica in turn, and each serves it (before, each
    replica knew only the sessions it opened and answered 404 for the others)."""
    import asyncio

    from test_remote_mcp import add_server, connect_remote, run_peer

    world, first, second, third = replicas
    peer = run_peer("mcp_auth_server.py", "/mcp")
    url, access_log, nginx = start_nginx(workdir, [lk.port for lk in (first, second, third)])
    try:
        server_id = add_server(World(second, world.peer), next(peer))
        wait_until(lambda: all(lk.admin("GET", f"/v1/admin/mcp-servers/{server_id}").status_code == 200 for lk in (first, third)),
                   "every replica knows the server")
        _, key = world.org_with_agent(apps=())
        connect_remote(world, key, server_id)
        steps: list = []
        session_ids: list[str] = []

        async def scenario():
            from mcp import Client
            from mcp.client.streamable_http import streamable_http_client
            from mcp.shared._httpx_utils import create_mcp_http_client

            async def progress(progress, total, message):
                steps.append((progress, total, message))

            async with create_mcp_http_client(headers={"Authorization": f"Bearer {key}"}) as http:
                async with Client(streamable_http_client(url + "/mcp", http_client=http)) as client:
                    for _ in range(3):
                        names = {t.name for t in (await client.list_tools()).tools}
                        assert f"{server_id}_list_notes" in names and "latchkey_connect_link" in names, names
                    for _ in range(6):
                        result = await client.call_tool(f"{server_id}_list_notes", {})
                        assert not result.is_error, result
                    result = await client.call_tool(f"{server_id}_export_notes", {"steps": 4}, progress_callback=progress)
                    assert not result.is_error and result.content[0].text.endswith("notes in 4 steps"), result

        asyncio.run(scenario())
        # Every step of the call came, in order, before its result, though the call crossed replicas.
        assert steps == [(n, 4.0, f"step {n} of 4") for n in range(1, 5)], steps

        served: dict[str, set[str]] = {}
        lines = [l.split() for l in access_log.read_text().splitlines()]
        for line in lines:
            if len(line) == 4 and line[3] != "-":
                served.setdefault(line[3], set()).add(line[0])
                assert line[2] in ("200", "202"), line
        assert len(served) == 1, served
        session_id, upstreams = next(iter(served.items()))
        assert upstreams == {f"127.0.0.1:{lk.port}" for lk in (first, second, third)}, upstreams
        requests_in_session = sum(1 for l in lines if len(l) == 4 and l[3] == session_id)
        print(f"\none MCP session over nginx round robin: {requests_in_session} requests served by {len(upstreams)} replicas")

        # The client ended the session (DELETE) on one replica as it closed: no replica serves it any more. nginx logs
        # that request once it is answered, which may be after the client has returned.
        def deleted() -> bool:
            logged = [l.split() for l in access_log.read_text().splitlines()]
            return any(l[1] == "DELETE" and l[3] == session_id for l in logged if len(l) == 4)
        wait_until(deleted, "the client's DELETE of its session in nginx's log")
        for lk in (first, second, third):
            r = requests.post(lk.url + "/mcp", headers={
                "Authorization": f"Bearer {key}", "Mcp-Session-Id": session_id, "Accept": "application/json, text/event-stream",
                "Content-Type": "application/json", "MCP-Protocol-Version": "2025-06-18"},
                json={"jsonrpc": "2.0", "id": 99, "method": "ping"}, timeout=30)
            assert r.status_code == 404, (lk.url, r.status_code, r.text)
    finally:
        nginx.terminate()
        nginx.wait(timeout=30)
        peer.close()


def test_three_replicas_writing_the_audit_log_at_once_keep_one_chain_per_org_that_psql_cannot_edit_unseen(replicas):
    """Issue 15 gap 8 on PostgreSQL: each replica takes the chain's head under the database's lock, so concurrent
    writers never fork a chain; an edit made with psql is named by `latchkey admin audit verify` on any replica."""
    world, first, second, third = replicas
    org, _ = world.org_with_agent(apps=())
    fleet = (first, second, third)

    def make_agent(n: int) -> int:
        lk = fleet[n % 3]
        return lk.admin("POST", "/v1/admin/agents", json={"project": f"{org}/team/proj", "id": f"a{n}"}).status_code

    with ThreadPoolExecutor(max_workers=24) as pool:
        assert set(pool.map(make_agent, range(60))) == {201}

    def verify(lk, *args) -> subprocess.CompletedProcess:
        return subprocess.run([os.environ["LATCHKEY_BIN"], "admin", "audit", "verify", *args], capture_output=True, text=True, timeout=120,
                              env={"LATCHKEY_URL": lk.url, "LATCHKEY_ADMIN_KEY": lk.admin_key, "PATH": "/usr/bin:/bin"})

    report = second.admin("GET", "/v1/admin/audit/verify", params={"org": org}).json()
    [chain] = report["chains"]
    assert report["ok"] and chain["events"] == chain["head_seq"] and chain["events"] >= 63, report
    for lk in fleet:
        assert verify(lk).returncode == 0
    # Every event of the org, written by three processes at once, sits in one unbroken sequence.
    lines = [l for l in (requests.get(third.url + "/v1/admin/audit/export", params={"org": org},
                                      headers={"Authorization": f"Bearer {third.admin_key}"}, timeout=60).text.splitlines())]
    seqs = [json.loads(l)["seq"] for l in lines]
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) == chain["events"]

    target = json.loads(lines[30])
    psql = ["psql", POSTGRES, "-At", "-c"]
    subprocess.run(psql + [f"UPDATE audit_events SET actor = 'system' WHERE id = {target['id']}"], check=True, capture_output=True)
    try:
        for lk in fleet:
            out = verify(lk, "--org", org)
            assert out.returncode == 1 and f"event {target['id']} (number {target['seq']}) was edited" in out.stdout, out.stdout
    finally:
        subprocess.run(psql + [f"UPDATE audit_events SET actor = '{target['actor']}' WHERE id = {target['id']}"], check=True, capture_output=True)
    assert verify(first, "--org", org).returncode == 0
