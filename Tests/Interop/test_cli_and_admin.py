"""The command line and the admin API's direct paths."""

from __future__ import annotations

import subprocess
from pathlib import Path

from conftest import LATCHKEY_BIN, ROOT

BROKEN = ROOT / "Tests" / "LatchkeyManifestTests" / "Fixtures" / "broken"


def test_the_shipped_manifests_validate():
    r = subprocess.run([LATCHKEY_BIN, "providers", "validate", str(ROOT / "providers")], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    *warnings, ok = r.stdout.strip().splitlines()
    assert ok.startswith("ok: ") and int(ok.split()[1]) >= 28
    # Brave Search has no "who am I" endpoint, and a remote MCP server names no account: warnings, not problems.
    by_file = {w.split(":", 1)[0].rsplit("/", 1)[1]: w for w in warnings}
    assert ": auth.identity: warning: " in by_file.pop("brave-search.yaml")
    assert len(by_file) >= 10 and all(f.endswith("-mcp.yaml") for f in by_file)
    assert all(": mcp: warning: a remote MCP server names no account" in w for w in by_file.values())


def test_a_manifest_without_an_identity_lookup_is_valid_with_a_warning(tmp_path):
    manifest = tmp_path / "anonymous.yaml"
    manifest.write_text("""\
id: anonymous
name: Anonymous
docs: https://example.com/docs
auth:
  mode: api_key
  api_key: {label: Token}
proxy:
  base_url: https://api.example.com
  inject: {header: Authorization, format: "Bearer {api_key}"}
""")
    r = subprocess.run([LATCHKEY_BIN, "providers", "validate", str(tmp_path)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    warning, ok = r.stdout.strip().splitlines()
    assert warning.startswith(f"{manifest}:0: auth.identity: warning: no identity lookup") and "shared owners" in warning
    assert ok == "ok: 1 manifest(s) valid"


def test_each_broken_manifest_gives_one_file_line_field_message_and_a_nonzero_exit():
    r = subprocess.run([LATCHKEY_BIN, "providers", "validate", str(BROKEN)], capture_output=True, text=True)
    assert r.returncode == 1
    lines = r.stdout.strip().splitlines()
    files = sorted(BROKEN.glob("*.yaml"))
    assert len(files) >= 12 and len(lines) == len(files)
    for line, path in zip(sorted(lines), files):
        file, number, field, message = line.split(":", 3)
        assert file == str(path) and int(number) >= 1 and field.strip() and message.strip()


def test_an_admin_creates_an_api_key_connection_directly(world):
    lk, peer = world.lk, world.peer
    org, key = world.org_with_agent()
    r = lk.admin("POST", "/v1/admin/connections",
                 json={"provider": "authlib-key", "owner": f"agent:{org}/team/proj/agent", "api_key": "wrong"})
    assert r.status_code == 400 and r.json()["error"] == {
        "code": "invalid_api_key", "field": "api_key", "message": "api_key: Authlib Key Provider refused the key"}
    from conftest import Person
    Person(peer).connect(world.connect_link(key))
    token = [t["value"] for t in peer.issued(detail=True) if t["type"] == "access_token"][-1]
    r = lk.admin("POST", "/v1/admin/connections",
                 json={"provider": "authlib-key", "owner": f"agent:{org}/team/proj/agent", "api_key": token})
    assert r.status_code == 201, r.text
    assert (r.json()["state"], r.json()["account"]) == ("active", "Alice Example")
    assert token not in r.text
    r = lk.admin("POST", "/v1/admin/connections", json={"provider": "authlib-basic", "owner": f"org:{org}", "api_key": "x"})
    assert r.status_code == 400 and r.json()["error"]["field"] == "provider"
