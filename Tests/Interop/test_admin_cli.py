"""`latchkey admin ...` against a running server: every subcommand, `--json` parsed, clear exit codes."""

from __future__ import annotations

import json
import subprocess

from conftest import CLIENT_SECRETS, LATCHKEY_BIN, Person


def admin(lk, *args, admin_key=None, env=None, stdin=None) -> subprocess.CompletedProcess:
    base = {"LATCHKEY_URL": lk.url, "LATCHKEY_ADMIN_KEY": admin_key or lk.admin_key, "PATH": "/usr/bin:/bin", **(env or {})}
    return subprocess.run([LATCHKEY_BIN, "admin", *args], capture_output=True, text=True, env=base, input=stdin, timeout=60)


def ok_json(lk, *args, **kw):
    r = admin(lk, *args, "--json", **kw)
    assert r.returncode == 0, (args, r.stdout, r.stderr)
    return json.loads(r.stdout)


def test_an_admin_sets_up_an_org_and_manages_its_connection_from_the_terminal(world):
    lk, peer = world.lk, world.peer
    org = world.unique("cli")
    for kind, path in (("orgs", org), ("teams", f"{org}/t"), ("projects", f"{org}/t/p"), ("users", f"{org}/alice")):
        r = admin(lk, kind, "create", path)
        assert r.returncode == 0 and r.stdout.strip() == f"created {kind[:-1]}:{path}", r.stderr
    assert admin(lk, "owners", "create", f"team:{org}/t2").returncode == 0
    created = ok_json(lk, "agents", "create", f"agent:{org}/t/p/scout")
    key = created["api_key"]
    assert created["owner"] == f"agent:{org}/t/p/scout" and key.startswith("lk_agent_")
    # The client secret comes from the environment, never the command line.
    app = ok_json(lk, "apps", "put", "authlib-basic", "--owner", f"org:{org}", "--client-id", "latchkey-basic",
                  "--client-secret-env", "SECRET", "--scopes", "profile,email", env={"SECRET": CLIENT_SECRETS["basic"]})
    assert app["redirect_uri"] == f"{lk.url}/oauth/callback" and app["scopes"] == ["profile", "email"]
    r = admin(lk, "apps", "put", "authlib-basic", "--owner", f"org:{org}", "--client-id", "x", stdin="")
    assert r.returncode == 1 and "no client secret" in r.stderr

    assert ok_json(lk, "grants", "set", f"agent:{org}/t/p/scout", "authlib-basic.create_item")["tools"] == ["authlib-basic.create_item"]
    assert admin(lk, "grants", "show", f"{org}/t/p/scout").stdout.strip() == "authlib-basic.create_item"
    assert admin(lk, "agents", "grants", f"{org}/t/p/scout").stdout.strip() == "authlib-basic.create_item"

    Person(peer).connect(world.connect_link(key))
    listed = ok_json(lk, "connections", "list", "--owner", f"org:{org}")["connections"]
    assert [c["state"] for c in listed] == ["active"]
    cid = listed[0]["id"]
    table = admin(lk, "connections", "list", "--owner", f"org:{org}", "--state", "active").stdout.splitlines()
    assert table[0].split()[:4] == ["ID", "PROVIDER", "OWNER", "STATE"] and cid in table[1] and "active" in table[1]
    before = peer.stats()["refresh_grants"]
    assert ok_json(lk, "connections", "refresh", cid)["state"] == "active"
    assert peer.stats()["refresh_grants"] == before + 1

    assert ok_json(lk, "credits", "add", org, "25")["balance"] == 25
    shown = admin(lk, "credits", "show", org)
    assert shown.returncode == 0 and "balance: 25" in shown.stdout and "no usage yet" in shown.stdout

    new_key = ok_json(lk, "agents", "new-key", f"agent:{org}/t/p/scout")["api_key"]
    assert lk.call("GET", "/v1/connections", new_key).status_code == 200
    assert ok_json(lk, "connections", "revoke", cid)["state"] == "revoked"
    assert ok_json(lk, "agents", "revoke-keys", f"agent:{org}/t/p/scout")["revoked"] == 2
    assert lk.call("GET", "/v1/connections", new_key).status_code == 401
    result = ok_json(lk, "owners", "revoke", f"org:{org}")
    assert result["owner"] == f"org:{org}" and result["connections_revoked"] == 0
    assert ok_json(lk, "connections", "list", "--owner", f"org:{org}", "--state", "active")["connections"] == []


def test_exit_codes_say_what_went_wrong(world):
    lk = world.lk
    for args in (["connections", "list"], ["credits", "show", "acme"], ["owners", "create", "org:nobody-here"], ["keys", "status"]):
        r = admin(lk, *args, admin_key="lk_admin_wrong")
        assert r.returncode == 2 and "admin key" in r.stderr and "lk_admin_wrong" not in r.stderr, (args, r.stderr)
    # A server error names its code; a bad reference is refused before any call; an unreachable server is 1.
    r = admin(lk, "connections", "refresh", "conn_nope")
    assert r.returncode == 1 and "not_found" in r.stderr
    r = admin(lk, "owners", "create", "org:Not Valid")
    assert r.returncode == 1 and "owner" in r.stderr
    r = admin(lk, "connections", "list", env={"LATCHKEY_URL": "http://127.0.0.1:9"})
    assert r.returncode == 1 and "cannot reach" in r.stderr
    r = admin(lk, "connections", "list", "--state", "sleeping")
    assert r.returncode == 1 and "state" in r.stderr
