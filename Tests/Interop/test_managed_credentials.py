"""Managed or own credentials: the platform's apps and keys beside each org's own, against the Authlib peer.

The metered API-key provider's upstream answers `/api/credential` with the SHA-256 of the bearer value it got, so a test
sees whose key each call carried without the key ever coming back."""
import hashlib
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from conftest import CLIENT_SECRETS, Person


METERED = "metered-key"


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def platform_key(world) -> str:
    return world.platform_key(METERED)[0]


def own_key(world, org: str) -> str:
    token = world.peer_token("alice")
    r = world.lk.admin("POST", "/v1/admin/connections", json={"provider": METERED, "owner": f"org:{org}", "api_key": token})
    assert r.status_code == 201, r.text
    return token


def credential_call(lk, key):
    return requests.get(lk.url + f"/v1/proxy/{METERED}/credential", headers={"Authorization": f"Bearer {key}"}, timeout=60)


def choice(lk, org):
    r = lk.admin("GET", f"/v1/admin/orgs/{org}/integrations/{METERED}")
    assert r.status_code == 200, r.text
    return r.json()


def test_the_platform_owns_managed_apps_and_keys_that_only_the_admin_sees(world):
    lk = world.lk
    platform_connection = world.platform_key(METERED)[1]
    r = lk.admin("PUT", "/v1/admin/apps/authlib-post",
                 json={"owner": "platform", "client_id": "latchkey-post", "client_secret": CLIENT_SECRETS["post"]})
    assert r.status_code == 200 and r.json()["owner"] == "platform", r.text
    listed = lk.admin("GET", "/v1/admin/connections", params={"owner": "platform"}).json()["connections"]
    assert [c["id"] for c in listed if c["provider"] == METERED] == [platform_connection]
    assert all(c["owner"] == "platform" and c["credentials"] == "managed" for c in listed)

    org, key = world.org_with_agent()
    # An agent lists only its chain; naming the platform's key while its org is on its own finds nothing.
    assert platform_connection not in [c["id"] for c in world.connections(key)]
    assert lk.admin("PUT", f"/v1/admin/orgs/{org}/integrations/{METERED}", json={"credentials": "own"}).status_code == 200
    r = lk.call("GET", f"/v1/proxy/{METERED}/credential", key, headers={"Latchkey-Connection": platform_connection})
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", r.text
    # Nor can an agent remove it.
    r = lk.call("DELETE", f"/v1/integrations/{platform_connection}", key)
    assert r.status_code == 404, r.text
    assert [c["state"] for c in lk.admin("GET", "/v1/admin/connections", params={"owner": "platform"}).json()["connections"]
            if c["id"] == platform_connection] == ["active"]

    # Everything but apps and API-key connections refuses the platform, naming the field.
    for method, path, body, field in [
        ("POST", "/v1/connect-sessions", {"provider": "authlib-basic", "owner": "platform"}, "owner"),
        ("POST", "/v1/integrations", {"provider": "authlib-basic", "owner": "platform"}, "owner"),
    ]:
        r = lk.admin(method, path, json=body)
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_owner" and r.json()["error"]["field"] == field, r.text
    # An agent's key reaches no admin route that takes the platform.
    r = lk.call("POST", "/v1/admin/connections", key, json={"provider": METERED, "owner": "platform", "api_key": "x"})
    assert r.status_code in (401, 403)
    # An OAuth provider takes no key, at the platform as anywhere.
    r = lk.admin("POST", "/v1/admin/connections", json={"provider": "authlib-basic", "owner": "platform", "api_key": "x"})
    assert r.status_code == 400 and r.json()["error"]["field"] == "provider"
    events = lk.admin("GET", "/v1/admin/audit", params={"action": "app.registered", "owner": "platform"}).json()["events"]
    assert any(e["owner"] == "platform" and e["provider"] == "authlib-post" for e in events)


