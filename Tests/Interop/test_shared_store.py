"""Two Latchkey processes on one SQLite file: the refresh lease holds across processes, and a process that dies
while holding it loses it when it expires. (PostgreSQL replicas use the same store contract.)"""

from __future__ import annotations

import signal
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from conftest import Latchkey, Person, World, free_port, start_world, wait_past, wait_until

LEASE_SECONDS = 5


def start_pair(workdir, name: str, env: dict[str, str], access_token_ttl: int):
    """Two processes sharing one database and master key, and the provider they both use."""
    first, peer = start_world(workdir, name, env=env, access_token_ttl=access_token_ttl)
    d = first.workdir / "second"
    d.mkdir()
    second = Latchkey(d, free_port(), first.env["LATCHKEY_PROVIDERS"], env)
    second.admin_key = first.admin_key
    second.env.update({k: first.env[k] for k in ("LATCHKEY_DATABASE_URL", "LATCHKEY_MASTER_KEY_FILE", "LATCHKEY_ADMIN_KEY")})
    second.db_path = first.db_path
    second.start()
    return World(first, peer), second


@pytest.fixture(scope="module")
def pair(workdir):
    """The provider issues 5-second rotating tokens."""
    # No background refreshers: the tests meet expired tokens on purpose, so that the calls themselves refresh.
    world, second = start_pair(
        workdir, "pair", {"LATCHKEY_REFRESH_LEASE_SECONDS": str(LEASE_SECONDS), "LATCHKEY_BACKGROUND_REFRESH": "off"}, access_token_ttl=5)
    yield world, second
    second.stop()
    world.lk.stop()
    world.peer.stop()


@pytest.fixture(scope="module")
def settled_pair(workdir):
    """Hour-long tokens: no call refreshes (and so reads the store) while a test runs; only the caches decide."""
    world, second = start_pair(workdir, "settled", {"LATCHKEY_BACKGROUND_REFRESH": "off"}, access_token_ttl=3600)
    yield world, second
    second.stop()
    world.lk.stop()
    world.peer.stop()


def lease_holder(lk: Latchkey, connection_id: str) -> str | None:
    with sqlite3.connect(lk.db_path, timeout=5) as db:
        row = db.execute("SELECT holder, expires_at FROM refresh_leases WHERE connection_id = ?", (connection_id,)).fetchone()
    return row[0] if row and row[1] > time.time() else None


def test_calls_on_both_processes_just_after_expiry_share_one_refresh(pair):
    world, second = pair
    first, peer = world.lk, world.peer
    _org, key = world.org_with_agent()
    Person(peer).connect(world.connect_link(key))
    for _round in range(2):
        refreshes = peer.stats()["refresh_grants"]
        wait_past(world.token_expiry(key), "the access token to expire")

        def call(i):
            lk = first if i % 2 else second
            return requests.get(lk.url + "/v1/proxy/authlib-basic/items", headers={"Authorization": f"Bearer {key}"}, timeout=60)

        with ThreadPoolExecutor(max_workers=40) as pool:
            statuses = [r.status_code for r in pool.map(call, range(200))]
        assert statuses == [200] * 200
        assert peer.stats()["refresh_grants"] == refreshes + 1
    [c] = world.connections(key)
    assert c["state"] == "active"


def calls_for(lk: Latchkey, key: str, seconds: float) -> int:
    """Calls through `lk` for `seconds`, every call answered 200; long enough that its caches hold entries past their
    one-second lifetime, on the change log's word alone."""
    until, made = time.time() + seconds, 0
    while time.time() < until:
        r = lk.call("GET", "/v1/proxy/authlib-basic/items", key)
        assert r.status_code == 200, r.text
        made += 1
    return made


def test_a_revocation_by_one_process_holds_in_the_other_from_one_second_on_although_it_kept_the_connection(settled_pair):
    """A process keeps a resolution until the file's change log reports a change to it, no longer for one second only;
    the documented bound stays: from one second after a revocation by another process, every call is refused."""
    world, second = settled_pair
    first, peer = world.lk, world.peer
    _org, key = world.org_with_agent()
    Person(peer).connect(world.connect_link(key))
    [c] = world.connections(key)
    made = calls_for(second, key, 3)
    assert first.admin("POST", f"/v1/admin/connections/{c['id']}/revoke").status_code == 200
    wait_past(time.time() + 1.0, "one second after the revocation")
    for _ in range(5):
        r = second.call("GET", "/v1/proxy/authlib-basic/items", key)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", r.text
    print(f"\n{made} calls in 3 s through the second process before the revocation")


