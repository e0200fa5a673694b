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


@pytest.fixture(scope="module")
def pair(workdir):
    """Two processes sharing one database and master key; the provider issues 5-second rotating tokens."""
    # No background refreshers: the tests meet expired tokens on purpose, so that the calls themselves refresh.
    env = {"LATCHKEY_REFRESH_LEASE_SECONDS": str(LEASE_SECONDS), "LATCHKEY_BACKGROUND_REFRESH": "off"}
    first, peer = start_world(workdir, "pair", env=env, access_token_ttl=5)
    d = first.workdir / "second"
    d.mkdir()
    second = Latchkey(d, free_port(), first.env["LATCHKEY_PROVIDERS"], env)
    second.admin_key = first.admin_key
    second.env.update({k: first.env[k] for k in ("LATCHKEY_DATABASE_URL", "LATCHKEY_MASTER_KEY_FILE", "LATCHKEY_ADMIN_KEY")})
    second.db_path = first.db_path
    second.start()
    yield World(first, peer), second
    second.stop()
    first.stop()
    peer.stop()


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