def test_charging_follows_the_credential_and_the_upstream_sees_whose_key(world):
    lk = world.lk
    managed = platform_key(world)
    org_a, key_a = world.org_with_agent(apps=())
    org_b, key_b = world.org_with_agent(apps=())
    own_b = own_key(world, org_b)
    assert own_b != managed
    for org in (org_a, org_b):
        assert lk.admin("POST", f"/v1/admin/orgs/{org}/credits", json={"add": 50}).json()["balance"] == 50

    # Without a choice: A has nothing of its own, so it is on the platform's key; B has its own.
    a, b = choice(lk, org_a), choice(lk, org_b)
    assert (a["credentials"], a["choice"], a["platform_offers"], a["org_has_own"]) == ("managed", None, True, False)
    assert (b["credentials"], b["choice"], b["platform_offers"], b["org_has_own"]) == ("own", None, True, True)

    before = len(world.peer.api_log())
    seen_a = [credential_call(lk, key_a) for _ in range(7)]
    seen_b = [credential_call(lk, key_b) for _ in range(5)]
    assert all(r.status_code == 200 for r in seen_a + seen_b), [r.text for r in seen_a + seen_b if r.status_code != 200]
    assert {r.json()["credential_sha256"] for r in seen_a} == {sha(managed)}
    assert {r.json()["credential_sha256"] for r in seen_b} == {sha(own_b)}
    assert len(world.peer.api_log()) - before == 12
    credits_a = lk.admin("GET", f"/v1/admin/orgs/{org_a}/credits").json()
    credits_b = lk.admin("GET", f"/v1/admin/orgs/{org_b}/credits").json()
    assert credits_a["balance"] == 43
    agent_a, agent_b = f"agent:{org_a}/team/proj/agent", f"agent:{org_b}/team/proj/agent"
    assert credits_a["usage"] == [{"provider": METERED, "agent": agent_a, "credentials": "managed", "calls": 7, "credits": 7}]
    # B's calls show as its own: counted, never charged.
    assert credits_b["balance"] == 50
    assert credits_b["usage"] == [{"provider": METERED, "agent": agent_b, "credentials": "own", "calls": 5, "credits": 0}]
    [day_a] = credits_a["daily"]
    assert (day_a["provider"], day_a["credentials"], day_a["calls"], day_a["credits"]) == (METERED, "managed", 7, 7)
    assert time.strftime("%Y-%m-%d", time.gmtime()) == day_a["day"]
    for r in seen_a + seen_b:
        assert managed not in r.text and own_b not in r.text


def test_switching_an_org_from_managed_to_own_moves_the_next_call_and_stops_the_charge(world):
    lk = world.lk
    managed = platform_key(world)
    org, key = world.org_with_agent(apps=())
    assert lk.admin("POST", f"/v1/admin/orgs/{org}/credits", json={"add": 10}).status_code == 200
    r = lk.admin("PUT", f"/v1/admin/orgs/{org}/integrations/{METERED}", json={"credentials": "managed"})
    assert r.status_code == 200 and (r.json()["credentials"], r.json()["choice"]) == ("managed", "managed"), r.text
    assert credential_call(lk, key).json()["credential_sha256"] == sha(managed)
    assert lk.admin("GET", f"/v1/admin/orgs/{org}/credits").json()["balance"] == 9

    # On `own` with nothing of its own, a call finds no key: the platform's is not used behind the org's back.
    r = lk.admin("PUT", f"/v1/admin/orgs/{org}/integrations/{METERED}", json={"credentials": "own"})
    assert r.status_code == 200 and (r.json()["credentials"], r.json()["org_has_own"]) == ("own", False), r.text
    r = credential_call(lk, key)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", r.text

    own = own_key(world, org)
    for _ in range(3):
        r = credential_call(lk, key)
        assert r.status_code == 200 and r.json()["credential_sha256"] == sha(own), r.text
    assert lk.admin("GET", f"/v1/admin/orgs/{org}/credits").json()["balance"] == 9
    shown = choice(lk, org)
    assert (shown["credentials"], shown["choice"], shown["org_has_own"]) == ("own", "own", True)
    events = lk.admin("GET", "/v1/admin/audit", params={"action": "org.credentials_chosen", "owner": f"org:{org}"}).json()["events"]
    assert [e["detail"] for e in events] == ["own", "managed"]
    assert all(e["actor"] == "admin" and e["provider"] == METERED for e in events)


