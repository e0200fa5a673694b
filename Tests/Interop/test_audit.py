"""The audit log: every install, connect, refresh, revoke and admin action, filtered through the API and the
CLI, and never a secret."""

from __future__ import annotations

import hashlib
import json
import subprocess
import time

import pytest

from conftest import CLIENT_SECRETS, LATCHKEY_BIN, Person, World, start_world


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


def chain_hash(line: dict) -> str:
    """The hash of an exported event, computed here from the README's definition alone."""
    fields = ["latchkey-audit-v1", line["chain"], str(line["seq"]), str(line["at_us"]), line["actor"], line["action"],
              line.get("owner"), line.get("provider"), line.get("connection"), line["outcome"], line.get("detail")]
    canonical = b"".join(b"~" if f is None else f"{len(f.encode())}:".encode() + f.encode() for f in fields)
    return hashlib.sha256(bytes.fromhex(line["prev_hash"]) + canonical).hexdigest()


def export(lk, **params) -> list[dict]:
    r = lk.admin("GET", "/v1/admin/audit/export", params=params)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/x-ndjson"), r.text
    return [json.loads(line) for line in r.text.splitlines()]


def sqlite(lk, statement: str) -> None:
    subprocess.run(["sqlite3", str(lk.db_path), statement], check=True, capture_output=True, text=True, timeout=60)


def test_verify_names_the_first_edited_removed_or_reordered_event_and_the_export_carries_the_chain(workdir):
    """Issue 15 gap 8: before, anyone with the database could edit or delete audit rows without a trace."""
    lk, peer = start_world(workdir, "audit-chain")
    try:
        world = World(lk, peer)
        edited, removed, reordered = (world.org_with_agent(apps=("authlib-basic", "authlib-post"))[0] for _ in range(3))
        ok = cli(lk, "verify")
        assert ok.returncode == 0, ok.stdout + ok.stderr
        assert all(f"{org} " in ok.stdout for org in (edited, removed, reordered)) and "BROKEN" not in ok.stdout, ok.stdout

        # The export: every event once, oldest first, each chain linked and each hash what the README's formula gives.
        lines = export(lk)
        assert [l["id"] for l in lines] == sorted(l["id"] for l in lines) and len(lines) >= 18
        last: dict[str, str] = {}
        for line in lines:
            assert line["prev_hash"] == last.get(line["chain"], "0" * 64), line
            assert chain_hash(line) == line["hash"], line
            last[line["chain"]] = line["hash"]
        # Paged, filtered by org and time, and through the CLI: the same lines.
        assert export(lk, after_id=lines[4]["id"], limit=3) == lines[5:8]
        assert export(lk, org=edited) == [l for l in lines if l["chain"] == edited]
        # `since` halfway between two events (a time of an event itself, in microseconds, can fall either side of
        # the stored seconds it was rounded from).
        k = next(i for i in range(len(lines) - 3, 0, -1) if lines[i]["at_us"] - lines[i - 1]["at_us"] >= 2)
        since = (lines[k - 1]["at_us"] + lines[k]["at_us"]) / 2 / 1e6
        assert export(lk, since=f"{since:.7f}") == lines[k:]
        via_cli = subprocess.run([LATCHKEY_BIN, "admin", "audit", "export"], capture_output=True, text=True, timeout=60,
                                 env={"LATCHKEY_URL": lk.url, "LATCHKEY_ADMIN_KEY": lk.admin_key, "PATH": "/usr/bin:/bin"})
        assert via_cli.returncode == 0 and [json.loads(l) for l in via_cli.stdout.splitlines()] == lines, via_cli.stderr

        def events_of(org: str) -> list[dict]:
            return [l for l in lines if l["chain"] == org]

        # Someone with the database file edits one event, removes another, and swaps two more.
        target = events_of(edited)[2]
        sqlite(lk, f"UPDATE audit_events SET outcome = 'failure' WHERE id = {target['id']}")
        gone, after_gone = events_of(removed)[1], events_of(removed)[2]
        sqlite(lk, f"DELETE FROM audit_events WHERE id = {gone['id']}")
        a, b = events_of(reordered)[1], events_of(reordered)[3]
        sqlite(lk, f"UPDATE audit_events SET seq = -1 WHERE id = {a['id']}; UPDATE audit_events SET seq = {a['seq']} WHERE id = {b['id']};"
                   f" UPDATE audit_events SET seq = {b['seq']} WHERE id = {a['id']}")

        broken = cli(lk, "verify")
        assert broken.returncode == 1, broken.stdout + broken.stderr
        assert f"{edited}: event {target['id']} (number {target['seq']}) was edited" in broken.stdout, broken.stdout
        assert f"{removed}: event {after_gone['id']} (number {after_gone['seq']}) follows number {gone['seq'] - 1}" in broken.stdout, broken.stdout
        assert f"{reordered}: event {b['id']} (number {a['seq']})" in broken.stdout, broken.stdout
        report = lk.admin("GET", "/v1/admin/audit/verify").json()
        problems = {c["org"]: (c["broken"]["event_id"], c["broken"]["problem"]) for c in report["chains"] if "broken" in c}
        assert report["ok"] is False and problems == {
            edited: (target["id"], "edited"), removed: (after_gone["id"], "removed"), reordered: (b["id"], "reordered")}, report
        # One org's chain alone: the others are not its concern.
        assert cli(lk, "verify", "--org", world.org_with_agent(apps=())[0]).returncode == 0
        # Undoing the edit mends that chain: the check is of the content, not of a flag.
        sqlite(lk, f"UPDATE audit_events SET outcome = '{target['outcome']}' WHERE id = {target['id']}")
        assert cli(lk, "verify", "--org", edited).returncode == 0
        # Bad input is a clear error.
        for params, field in [({"since": "yesterday"}, "since"), ({"after_id": "-1"}, "after_id"), ({"limit": "0"}, "limit")]:
            r = lk.admin("GET", "/v1/admin/audit/export", params=params)
            assert r.status_code == 400 and r.json()["error"]["field"] == field, r.text
    finally:
        lk.stop()
        peer.stop()
