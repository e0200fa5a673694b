"""The audit log: every install, connect, refresh, revoke and admin action, filtered through the API and the
CLI, and never a secret."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from conftest import CLIENT_SECRETS, LATCHKEY_BIN, Person


def audit(lk, **params) -> dict:
    r = lk.admin("GET", "/v1/admin/audit", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def cli(lk, *args, admin_key=None) -> subprocess.CompletedProcess:
    env = {"LATCHKEY_URL": lk.url, "LATCHKEY_ADMIN_KEY": admin_key or lk.admin_key, "PATH": "/usr/bin:/bin"}
    return subprocess.run([LATCHKEY_BIN, "admin", "audit", *args], capture_output=True, text=True, env=env, timeout=60)


@pytest.fixture(scope="module")
def history(world):
    """One org's life: set-up, install, connect, a forced refresh, a failed refresh, removal."""
    lk, peer = world.lk, world.peer
    org, key = world.org_with_agent(apps=("authlib-basic",))
    assert lk.call("POST", "/v1/integrations", key, json={"provider": "authlib-basic"}).status_code == 201
    Person(peer).connect(world.connect_link(key))
    [c] = world.connections(key)
    assert lk.admin("POST", f"/v1/admin/connections/{c['id']}/refresh").status_code == 200
    peer.set_mode(token="unavailable", for_seconds=3)
    try:
        r = lk.admin("POST", f"/v1/admin/connections/{c['id']}/refresh")
        assert r.status_code >= 500, r.text
    finally:
        peer.set_mode(token="normal")
    assert lk.call("DELETE", f"/v1/integrations/{c['id']}", key).status_code in (200, 204)
    return org, c["id"]


def test_every_step_of_an_integrations_life_is_audited(world, history):
    org, connection = history
    events = audit(world.lk, owner=f"org:{org}", limit=1000)["events"]
    actions = {e["action"] for e in events}
    assert {
        "owner.created", "app.registered", "integration.installed", "connect_session.created",
        "connection.connected", "connection.refresh_forced", "connection.refreshed", "connection.refresh_failed",
        "connection.revoked_at_provider", "integration.removed",
    } <= actions, actions
    for e in events:
        assert set(e) >= {"id", "at", "actor", "action", "outcome"}
        assert e["owner"].split(":", 1)[1].startswith(org)
    failed = [e for e in events if e["action"] == "connection.refresh_failed"]
    assert failed and all(e["outcome"] == "failure" and e["connection"] == connection and e["detail"] for e in failed)
    # Who did what: the admin forced the refresh, the agent removed the integration, the system refreshed.
    assert {e["actor"] for e in events if e["action"] == "connection.refresh_forced"} == {"admin"}
    assert {e["actor"] for e in events if e["action"] == "integration.removed"} == {f"agent:{org}/team/proj/agent"}


def test_filters_narrow_the_log_and_pages_continue_where_the_last_ended(world, history):
    lk = world.lk
    org, connection = history
    only = audit(lk, owner=f"org:{org}", action="connection.")["events"]
    assert only and all(e["action"].startswith("connection.") for e in only)
    assert all(e["outcome"] == "failure" for e in audit(lk, owner=f"org:{org}", outcome="failure")["events"])
    by_connection = audit(lk, connection=connection)["events"]
    assert by_connection and all(e["connection"] == connection for e in by_connection)
    assert audit(lk, owner=f"org:{org}", since=int(time.time()) + 3600)["events"] == []
    everything = audit(lk, owner=f"org:{org}", limit=1000)["events"]
    first = audit(lk, owner=f"org:{org}", limit=3)
    assert len(first["events"]) == 3 and first["next_before"] == first["events"][-1]["id"]
    second = audit(lk, owner=f"org:{org}", limit=3, before=first["next_before"])["events"]
    assert [e["id"] for e in first["events"] + second] == [e["id"] for e in everything[:6]]


@pytest.mark.parametrize("params,field", [
    ({"since": "yesterday"}, "since"), ({"until": "2026-13-45"}, "until"), ({"limit": "0"}, "limit"),
    ({"limit": "1001"}, "limit"), ({"outcome": "maybe"}, "outcome"), ({"owner": "org:Not Valid"}, "owner"),
    ({"before": "-1"}, "before"), ({"action": "a b"}, "action"),
])
def test_a_bad_filter_is_refused_naming_the_field(world, params, field):
    r = world.lk.admin("GET", "/v1/admin/audit", params=params)
    assert r.status_code == 400 and r.json()["error"]["field"] == field, r.text


def test_agents_cannot_read_the_audit_log(world):
    _org, key = world.org_with_agent(apps=())
    r = world.lk.call("GET", "/v1/admin/audit", key)
    assert r.status_code in (401, 403)


def test_the_cli_prints_a_table_or_json_and_exits_2_on_a_wrong_key(world, history):
    lk = world.lk
    org, connection = history
    table = cli(lk, "--owner", f"org:{org}", "--action", "connection.", "--since", "1h")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["TIME", "ACTOR", "ACTION", "OWNER", "PROVIDER", "CONNECTION", "OUTCOME", "DETAIL"]
    assert len(lines) > 3 and all(connection in line or "connection." in line for line in lines[1:])
    as_json = cli(lk, "--owner", f"org:{org}", "--outcome", "failure", "--json")
    assert as_json.returncode == 0
    events = json.loads(as_json.stdout)["events"]
    assert events and all(e["outcome"] == "failure" for e in events)
    assert cli(lk, "--owner", f"org:{org}", "--since", "tomorrow").returncode == 1
    wrong = cli(lk, "--limit", "5", admin_key="lk_admin_wrong")
    assert wrong.returncode == 2 and "admin key" in wrong.stderr and "lk_admin_wrong" not in wrong.stderr


def test_the_whole_log_holds_no_token_or_secret(world, history):
    lk, peer = world.lk, world.peer
    text, before = "", None
    while True:
        page = audit(lk, limit=1000, **({"before": before} if before else {}))
        text += json.dumps(page["events"])
        before = page.get("next_before")
        if not before:
            break
    issued = peer.issued()
    assert issued
    for secret in [*issued, *CLIENT_SECRETS.values(), lk.admin_key]:
        assert secret not in text