def test_a_bad_choice_gets_a_clear_error_and_changes_nothing(world):
    lk = world.lk
    platform_key(world)
    org, _ = world.org_with_agent(apps=())
    path = f"/v1/admin/orgs/{org}/integrations/{METERED}"
    for body, field in [({"credentials": "borrowed"}, "credentials"), ({}, "credentials"), ({"credentials": 1}, "credentials"),
                        ({"credentials": "own", "agents_may_choose": "yes"}, "agents_may_choose")]:
        r = lk.admin("PUT", path, json=body)
        assert r.status_code == 400 and r.json()["error"]["field"] == field, (body, r.text)
    # The platform offers no app of authlib-nopkce: managed cannot be chosen for it.
    r = lk.admin("PUT", f"/v1/admin/orgs/{org}/integrations/authlib-nopkce", json={"credentials": "managed"})
    assert r.status_code == 400 and r.json()["error"]["field"] == "credentials" and "platform" in r.json()["error"]["message"]
    r = lk.admin("PUT", f"/v1/admin/orgs/nobody-{org}/integrations/{METERED}", json={"credentials": "own"})
    assert r.status_code == 404 and r.json()["error"]["field"] == "org"
    r = lk.admin("PUT", f"/v1/admin/orgs/{org}/integrations/no-such-provider", json={"credentials": "own"})
    assert r.status_code == 404
    assert choice(lk, org)["choice"] is None
    listed = {i["provider"]: i for i in lk.admin("GET", f"/v1/admin/orgs/{org}/integrations").json()["integrations"]}
    assert listed[METERED]["credentials"] == "managed" and listed["authlib-nopkce"]["credentials"] == "own"


def test_concurrent_managed_calls_draw_exactly_the_pool_while_own_calls_draw_nothing(world):
    lk, peer = world.lk, world.peer
    managed = platform_key(world)
    org_a, key_a = world.org_with_agent(apps=())
    org_b, key_b = world.org_with_agent(apps=())
    own_b = own_key(world, org_b)
    assert lk.admin("POST", f"/v1/admin/orgs/{org_a}/credits", json={"add": 100}).json()["balance"] == 100
    assert lk.admin("POST", f"/v1/admin/orgs/{org_b}/credits", json={"add": 3}).json()["balance"] == 3
    before = len(peer.api_log())

    # 500 managed calls of A and 100 own calls of B, interleaved, in flight together.
    keys = [key_b if i % 6 == 5 else key_a for i in range(600)]
    with ThreadPoolExecutor(max_workers=48) as pool:
        responses = list(pool.map(lambda k: (k, credential_call(lk, k)), keys))
    a = [r for k, r in responses if k == key_a]
    b = [r for k, r in responses if k == key_b]
    statuses = [r.status_code for r in a]
    assert len(a) == 500 and statuses.count(200) == 100, {s: statuses.count(s) for s in set(statuses)}
    assert statuses.count(402) == 400
    refused = next(r for r in a if r.status_code == 402)
    assert refused.json()["error"]["code"] == "credits_exhausted" and refused.headers["Latchkey-Error"] == "credits_exhausted"
    assert [r.status_code for r in b] == [200] * 100
    assert {r.json()["credential_sha256"] for r in a if r.status_code == 200} == {sha(managed)}
    assert {r.json()["credential_sha256"] for r in b} == {sha(own_b)}
    assert len(peer.api_log()) - before == 200
    credits_a = lk.admin("GET", f"/v1/admin/orgs/{org_a}/credits").json()
    assert credits_a["balance"] == 0
    assert credits_a["usage"] == [
        {"provider": METERED, "agent": f"agent:{org_a}/team/proj/agent", "credentials": "managed", "calls": 100, "credits": 100}]
    credits_b = lk.admin("GET", f"/v1/admin/orgs/{org_b}/credits").json()
    assert credits_b["balance"] == 3
    assert credits_b["usage"] == [
        {"provider": METERED, "agent": f"agent:{org_b}/team/proj/agent", "credentials": "own", "calls": 100, "credits": 0}]


MANAGED_OAUTH = "authlib-metered"  # an OAuth provider, metered when it runs on the platform's app


