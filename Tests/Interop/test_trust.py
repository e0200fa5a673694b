"""A connection stays bound to its account and to its person (issue 11).

Each test is one finding of the attack test, tried against the real Authlib provider with three of its users (alice,
bob, mallory). Where Latchkey refuses something, the stored connections must be exactly as they were.
"""

from __future__ import annotations

import requests

from conftest import CLIENT_SECRETS, Person
from peers.oauth_peer import PeerClient

# The peer's client that the authlib-basic app uses, to ask the provider (RFC 7662) whether a token still lives.
BASIC = PeerClient("latchkey-basic", CLIENT_SECRETS["basic"], "client_secret_basic", "")


def admin_link(world, owner: str, provider: str = "authlib-basic", **body) -> str:
    r = world.lk.admin("POST", "/v1/connect-sessions", json={"provider": provider, "owner": owner, **body})
    assert r.status_code == 201, r.text
    return r.json()["url"]


def stored(world, owner: str) -> list:
    """What the admin listing shows under `owner`: the stored connections, every field."""
    r = world.lk.admin("GET", f"/v1/admin/connections?owner={owner}")
    assert r.status_code == 200, r.text
    return r.json()["connections"]


def refused_refresh(world, key: str) -> str:
    """The provider refuses the refresh token: the agent's next call gets 424 and a reconnect link, which is returned."""
    world.peer.expire_access_tokens()
    world.peer.set_mode(token="invalid_grant")
    try:
        r = world.lk.call("GET", "/v1/proxy/authlib-basic/items", key)
    finally:
        world.peer.set_mode(token="normal")
    assert r.status_code == 424, r.text
    return r.json()["error"]["connect_url"]


def new_tokens(peer, before: set, user: str) -> list:
    return [t["value"] for t in peer.issued(detail=True) if t["value"] not in before and t["user"] == user]


def audit(world, org: str, action: str) -> list:
    r = world.lk.admin("GET", f"/v1/admin/audit?owner=org:{org}&action={action}")
    assert r.status_code == 200, r.text
    return r.json()["events"]


def error_code(page) -> str:
    return page.text.split('id="error-code">', 1)[1].split("<", 1)[0] if 'id="error-code">' in page.text else ""


# Finding 1: a reconnect link finished by another account swapped the account behind a shared connection.

def test_a_reconnect_link_finished_by_another_account_is_refused_and_changes_nothing(world):
    lk, peer = world.lk, world.peer
    org, key = world.org_with_agent()
    Person(peer).connect(admin_link(world, f"org:{org}"))  # alice connects the org's shared connection
    link = refused_refresh(world, key)
    before = stored(world, f"org:{org}")
    assert [(c["account"], c["state"]) for c in before] == [("Alice Example", "needs_reauth")]

    # The connect page says which account to use.
    page = Person(peer).open_connect_link(link)
    assert page.status_code == 200 and 'id="expected-account">Alice Example<' in page.text

    issued = set(peer.issued())
    r = Person(peer).connect(link, username="bob", password="bob-password")
    assert r.status_code == 409, r.text[:300]
    assert error_code(r) == "account_mismatch" and "Alice Example" in r.text
    assert stored(world, f"org:{org}") == before
    # Bob's grant, made for nothing, is revoked at the provider.
    bobs = new_tokens(peer, issued, "bob")
    assert len(bobs) == 2
    assert [peer.introspect(t, BASIC)["active"] for t in bobs] == [False, False]
    [event] = audit(world, org, "connection.account_mismatch")
    assert event["outcome"] == "failure" and "Alice Example" in event["detail"] and "Bob Example" in event["detail"]

    # The link still works for the right person, who keeps the same connection.
    r = Person(peer).connect(link)
    assert r.status_code == 200, r.text[:300]
    [after] = stored(world, f"org:{org}")
    assert (after["id"], after["account"], after["state"]) == (before[0]["id"], "Alice Example", "active")
    assert lk.call("GET", "/v1/proxy/authlib-basic/items", key).json()[0]["owner"] == "alice"


def test_an_admins_reconnect_link_is_bound_to_the_account_too(world):
    peer = world.peer
    org, key = world.org_with_agent()
    Person(peer).connect(admin_link(world, f"project:{org}/team/proj"))
    [c] = stored(world, f"project:{org}/team/proj")
    link = admin_link(world, f"project:{org}/team/proj", connection_id=c["id"])
    r = Person(peer).connect(link, username="mallory", password="mallory-password")
    assert r.status_code == 409 and error_code(r) == "account_mismatch"
    assert stored(world, f"project:{org}/team/proj") == [c]
    r = world.lk.call("GET", "/v1/proxy/authlib-basic/items", key)
    assert r.status_code == 200 and r.json()[0]["owner"] == "alice"


