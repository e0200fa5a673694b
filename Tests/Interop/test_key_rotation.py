"""Master-key rotation over 10,000 connections, survived through a kill -9 of the server; retirement of the old
version; the integrity check; tampering; the `latchkey admin keys` CLI and its exit codes.

The connections are API-key connections of a provider whose API is a small echo server on loopback, so a
proxied call shows which key Latchkey decrypted and injected for which connection.
"""

from __future__ import annotations

import base64
import json
import os
import pty
import random
import re
import secrets
import signal
import sqlite3
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from conftest import LATCHKEY_BIN, Latchkey, api_key_manifest, free_port

OWNERS = 5000           # users of org `rot`, one data key each
PER_OWNER = 2           # connections per owner: 10,000 in all
PROVIDER = "rot-key"


class EchoAPI:
    """The provider's API: answers every call with the Authorization header it received."""

    def __init__(self):
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                body = json.dumps({"authorization": self.headers.get("Authorization"), "path": self.path}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()


class RotationWorld:
    def __init__(self, lk: Latchkey, echo: EchoAPI):
        self.lk = lk
        self.echo = echo
        self.api_keys: dict[str, str] = {}   # connection id -> the API key it holds
        self.owner_of: dict[str, str] = {}

    def cli(self, *args, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run([LATCHKEY_BIN, "admin", "keys", *args], env={**self.cli_env(), **(env or {})},
                              capture_output=True, text=True, timeout=120, cwd=self.lk.workdir, **kwargs)

    def cli_env(self) -> dict:
        return {**os.environ, "LATCHKEY_URL": self.lk.url, "LATCHKEY_ADMIN_KEY": self.lk.admin_key}

    def status(self) -> dict:
        r = self.lk.admin("GET", "/v1/admin/keys")
        assert r.status_code == 200, r.text
        return r.json()

    def proxy(self, connection: str) -> requests.Response:
        return self.lk.admin("GET", f"/v1/proxy/{PROVIDER}/whoami", headers={"Latchkey-Connection": connection})

    def key_file_versions(self) -> list[int]:
        lines = [l.strip() for l in (self.lk.workdir / "master.key").read_text().splitlines()]
        return sorted(int(l.split(":", 1)[0]) if ":" in l else 1 for l in lines if l and not l.startswith("#"))


@pytest.fixture(scope="module")
def rot(workdir):
    echo = EchoAPI()
    d = workdir / "rotation"
    providers = d / "providers"
    providers.mkdir(parents=True)
    # The shared api_key manifest, without its identity URL (10,000 identity calls would only slow the set-up).
    manifest = re.sub(r"(?m)^  identity:.*\n", "", api_key_manifest(echo.url)).replace("id: authlib-key", f"id: {PROVIDER}")
    (providers / f"{PROVIDER}.yaml").write_text(manifest)
    lk = Latchkey(d, free_port(), providers).start()
    world = RotationWorld(lk, echo)

    started = time.time()
    assert lk.admin("POST", "/v1/admin/orgs", json={"id": "rot"}).status_code == 201
    local = threading.local()

    def session() -> requests.Session:
        if not hasattr(local, "s"):
            local.s = requests.Session()
            local.s.headers["Authorization"] = f"Bearer {lk.admin_key}"
        return local.s

    def make_owner(n: int) -> list[tuple[str, str, str]]:
        # One owner's connections are made one after another: the first becomes its default.
        s = session()
        r = s.post(lk.url + "/v1/admin/users", json={"org": "rot", "id": f"u{n}"}, timeout=60)
        assert r.status_code == 201, r.text
        made = []
        for i in range(PER_OWNER):
            api_key = f"rk-{n}-{i}-{secrets.token_hex(6)}"
            r = s.post(lk.url + "/v1/admin/connections",
                       json={"provider": PROVIDER, "owner": f"user:rot/u{n}", "api_key": api_key}, timeout=60)
            assert r.status_code == 201, r.text
            made.append((r.json()["id"], api_key, f"user:rot/u{n}"))
        return made

    with ThreadPoolExecutor(max_workers=12) as pool:
        for made in pool.map(make_owner, range(OWNERS)):
            for cid, api_key, owner in made:
                world.api_keys[cid] = api_key
                world.owner_of[cid] = owner
    print(f"\nset-up: {OWNERS} owners and {len(world.api_keys)} connections in {time.time() - started:.1f} s")
    yield world
    lk.stop()
    echo.stop()


def test_rotation_over_10000_connections_survives_a_kill_9_and_retires_the_old_version(rot):
    lk = rot.lk
    assert len(rot.api_keys) == OWNERS * PER_OWNER == 10_000
    before = rot.status()
    assert before["current_version"] == 1 and before["versions_in_use"] == {"1": OWNERS} and before["source"] == "file"
    assert rot.key_file_versions() == [1]
    v1_line = (lk.workdir / "master.key").read_text().strip()

    # The rotation runs as the CLI would be run by an operator; the server is killed once about half is done.
    started = time.time()
    cli = subprocess.Popen([LATCHKEY_BIN, "admin", "keys", "rotate", "--batch-size", "200"], env=rot.cli_env(),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=lk.workdir)
    killed_at = None
    deadline = time.time() + 60
    while time.time() < deadline and cli.poll() is None:
        s = rot.status()
        if s["current_version"] == 2 and s["versions_in_use"].get("2", 0) >= OWNERS * 0.4:
            lk.proc.send_signal(signal.SIGKILL)
            lk.proc.wait(10)
            killed_at = s["versions_in_use"]["2"]
            break
    assert killed_at is not None, "the rotation finished (or stalled) before the server could be killed"
    out, err = cli.communicate(timeout=60)
    assert cli.returncode == 1, (out, err)
    assert "cannot reach the Latchkey server" in err
    assert re.search(r"rewrapped \d+/5000", err), err   # one plain progress line per batch when stderr is no terminal
    lk.log.close()
    print(f"killed the server with {killed_at}/{OWNERS} data keys re-wrapped, {time.time() - started:.1f} s after the start")

    # Restarted on the same database and key file: version 2 is durable, and the old keys still open under version 1.
    lk.start()
    mid = rot.status()
    assert mid["current_version"] == 2 and mid["loaded_versions"] == [1, 2]
    assert mid["versions_in_use"]["1"] > 0 and mid["versions_in_use"]["2"] >= killed_at
    assert mid["versions_in_use"]["1"] + mid["versions_in_use"]["2"] == OWNERS
    assert rot.key_file_versions() == [1, 2]

    # Run again, with a terminal on stderr for the progress bar: it carries on, makes no third version, and retires 1.
    master, slave = pty.openpty()
    proc = subprocess.Popen([LATCHKEY_BIN, "admin", "keys", "rotate", "--batch-size", "200", "--json"], env=rot.cli_env(),
                            stdout=subprocess.PIPE, stderr=slave, cwd=lk.workdir)
    os.close(slave)
    tty = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        tty += chunk
    out, _ = proc.communicate(timeout=60)
    os.close(master)
    assert proc.returncode == 0, (out, tty)
    summary = json.loads(out)
    assert "created_version" not in summary
    assert (summary["current_version"], summary["remaining"], summary["retired"]) == (2, 0, [1])
    assert summary["rewrapped"] == mid["versions_in_use"]["1"]
    assert b"\r[" in tty and b"100% rewrapped" in tty
    print(f"resumed: {summary['rewrapped']} re-wrapped in {summary['calls']} call(s); whole rotation {time.time() - started:.1f} s")

    after = rot.status()
    assert after["versions_in_use"] == {"2": OWNERS} and after["loaded_versions"] == [2] and after["remaining"] == 0
    assert rot.key_file_versions() == [2]
    assert v1_line not in (lk.workdir / "master.key").read_text()

    # Every credential opens.
    started = time.time()
    r = lk.admin("POST", "/v1/admin/keys/verify")
    assert r.status_code == 200, r.text
    assert r.json() == {"checked": 10_000, "ok": 10_000, "failed": []}
    print(f"verify: 10000 credentials in {time.time() - started:.1f} s")

    # A sample of proxied calls injects each connection's own key.
    for cid in random.sample(sorted(rot.api_keys), 40):
        r = rot.proxy(cid)
        assert r.status_code == 200, r.text
        assert r.json()["authorization"] == f"Bearer {rot.api_keys[cid]}"

    # The audit log tells the story, and holds no key material.
    events = lk.admin("GET", "/v1/admin/audit?limit=1000").json()["events"]
    actions = [e["action"] for e in events]
    assert "keys.version_added" in actions and "keys.version_retired" in actions and "keys.rotated" in actions
    log = json.dumps(events)
    material = [l.split(":", 1)[-1] for l in (v1_line, (lk.workdir / "master.key").read_text().strip())]
    assert not any(m in log for m in material)
    assert not any(m in lk.log_path.read_text() for m in material)
    # Nor does any API key sit in the database or the log in plaintext.
    raw, log_bytes = lk.db_bytes(), lk.log_path.read_bytes()
    assert not [k for k in random.sample(sorted(rot.api_keys.values()), 200) if k.encode() in raw or k.encode() in log_bytes]


def test_a_new_rotation_makes_version_3_and_a_run_on_a_finished_one_makes_no_extra_version(rot):
    r = rot.lk.admin("POST", "/v1/admin/keys/rotate", json={"batch_size": 5000, "new_version": False})
    assert r.status_code == 200 and r.json()["current_version"] == 2 and r.json()["rewrapped"] == 0
    assert "created_version" not in r.json()
    done = rot.cli("rotate", "--batch-size", "5000")
    assert done.returncode == 0, done.stderr
    assert "made master-key version 3" in done.stdout and "retired version(s) 2" in done.stdout
    assert rot.status()["versions_in_use"] == {"3": OWNERS} and rot.key_file_versions() == [3]
    for body, field in (({"batch_size": 0}, "batch_size"), ({"batch_size": 5001}, "batch_size"), ({"new_version": "yes"}, "new_version")):
        r = rot.lk.admin("POST", "/v1/admin/keys/rotate", json=body)
        assert r.status_code == 400 and r.json()["error"]["field"] == field


def test_swapped_ciphertexts_fail_their_integrity_check_and_nothing_else_does(rot):
    lk = rot.lk
    a, b = random.sample(sorted(rot.api_keys), 2)
    while rot.owner_of[a] == rot.owner_of[b]:
        b = random.choice(sorted(rot.api_keys))
    # An attacker with write access to the database swaps two rows' ciphertexts (the server keeps running).
    db = sqlite3.connect(lk.db_path, timeout=30)
    with db:
        ca = db.execute("SELECT credential FROM connections WHERE id = ?", (a,)).fetchone()[0]
        cb = db.execute("SELECT credential FROM connections WHERE id = ?", (b,)).fetchone()[0]
        db.execute("UPDATE connections SET credential = ? WHERE id = ?", (cb, a))
        db.execute("UPDATE connections SET credential = ? WHERE id = ?", (ca, b))
    db.close()

    r = lk.admin("POST", "/v1/admin/keys/verify")
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["checked"], report["ok"]) == (10_000, 9_998)
    assert sorted(f["connection"] for f in report["failed"]) == sorted([a, b])
    for f in report["failed"]:
        assert f["code"] == "decryption_failed"
        assert f["connection"] in f["message"] and "integrity check" in f["message"]

    # A proxied call on a tampered connection gets a clear error; the other connections keep working.
    r = rot.proxy(a)
    assert r.status_code == 500 and r.headers["Latchkey-Error"] == "decryption_failed"
    assert a in r.json()["error"]["message"] and "integrity check" in r.json()["error"]["message"]
    assert rot.api_keys[a] not in r.text and rot.api_keys[b] not in r.text
    other = next(c for c in rot.api_keys if c not in (a, b))
    r = rot.proxy(other)
    assert r.status_code == 200 and r.json()["authorization"] == f"Bearer {rot.api_keys[other]}"

    # The CLI lists them and exits 1.
    done = rot.cli("verify")
    assert done.returncode == 1
    assert "10000 credential(s): 9998 ok, 2 failed" in done.stdout
    assert a in done.stdout and b in done.stdout


def test_the_cli_exits_2_on_a_wrong_or_missing_admin_key_and_1_on_a_usage_error(rot, tmp_path):
    wrong = rot.cli("status", "--admin-key", "lk_admin_wrong")
    assert wrong.returncode == 2 and "refused the admin key" in wrong.stderr
    env = {k: v for k, v in rot.cli_env().items() if k != "LATCHKEY_ADMIN_KEY"}
    missing = subprocess.run([LATCHKEY_BIN, "admin", "keys", "status"], env=env, capture_output=True, text=True,
                             timeout=60, cwd=tmp_path)
    assert missing.returncode == 2 and "no admin key" in missing.stderr
    assert rot.cli("rotate", "--batch-size", "0").returncode == 1
    assert rot.cli("rotate", "--no-such-flag").returncode == 1
    down = rot.cli("status", "--url", f"http://127.0.0.1:{free_port()}")
    assert down.returncode == 1 and "cannot reach" in down.stderr
    ok = rot.cli("status")
    assert ok.returncode == 0 and "current version: 3" in ok.stdout


def test_keys_from_the_environment_are_rotated_only_by_the_operator(workdir):
    d = workdir / "rotation-env"
    providers = d / "providers"
    providers.mkdir(parents=True)
    v1, v2 = (base64.b64encode(secrets.token_bytes(32)).decode() for _ in range(2))
    lk = Latchkey(d, free_port(), providers, env={"LATCHKEY_MASTER_KEY": v1}).start()
    try:
        assert lk.admin("POST", "/v1/admin/orgs", json={"id": "envrot"}).status_code == 201
        r = lk.admin("POST", "/v1/admin/keys/rotate")
        assert r.status_code == 409 and r.headers["Latchkey-Error"] == "key_source_readonly"
        assert 'LATCHKEY_MASTER_KEYS="2:<new key>,1:<key 1>"' in r.json()["error"]["message"]
        assert v1 not in r.text
        assert not (d / "master.key").exists()
    finally:
        lk.stop()
    # The operator adds version 2 and restarts: the next call carries on to version 2 and retires 1 in memory.
    lk = Latchkey(d, free_port(), providers, env={"LATCHKEY_MASTER_KEYS": f"2:{v2},1:{v1}"}).start()
    try:
        r = lk.admin("POST", "/v1/admin/keys/rotate")
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["current_version"], body["retired"], body["source"]) == (2, [1], "environment")
        assert "remove them from LATCHKEY_MASTER_KEY(S)" in body["note"]
    finally:
        lk.stop()
