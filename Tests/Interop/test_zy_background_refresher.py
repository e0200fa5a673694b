"""The background refresher keeps a fleet of 5-second tokens fresh: no call meets an expired token.

Benchmark-style: `make test` runs it at 200 connections for 120 seconds. By hand, at scale:
    LATCHKEY_REFRESHER_CONNECTIONS=1000 LATCHKEY_REFRESHER_SECONDS=120 python3 -m pytest -q -s test_zy_background_refresher.py
(measured 2026-11-23 with the release build, 2 cores shared with a second build: 1,000 connections, 2,700 calls all
200, the upstream saw exactly 2,700, 26,366 refresh grants in 120 s = 220/s, of about 267/s that 1,000 five-second
tokens need at the most; the Authlib peer alone takes about 400 refresh grants/s.)
"""

from __future__ import annotations

import os
import random
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from conftest import Person

CONNECTIONS = int(os.environ.get("LATCHKEY_REFRESHER_CONNECTIONS", "200"))
SECONDS = float(os.environ.get("LATCHKEY_REFRESHER_SECONDS", "120"))


def test_the_background_refresher_keeps_every_connection_fresh(five_second_world):
    world = five_second_world
    lk, peer = world.lk, world.peer
    org, _ = world.org_with_agent()
    lk.admin("POST", "/v1/admin/projects", json={"team": f"{org}/team", "id": "fleet"})

    def connect(i: int) -> str:
        key = world.agent(org, "team", "fleet", f"a{i}")
        Person(peer).connect(world.connect_link(key))
        return key

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=16) as pool:
        keys = list(pool.map(connect, range(CONNECTIONS)))
    setup = time.monotonic() - started
    refreshes_before = peer.stats()["refresh_grants"]
    log_before = len(peer.api_log())

    calls = 0
    statuses: dict[int, int] = {}
    session = requests.Session()
    deadline = time.monotonic() + SECONDS
    while time.monotonic() < deadline:
        for key in random.sample(keys, min(20, len(keys))):
            r = session.get(lk.url + "/v1/proxy/authlib-basic/items",
                            headers={"Authorization": f"Bearer {key}", "Latchkey-Retry": "off"}, timeout=30)
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
            calls += 1
        time.sleep(0.5)
    refreshes = peer.stats()["refresh_grants"] - refreshes_before
    upstream = len(peer.api_log()) - log_before
    print(f"\nbackground refresher: {CONNECTIONS} connections, {SECONDS:.0f} s, setup {setup:.1f} s, "
          f"{calls} calls {statuses}, {refreshes} refresh grants ({refreshes / SECONDS:.1f}/s), upstream saw {upstream}")
    assert statuses == {200: calls}
    # A call that met an expired token would have been answered 401 and retried: the upstream would have seen more.
    assert upstream == calls
    # Tokens live 5 s and fall due 1.25 s early, so each connection is refreshed about every 3.75 s.
    assert refreshes >= CONNECTIONS * (SECONDS / 3.75) * 0.6
    states = {c["state"] for c in lk.admin("GET", f"/v1/admin/connections?owner=project:{org}/team/fleet").json()["connections"]}
    assert states == {"active"}
