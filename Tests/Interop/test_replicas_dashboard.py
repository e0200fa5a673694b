"""The admin dashboard behind several replicas on one PostgreSQL (the throwaway cluster `make test` starts): a
session started on one replica works on another, sign-out on one ends it on all, and every replica's dashboard
shows the proxied calls of all of them."""

from __future__ import annotations

import os
import re

import pytest
import requests

from conftest import Person, World, start_replica, start_world, wait_until
from test_dashboard import PROVIDER, csrf_of, proxy_counts, sign_in

POSTGRES = os.environ.get("LATCHKEY_TEST_POSTGRES_URL")
pytestmark = pytest.mark.skipif(not POSTGRES, reason="needs LATCHKEY_TEST_POSTGRES_URL (make test sets it)")
FLUSH_SECONDS = 1


@pytest.fixture(scope="module")
def replicas(workdir):
    """Replicas 1 and 2 flush their proxy counts every second; replica 3 only when it stops. Replica 2 is the public
    URL, so every OAuth callback lands there."""
    env = {"LATCHKEY_DATABASE_URL": f"{POSTGRES}?sslmode=disable", "LATCHKEY_PROXY_STATS_FLUSH_SECONDS": str(FLUSH_SECONDS)}
    second, peer = start_world(workdir, "dashboard-replica2", env=env)
    first, third = (
        start_replica(second, name, {**env, "LATCHKEY_PROXY_STATS_FLUSH_SECONDS": str(flush)})
        for name, flush in (("dashboard-replica1", FLUSH_SECONDS), ("dashboard-replica3", 3600)))
    yield World(second, peer), first, second, third
    for lk in (first, second, third):
        lk.stop()
    peer.stop()


def with_cookie(s: requests.Session) -> requests.Session:
    """A new client (another replica's view of the same browser) carrying only `s`'s session cookie."""
    other = requests.Session()
    other.cookies.set("lk_admin_session", s.cookies["lk_admin_session"])
    return other


def flushed(on_first: requests.Session, first, on_second: requests.Session, second) -> tuple[int, int] | None:
    """The counts replicas 1 and 2 agree on, once neither holds calls it has not flushed (each adds its own unflushed
    calls to what the database holds); None while they differ."""
    counts = proxy_counts(on_first, first)
    return counts if proxy_counts(on_second, second) == counts else None


def list_page_counts(s: requests.Session, lk) -> str:
    html = s.get(lk.url + "/admin", timeout=30).text
    return re.search(rf'<tr class="integration" data-provider="{PROVIDER}">.*?<td class="proxy">([^<]*)</td>', html, re.S).group(1)


def test_a_session_started_on_one_replica_acts_on_another_and_signing_out_there_ends_it_everywhere(replicas):
    world, first, second, third = replicas
    org, key = world.org_with_agent(apps=(PROVIDER,))
    assert Person(world.peer).connect(world.connect_link(key)).status_code == 200
    [c] = world.connections(key)

    on_first = sign_in(first)
    on_second = with_cookie(on_first)
    page = on_second.get(second.url + f"/admin/integrations/{PROVIDER}?tab=connections", allow_redirects=False, timeout=30)
    assert page.status_code == 200, (page.status_code, page.headers.get("Location"))
    token = csrf_of(page.text)
    # The same session has the same CSRF token on every replica.
    assert csrf_of(on_first.get(first.url + f"/admin/integrations/{PROVIDER}?tab=connections", timeout=30).text) == token

    r = on_second.post(second.url + f"/admin/integrations/{PROVIDER}/connections/{c['id']}/revoke", data={"csrf": token},
                       allow_redirects=False, timeout=30)
    assert r.status_code == 303, (r.status_code, r.text[:300])
    assert first.call("GET", "/v1/connections", key).json()["connections"] == []  # revoked: the agent no longer sees it
    # The message left by replica 2 is shown once, by replica 1.
    html = on_first.get(first.url + r.headers["Location"], timeout=30).text
    assert f"Connection {c['id']} is revoked" in html
    assert 'id="flash"' not in on_second.get(second.url + r.headers["Location"], timeout=30).text

    r = on_second.post(second.url + "/admin/logout", data={"csrf": token}, allow_redirects=False, timeout=30)
    assert r.status_code == 303 and r.headers["Location"] == "/admin/login"
    for lk in (first, second, third):
        r = with_cookie(on_first).get(lk.url + "/admin", allow_redirects=False, timeout=30)
        assert r.status_code == 303 and r.headers["Location"] == "/admin/login", lk.url


def test_every_replicas_dashboard_counts_the_calls_made_through_all_of_them(replicas):
    world, first, second, third = replicas
    org, key = world.org_with_agent(apps=(PROVIDER,))
    assert Person(world.peer).connect(world.connect_link(key)).status_code == 200
    # A session on each replica, so that this test does not depend on sessions being shared.
    on_first, on_second = sign_in(first), sign_in(second)
    # Earlier calls (this module's or another's on this database) are flushed.
    before = wait_until(lambda: flushed(on_first, first, on_second, second), "replicas 1 and 2 to show the same counts")

    for lk, n in ((first, 3), (second, 2)):
        for _ in range(n):
            assert lk.call("GET", f"/v1/proxy/{PROVIDER}/items", key).status_code == 200
    world.peer.set_mode(api="unavailable", count=20)
    try:
        for lk in (first, second):
            assert lk.call("GET", f"/v1/proxy/{PROVIDER}/items", key).status_code == 503
    finally:
        world.peer.set_mode(api="normal")
    expected = (before[0] + 2, before[1] + 7)

    # Each replica shows its own calls at once and the other's after that one's next flush.
    wait_until(lambda: flushed(on_first, first, on_second, second) == expected, f"replicas 1 and 2 to show {expected}",
               interval=0.2)
    errors, calls = expected
    assert list_page_counts(on_second, second).endswith(f"errors ({errors} of {calls} calls)")


def test_a_replica_that_stops_gracefully_flushes_its_counts_first(replicas):
    world, first, second, third = replicas
    org, key = world.org_with_agent(apps=(PROVIDER,))
    assert Person(world.peer).connect(world.connect_link(key)).status_code == 200
    s, on_first = sign_in(second), sign_in(first)
    errors, calls = wait_until(lambda: flushed(on_first, first, s, second), "replicas 1 and 2 to show the same counts")
    for _ in range(4):
        assert third.call("GET", f"/v1/proxy/{PROVIDER}/items", key).status_code == 200
    # Replica 3 flushes only every hour: its calls are its own until it stops (SIGTERM: a graceful stop). Two calls
    # through replica 1, each seen on replica 2 before the next is made, span two of replica 1's flushes, a flush
    # interval apart, after replica 3's calls: a replica flushing every second would have flushed those by now.
    for n in (1, 2):
        assert first.call("GET", f"/v1/proxy/{PROVIDER}/items", key).status_code == 200
        wait_until(lambda: proxy_counts(s, second)[1] >= calls + n, f"replica 1's call {n} on replica 2's dashboard")
    assert proxy_counts(s, second) == (errors, calls + 2)
    third.stop()
    assert third.proc.returncode == 0, third.log_path.read_text()[-2000:]
    assert proxy_counts(s, second) == (errors, calls + 2 + 4)
