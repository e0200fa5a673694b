"""Tokens stay fresh and admins stay in control: refresh on use, forced refresh, revocation, crypto-shredding."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import requests

from conftest import Person, wait_past, wait_until


def test_200_concurrent_calls_just_after_expiry_share_one_refresh(on_use_world):
    world = on_use_world
    lk, peer = world.lk, world.peer
    org, key = world.org_with_agent()
    Person(peer).connect(world.connect_link(key))
    refreshes = peer.stats()["refresh_grants"]
    wait_past(world.token_expiry(key), "the access token to expire (no background refresher in this world)")

    def call(_):
        return requests.get(lk.url + "/v1/proxy/authlib-basic/items", headers={"Authorization": f"Bearer {key}"}, timeout=60)

    with ThreadPoolExecutor(max_workers=50) as pool:
        statuses = [r.status_code for r in pool.map(call, range(200))]
    assert statuses == [200] * 200
    # Exactly one refresh for the 200 callers.
    assert peer.stats()["refresh_grants"] == refreshes + 1
    [c] = world.connections(key)
    assert c["state"] == "active" and c["last_refreshed_at"]


def test_a_rotated_refresh_token_is_kept_and_reused_across_refreshes(five_second_world):
    world = five_second_world
    lk, peer = world.lk, world.peer
    org, key = world.org_with_agent()
    Person(peer).connect(world.connect_link(key))
    [c] = world.connections(key)
    refreshes = peer.stats()["refresh_grants"]

    def refreshed() -> int:
        events = lk.admin("GET", "/v1/admin/audit", params={"connection": c["id"]}).json()["events"]
        return len([e for e in events if e["action"] in ("connection.refreshed", "connection.refresh_failed")])

    for n in range(1, 4):
        # The background refresher renews the token before it expires, each time with the newest refresh token.
        wait_until(lambda: refreshed() >= n, f"refresh {n} of {c['id']}")
        assert lk.call("GET", "/v1/proxy/authlib-basic/items", key).status_code == 200
    # Each refresh used the newest refresh token: the provider (which fails reused ones at once) never refused one.
    [c] = world.connections(key)
    assert c["state"] == "active" and c["last_error"] is None
    assert peer.stats()["refresh_grants"] >= refreshes + 3


def test_an_admin_forces_a_refresh_and_revokes_a_connection(world):
    lk, peer = world.lk, world.peer
    org, key = world.org_with_agent()
    Person(peer).connect(world.connect_link(key))
    [c] = world.connections(key)
    refreshes = peer.stats()["refresh_grants"]
    r = lk.admin("POST", f"/v1/admin/connections/{c['id']}/refresh")
    assert r.status_code == 200 and r.json()["state"] == "active"
    assert peer.stats()["refresh_grants"] == refreshes + 1
    assert r.json()["last_refreshed_at"] >= c["last_refreshed_at"]
    assert lk.call("GET", "/v1/proxy/authlib-basic/items", key).status_code == 200
    assert lk.call("POST", f"/v1/admin/connections/{c['id']}/refresh", key).status_code == 403  # agents cannot

    revocations = peer.stats()["revocations"]
    r = lk.admin("POST", f"/v1/admin/connections/{c['id']}/revoke")
    assert r.status_code == 200 and r.json()["state"] == "revoked"
    assert peer.stats()["revocations"] == revocations + 2
    assert lk.call("GET", "/v1/proxy/authlib-basic/items", key).status_code == 404
    r = lk.admin("POST", "/v1/admin/connections/conn_nope/revoke")
    assert r.status_code == 404


def test_revoking_everything_under_a_compromised_agent(world):
    lk, peer = world.lk, world.peer
    org, key = world.org_with_agent()
    other = world.agent(org, "team", "proj", "bystander")
    Person(peer).connect(world.connect_link(key))
    Person(peer).connect(world.connect_link(key, provider="authlib-post"))
    Person(peer).connect(world.connect_link(other))
    owner = f"agent:{org}/team/proj/agent"
    r = lk.admin("POST", f"/v1/admin/owners/{owner}/revoke")
    assert r.status_code == 200, r.text
    assert r.json() == {"owner": owner, "connections_revoked": 2, "agent_keys_revoked": 1}
    # The agent's key no longer works; its connections are revoked; its data key is destroyed.
    assert lk.call("GET", "/v1/connections", key).status_code == 401
    listing = lk.admin("GET", f"/v1/admin/connections?owner={owner}").json()["connections"]
    assert {c["state"] for c in listing} == {"revoked"}
    audit = lk.admin("GET", f"/v1/admin/audit?owner={owner}").json()["events"]
    assert "owner.data_key_destroyed" in [e["action"] for e in audit]
    # The bystander in the same project is untouched.
    assert lk.call("GET", "/v1/proxy/authlib-basic/items", other).status_code == 200
    # Bad references are clear errors.
    assert lk.admin("POST", "/v1/admin/owners/agent:Bad/revoke").json()["error"]["code"] == "invalid_owner"
    assert lk.admin("POST", f"/v1/admin/owners/org:{org}-missing/revoke").status_code == 404


def test_a_provider_outage_is_backed_off_and_recovered_from(five_second_world):
    """The token endpoint answers 503 for 30 seconds while an agent calls four times a second."""
    world = five_second_world
    lk, peer = world.lk, world.peer
    org, key = world.org_with_agent()
    Person(peer).connect(world.connect_link(key))
    failed_before = peer.stats()["failed_token_requests"]
    peer.set_mode(token="unavailable", for_seconds=30)
    started = time.monotonic()
    timeline = []
    # Backoff doubles from 1 s and is capped at a minute, so recovery comes at most about a minute after the
    # provider does; stop once calls have worked again for a while after the outage.
    while time.monotonic() - started < 100:
        r = lk.call("GET", "/v1/proxy/authlib-basic/items", key)
        at = round(time.monotonic() - started, 1)
        timeline.append((at, r.status_code))
        recovered = [t for t, s in timeline if t > 30 and s == 200]
        if recovered and timeline[-1][1] == 200 and at - recovered[0] > 3:
            break
        time.sleep(0.25)
    failed = peer.stats()["failed_token_requests"] - failed_before
    statuses = [s for _, s in timeline]
    # Calls kept working while the old token was valid, then failed clearly, then recovered with the provider.
    assert statuses[0] == 200 and statuses[-1] == 200
    assert set(statuses) <= {200, 502}
    first_failure = next(t for t, s in timeline if s != 200)
    back = next(t for t, s in timeline if t > first_failure and s == 200)
    assert 30 <= back <= 30 + 65, timeline
    [c] = world.connections(key)
    assert c["state"] == "active" and c["last_error"] is None
    # Over a hundred calls, but only a handful of refresh attempts for this connection (backoff 1, 2, 4, 8, 16,
    # 32 s, jittered), each audited. (The provider's own count also includes other connections refreshed meanwhile.)
    audit = lk.admin("GET", f"/v1/admin/audit?owner=agent:{org}/team/proj/agent").json()["events"]
    attempts = len([e for e in audit if e["action"] == "connection.refresh_failed" and e["connection"] == c["id"]])
    assert len(timeline) > 100 and 3 <= attempts <= 8, (attempts, timeline)
    assert failed >= attempts
    print(f"outage: {len(timeline)} calls, {attempts} refresh attempts failed, first failure at {first_failure} s, "
          f"back at {back} s")


def test_a_client_secret_rotation_takes_effect_on_the_next_refresh_without_downtime(world):
    """The provider holds two secrets during the rotation; Latchkey switches on PUT /v1/admin/apps; the old secret
    is then retired at the provider, and calls never stop working."""
    import secrets as pysecrets
    import threading

    from peers.oauth_peer import PeerClient

    lk, peer = world.lk, world.peer
    org, key = world.org_with_agent(apps=())
    client_id = world.unique("rotating-")
    old, new = "old-" + pysecrets.token_urlsafe(16), "new-" + pysecrets.token_urlsafe(16)
    client = PeerClient(client_id, old, "client_secret_basic", f"{lk.url}/oauth/callback")
    peer.add_client(client)
    r = lk.admin("PUT", "/v1/admin/apps/authlib-basic", json={"owner": f"org:{org}", "client_id": client_id, "client_secret": old})
    assert r.status_code == 200, r.text
    Person(peer).connect(world.connect_link(key))
    [c] = world.connections(key)

    statuses, stop = [], threading.Event()

    def keep_calling():
        while not stop.is_set():
            statuses.append(lk.call("GET", "/v1/proxy/authlib-basic/items", key).status_code)
            time.sleep(0.05)

    caller = threading.Thread(target=keep_calling)
    caller.start()
    try:
        # 1. The provider accepts a second secret; 2. Latchkey gets it; 3. the next refresh uses it.
        peer.add_client(PeerClient(client_id, new, "client_secret_basic", client.redirect_uri), also_accept=[old])
        r = lk.admin("PUT", "/v1/admin/apps/authlib-basic", json={"owner": f"org:{org}", "client_id": client_id, "client_secret": new})
        assert r.status_code == 200, r.text
        assert new not in r.text and old not in r.text
        before_new = peer.client_auth_count(client_id, new)
        assert lk.admin("POST", f"/v1/admin/connections/{c['id']}/refresh").status_code == 200
        assert peer.client_auth_count(client_id, new) == before_new + 1
        # 4. The old secret is retired at the provider: refreshes go on working with the new one.
        peer.add_client(PeerClient(client_id, new, "client_secret_basic", client.redirect_uri))
        used_old = peer.client_auth_count(client_id, old)
        assert lk.admin("POST", f"/v1/admin/connections/{c['id']}/refresh").status_code == 200
        assert peer.client_auth_count(client_id, old) == used_old
        wait_until(lambda: len(statuses) >= 20, "20 calls during the rotation")
    finally:
        stop.set()
        caller.join()
    assert len(statuses) >= 20 and set(statuses) == {200}
    [after] = world.connections(key)
    assert after["state"] == "active" and after["last_error"] is None
    # Neither secret is in the database or the log as plain bytes.
    for secret in (old, new):
        assert secret.encode() not in lk.db_bytes() and secret.encode() not in lk.log_path.read_bytes()


def test_revocation_reaches_the_provider_and_the_ciphertext_is_gone(world):
    """The provider's own introspection endpoint (RFC 7662) says the tokens died; the database holds no credential."""
    import sqlite3

    from conftest import CLIENT_SECRETS
    from peers.oauth_peer import PeerClient

    lk, peer = world.lk, world.peer
    asker = PeerClient("latchkey-basic", CLIENT_SECRETS["basic"], "client_secret_basic", f"{lk.url}/oauth/callback")
    for remove in ("admin_revoke", "agent_delete"):
        org, key = world.org_with_agent(apps=("authlib-basic",))
        before = len(peer.issued(detail=True))
        Person(peer).connect(world.connect_link(key))
        [c] = world.connections(key)
        mine = [t for t in peer.issued(detail=True)[before:] if t["grant_type"] == "authorization_code"]
        tokens = {t["type"]: t["value"] for t in mine}
        assert set(tokens) == {"access_token", "refresh_token"}
        for value in tokens.values():
            answer = peer.introspect(value, asker)
            assert answer["active"] is True and answer["username"] == "alice"
        with sqlite3.connect(lk.db_path) as db:
            assert db.execute("SELECT credential IS NOT NULL FROM connections WHERE id = ?", (c["id"],)).fetchone() == (1,)

        if remove == "admin_revoke":
            assert lk.admin("POST", f"/v1/admin/connections/{c['id']}/revoke").status_code == 200
        else:
            assert lk.call("DELETE", f"/v1/integrations/{c['id']}", key).status_code == 200
        for kind, value in tokens.items():
            assert peer.introspect(value, asker) == {"active": False}, kind
        with sqlite3.connect(lk.db_path) as db:
            row = db.execute("SELECT state, credential FROM connections WHERE id = ?", (c["id"],)).fetchone()
        assert row == ("revoked", None)
        for value in tokens.values():
            assert value.encode() not in lk.db_bytes()
        events = lk.admin("GET", "/v1/admin/audit", params={"connection": c["id"]}).json()["events"]
        assert "connection.revoked_at_provider" in {e["action"] for e in events}