# Finding 2: a stale link revived a revoked connection.

def test_a_revoked_connection_is_never_brought_back_by_an_older_link(world):
    lk, peer = world.lk, world.peer
    org, key = world.org_with_agent()
    Person(peer).connect(world.connect_link(key))
    link = refused_refresh(world, key)
    [c] = world.connections(key)
    person = Person(peer)
    started = person.start(link)  # a flow already at the provider when the admin revokes
    assert started.status_code == 303
    assert lk.admin("POST", f"/v1/admin/connections/{c['id']}/revoke").status_code == 200
    revoked = stored(world, f"agent:{org}/team/proj/agent")

    page = Person(peer).open_connect_link(link)
    assert page.status_code == 410 and error_code(page) == "session_revoked"
    r = person.callback(person.consent(started.headers["Location"]))
    assert r.status_code == 410 and error_code(r) == "session_revoked"
    assert stored(world, f"agent:{org}/team/proj/agent") == revoked
    assert [x["state"] for x in revoked] == ["revoked"]


# Finding 4: links outlived their owner.

def test_a_link_dies_when_its_owner_or_an_owner_above_it_is_revoked(world):
    lk, peer = world.lk, world.peer
    for revoked_owner in ("agent", "team"):
        org, key = world.org_with_agent()
        link = world.connect_link(key)
        person = Person(peer)
        started = person.start(link)
        assert started.status_code == 303
        target = f"agent:{org}/team/proj/agent" if revoked_owner == "agent" else f"team:{org}/team"
        assert lk.admin("POST", f"/v1/admin/owners/{target}/revoke").status_code == 200

        r = person.callback(person.consent(started.headers["Location"]))
        assert r.status_code == 410 and error_code(r) == "session_revoked", (revoked_owner, r.text[:300])
        assert stored(world, f"org:{org}") == []


def test_a_link_dies_when_its_integration_is_removed(world):
    lk, peer = world.lk, world.peer
    org, key = world.org_with_agent()
    installed = lk.call("POST", "/v1/integrations", key, json={"provider": "authlib-basic"}).json()
    link = world.connect_link(key)
    assert lk.call("DELETE", f"/v1/integrations/{installed['id']}", key).status_code == 200
    page = Person(peer).open_connect_link(link)
    assert page.status_code == 410 and error_code(page) == "session_revoked"
    assert [c["state"] for c in stored(world, f"org:{org}")] == ["revoked"]


# Finding 6: the replaced grant stayed live after a reconnect.

def test_a_reconnect_revokes_the_grant_it_replaces(world):
    lk, peer = world.lk, world.peer
    org, key = world.org_with_agent()
    issued = set(peer.issued())
    Person(peer).connect(world.connect_link(key))
    old = new_tokens(peer, issued, "alice")
    assert len(old) == 2 and all(peer.introspect(t, BASIC)["active"] for t in old)
    [c] = world.connections(key)

    issued = set(peer.issued())
    r = Person(peer).connect(world.connect_link(key, connection_id=c["id"]))
    assert r.status_code == 200, r.text[:300]
    fresh = new_tokens(peer, issued, "alice")
    assert [peer.introspect(t, BASIC)["active"] for t in old] == [False, False]
    assert [peer.introspect(t, BASIC)["active"] for t in fresh] == [True, True]
    assert lk.call("GET", "/v1/proxy/authlib-basic/items", key).status_code == 200
    [event] = audit(world, org, "connection.replaced_grant_revoked")
    assert event["outcome"] == "success" and event["connection"] == c["id"]
    [reconnected] = [e for e in audit(world, org, "connection.reconnected")]
    assert "Alice Example" in reconnected["detail"]


# Finding 7: a leaked callback URL used the state up.

def test_a_callback_without_the_flow_cookie_is_refused_and_leaves_the_flow_usable(world):
    peer = world.peer
    org, key = world.org_with_agent()
    person = Person(peer)
    started = person.start(world.connect_link(key))
    callback = person.consent(started.headers["Location"])

    leaked = requests.get(callback, allow_redirects=False, timeout=30)  # another browser, no flow cookie
    assert leaked.status_code == 400 and error_code(leaked) == "invalid_state"
    assert world.connections(key) == []

    r = person.callback(callback)
    assert r.status_code == 200, r.text[:300]
    assert [c["state"] for c in world.connections(key)] == ["active"]