def test_keys_revoked_by_one_process_are_refused_by_the_other_from_one_second_on_although_it_kept_them(settled_pair):
    world, second = settled_pair
    first, peer = world.lk, world.peer
    org, key = world.org_with_agent()
    Person(peer).connect(world.connect_link(key))
    calls_for(second, key, 3)
    r = first.admin("DELETE", f"/v1/admin/agents/{org}/team/proj/agent/keys")
    assert r.status_code == 200 and r.json()["revoked"] == 1, r.text
    wait_past(time.time() + 1.0, "one second after the revocation")
    for _ in range(5):
        assert second.call("GET", "/v1/proxy/authlib-basic/items", key).status_code == 401


def test_grants_narrowed_by_one_process_hold_in_the_other_from_one_second_on_although_it_kept_them(settled_pair):
    world, second = settled_pair
    first, peer = world.lk, world.peer
    org, key = world.org_with_agent()
    Person(peer).connect(world.connect_link(key))
    agent = f"agents/{org}/team/proj/agent"
    r = first.admin("PUT", f"/v1/admin/orgs/{org}/policy", json={"read_tools": "granted", "proxy": "granted"})
    assert r.status_code == 200, r.text
    r = first.admin("PUT", f"/v1/admin/{agent}/grants", json={"grants": [{"provider": "authlib-basic", "methods": ["GET"], "paths": ["/items"]}]})
    assert r.status_code == 200, r.text
    wait_past(time.time() + 1.0, "one second after the grant")
    calls_for(second, key, 3)
    r = first.admin("PUT", f"/v1/admin/{agent}/grants", json={"grants": []})
    assert r.status_code == 200, r.text
    wait_past(time.time() + 1.0, "one second after the grants were taken away")
    for _ in range(5):
        r = second.call("GET", "/v1/proxy/authlib-basic/items", key)
        assert r.status_code == 403 and r.json()["error"]["code"] == "not_granted", r.text


def test_a_process_killed_while_refreshing_loses_the_lease_when_it_expires(pair):
    world, second = pair
    first, peer = world.lk, world.peer
    _org, key = world.org_with_agent()
    Person(peer).connect(world.connect_link(key))
    [c] = world.connections(key)
    wait_past(world.token_expiry(key), "the access token to expire")
    # The token endpoint hangs for 2.5 s and then fails without doing anything, like a request that never got
    # processed: the first process takes the lease and waits on it.
    token_requests = peer.stats()["token_requests"]
    peer.set_mode(token="hang", seconds=2.5, count=1)
    pending = ThreadPoolExecutor(max_workers=1).submit(
        requests.get, first.url + "/v1/proxy/authlib-basic/items", headers={"Authorization": f"Bearer {key}"}, timeout=30)
    # A process takes the lease before it calls the provider: once the token endpoint is hanging, it holds it.
    wait_until(lambda: peer.stats()["token_requests"] > token_requests, "the first process's refresh to reach the token endpoint")
    holder = lease_holder(first, c["id"])
    assert holder is not None and holder.split(":")[1] == str(first.proc.pid), holder
    taken_at = time.time()
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait()
    with pytest.raises(requests.RequestException):
        pending.result()
    # The survivor waits for the dead holder's lease to lapse, then refreshes itself.
    r = requests.get(second.url + "/v1/proxy/authlib-basic/items", headers={"Authorization": f"Bearer {key}"}, timeout=60)
    waited = time.time() - taken_at
    assert r.status_code == 200, r.text
    assert waited <= LEASE_SECONDS + 3, waited
    state = requests.get(second.url + "/v1/connections", headers={"Authorization": f"Bearer {key}"}, timeout=10).json()
    [after] = state["connections"]
    assert after["state"] == "active" and after["id"] == c["id"]
    assert lease_holder(second, c["id"]) is None  # released, not left locked
    first.start()  # for the module's teardown