def test_a_person_connects_through_the_platforms_app_and_the_connection_works_and_refreshes(world):
    lk, peer = world.lk, world.peer
    r = lk.admin("PUT", f"/v1/admin/apps/{MANAGED_OAUTH}",
                 json={"owner": "platform", "client_id": "latchkey-basic", "client_secret": CLIENT_SECRETS["basic"]})
    assert r.status_code == 200, r.text
    org, key = world.org_with_agent(apps=("authlib-basic",))  # no app of the provider at the org
    assert lk.admin("POST", f"/v1/admin/orgs/{org}/credits", json={"add": 10}).status_code == 200
    shown = lk.admin("GET", f"/v1/admin/orgs/{org}/integrations/{MANAGED_OAUTH}").json()
    assert (shown["credentials"], shown["platform_offers"], shown["org_has_own"]) == ("managed", True, False)

    landed = Person(peer).connect(world.connect_link(key, provider=MANAGED_OAUTH))
    assert landed.status_code in (200, 303), landed.text[:300]
    [connection] = [c for c in world.connections(key) if c["provider"] == MANAGED_OAUTH]
    assert (connection["state"], connection["owner"], connection["credentials"]) == ("active", f"agent:{org}/team/proj/agent", "managed")
    r = lk.call("GET", f"/v1/proxy/{MANAGED_OAUTH}/echo", key)
    assert r.status_code == 200 and r.json()["user"] == "alice", r.text
    # A forced refresh goes to the platform's app: the org has none that could have served it.
    refreshes = peer.stats()["token_requests"]
    r = lk.admin("POST", f"/v1/admin/connections/{connection['id']}/refresh")
    assert r.status_code == 200, r.text
    assert peer.stats()["token_requests"] == refreshes + 1
    r = lk.call("GET", f"/v1/proxy/{MANAGED_OAUTH}/echo", key)
    assert r.status_code == 200 and r.json()["user"] == "alice"
    # Tokens of the platform's app are managed use: each call drew one credit.
    assert lk.admin("GET", f"/v1/admin/orgs/{org}/credits").json()["balance"] == 8

    # The org brings its own app and switches: the connection made on the platform's app keeps working on it (and
    # is still metered) until a person reconnects it, which runs on the org's app.
    assert lk.admin("PUT", f"/v1/admin/apps/{MANAGED_OAUTH}", json={
        "owner": f"org:{org}", "client_id": "latchkey-basic", "client_secret": CLIENT_SECRETS["basic"]}).status_code == 200
    assert lk.admin("PUT", f"/v1/admin/orgs/{org}/integrations/{MANAGED_OAUTH}", json={"credentials": "own"}).status_code == 200
    assert lk.call("GET", f"/v1/proxy/{MANAGED_OAUTH}/echo", key).status_code == 200
    assert lk.admin("GET", f"/v1/admin/orgs/{org}/credits").json()["balance"] == 7
    Person(peer).connect(world.connect_link(key, provider=MANAGED_OAUTH, connection_id=connection["id"]))
    [again] = [c for c in world.connections(key) if c["provider"] == MANAGED_OAUTH]
    assert (again["id"], again["credentials"]) == (connection["id"], "own")
    for _ in range(3):
        assert lk.call("GET", f"/v1/proxy/{MANAGED_OAUTH}/echo", key).status_code == 200
    assert lk.admin("GET", f"/v1/admin/orgs/{org}/credits").json()["balance"] == 7


def test_an_agent_names_credentials_at_install_only_where_its_org_lets_agents_choose(world):
    lk = world.lk
    managed = platform_key(world)
    org, key = world.org_with_agent(apps=())
    other = world.agent(org, "team", "proj", "other")
    own = own_key(world, org)
    assert lk.admin("POST", f"/v1/admin/orgs/{org}/credits", json={"add": 10}).status_code == 200
    assert choice(lk, org)["credentials"] == "own"

    r = lk.call("POST", "/v1/integrations", key, json={"provider": METERED, "credentials": "managed"})
    assert r.status_code == 403 and r.json()["error"]["field"] == "credentials" and "admin" in r.json()["error"]["message"], r.text
    r = lk.call("POST", "/v1/integrations", key, json={"provider": METERED, "credentials": "borrowed"})
    assert r.status_code == 400 and r.json()["error"]["field"] == "credentials"
    assert credential_call(lk, key).json()["credential_sha256"] == sha(own)

    r = lk.admin("PUT", f"/v1/admin/orgs/{org}/integrations/{METERED}", json={"credentials": "own", "agents_may_choose": True})
    assert r.status_code == 200 and r.json()["agents_may_choose"] is True
    r = lk.call("POST", "/v1/integrations", key, json={"provider": METERED, "credentials": "managed"})
    assert r.status_code == 201 and (r.json()["state"], r.json()["credentials"]) == ("installed", "managed"), r.text
    # The agent that asked is on the platform's key, and pays for it; the other agent keeps the org's own, free.
    assert credential_call(lk, key).json()["credential_sha256"] == sha(managed)
    assert credential_call(lk, other).json()["credential_sha256"] == sha(own)
    assert lk.admin("GET", f"/v1/admin/orgs/{org}/credits").json()["balance"] == 9
    # Asking again for the org's own turns the install back; the agent is on the org's key again.
    r = lk.call("POST", "/v1/integrations", key, json={"provider": METERED, "credentials": "own"})
    assert r.status_code == 200 and r.json()["credentials"] == "own", r.text
    assert credential_call(lk, key).json()["credential_sha256"] == sha(own)
    assert lk.admin("GET", f"/v1/admin/orgs/{org}/credits").json()["balance"] == 9
