"""Backups of the embedded database, and kill -9 at the worst moments (issue 15): a backup taken while Latchkey serves
restores into a Latchkey whose every credential opens; a process killed during a connect callback, a webhook delivery
or a backup loses nothing it had acknowledged, and its audit chain still holds."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from conftest import LATCHKEY_BIN, Latchkey, Person, World, free_port, start_world, wait_until

POSTGRES = os.environ.get("LATCHKEY_TEST_POSTGRES_URL")


def admin_cli(lk, *args, **env) -> subprocess.CompletedProcess:
    return subprocess.run([LATCHKEY_BIN, "admin", *args], capture_output=True, text=True, timeout=300,
                          env={**lk.env, "LATCHKEY_URL": lk.url, "LATCHKEY_ADMIN_KEY": lk.admin_key, **env})


def proxied(lk, key: str) -> int:
    return lk.call("GET", "/v1/proxy/authlib-basic/echo/x", key).status_code


def audit_holds(lk) -> bool:
    r = lk.admin("GET", "/v1/admin/audit/verify")
    assert r.status_code == 200, r.text
    return r.json()["ok"] is True


def kill_and_restart(lk: Latchkey) -> None:
    """SIGKILL, as a crash or the OOM killer would; then the same process again on the same files."""
    lk.proc.kill()
    lk.proc.wait(30)
    lk.log.close()
    lk.start()


def connected_agents(world: World, count: int) -> list[str]:
    """The keys of `count` agents, each of a new org and with a connected account."""
    agents = []
    for _ in range(count):
        _, key = world.org_with_agent(apps=("authlib-basic",))
        assert Person(world.peer).connect(world.connect_link(key)).status_code == 200
        agents.append(key)
    return agents


@pytest.fixture
def connected_world(workdir, request):
    """A Latchkey of its own with three orgs, each with an agent and a connected account."""
    lk, peer = start_world(workdir, f"crash-{request.node.name[:40]}")
    world = World(lk, peer)
    agents = connected_agents(world, 3)
    yield world, agents
    lk.stop()
    peer.stop()


def test_a_backup_taken_while_serving_restores_into_a_latchkey_whose_credentials_all_open(connected_world, workdir):
    world, agents = connected_world
    lk = world.lk
    backup = workdir / f"backup-{free_port()}.db"
    # Writes go on while the backup runs: the copy is the database at one instant, consistent.
    stop = threading.Event()

    def keep_writing():
        n = 0
        while not stop.is_set():
            lk.admin("POST", "/v1/admin/orgs", json={"id": f"busy-{free_port()}-{n}"})
            n += 1

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        out = admin_cli(lk, "backup", str(backup))
    finally:
        stop.set()
        writer.join()
    assert out.returncode == 0 and out.stdout.startswith(f"backed up {lk.db_path} to {backup}:"), out.stdout + out.stderr
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600 and not (workdir / (backup.name + ".partial")).exists()
    assert "3 connection(s)" in out.stdout, out.stdout

    # Restored into a new data directory with the same master key file: every credential opens, agents call.
    restored_dir = workdir / f"restored-{free_port()}"
    restored_dir.mkdir()
    shutil.copy(backup, restored_dir / "latchkey.db")
    restored = Latchkey(restored_dir, free_port(), lk.env["LATCHKEY_PROVIDERS"],
                        {"LATCHKEY_MASTER_KEY_FILE": lk.env["LATCHKEY_MASTER_KEY_FILE"]}).start()
    try:
        verified = admin_cli(restored, "keys", "verify", "--json")
        report = json.loads(verified.stdout)
        assert verified.returncode == 0 and report["checked"] == report["ok"] >= 3, verified.stdout + verified.stderr
        for key in agents:
            assert proxied(restored, key) == 200
        assert audit_holds(restored)
        assert admin_cli(restored, "audit", "verify").returncode == 0
    finally:
        restored.stop()

    # A backup of PostgreSQL is pg_dump's: the command says so and writes nothing.
    refused = admin_cli(lk, "backup", str(workdir / "never.db"), LATCHKEY_DATABASE_URL="postgres://x@127.0.0.1/y")
    assert refused.returncode == 1 and "pg_dump" in refused.stderr and not (workdir / "never.db").exists()


def test_kill_9_during_a_connect_callback_loses_nothing_acknowledged(connected_world):
    world, agents = connected_world
    lk, peer = world.lk, world.peer
    _, key = world.org_with_agent(apps=("authlib-basic",))
    person = Person(peer)
    started = person.start(world.connect_link(key))
    callback_url = person.consent(started.headers["Location"])
    before = peer.stats()["token_requests"]
    # The provider's token endpoint hangs: the callback is mid-exchange when the process dies.
    peer.set_mode(token="hang", seconds=15, count=1)
    answered: list = []
    pending = threading.Thread(target=lambda: answered.append(_swallow(lambda: person.callback(callback_url))))
    pending.start()
    wait_until(lambda: peer.stats()["token_requests"] > before, "the callback to reach the provider's token endpoint")
    kill_and_restart(lk)
    peer.set_mode(token="normal")
    pending.join(60)
    # Everything acknowledged before is served; the interrupted connect was never acknowledged, and starting it
    # again from a new link works.
    for agent in agents:
        assert proxied(lk, agent) == 200
    assert Person(peer).connect(world.connect_link(key)).status_code == 200
    assert proxied(lk, key) == 200
    assert audit_holds(lk)


def _swallow(call):
    try:
        return call()
    except requests.RequestException as error:
        return error


class HoldingReceiver:
    """A webhook receiver that holds the first delivery open until released, and answers every later one at once."""

    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hooks"
        self.bodies: list[dict] = []
        self.release = threading.Event()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
                with receiver.lock:
                    receiver.bodies.append(body)
                    first = len(receiver.bodies) == 1
                if first:
                    receiver.release.wait(60)
                try:
                    self.send_response(200)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def test_kill_9_during_a_webhook_delivery_delivers_it_after_the_restart(connected_world):
    world, agents = connected_world
    lk, peer = world.lk, world.peer
    receiver = HoldingReceiver()
    try:
        org, key = world.org_with_agent(apps=("authlib-basic",))
        r = lk.admin("PUT", f"/v1/admin/orgs/{org}/webhook", json={"url": receiver.url})
        assert r.status_code == 200, r.text
        assert Person(peer).connect(world.connect_link(key)).status_code == 200   # `connected`, acknowledged
        wait_until(lambda: len(receiver.bodies) == 1, "the delivery to reach the receiver, which holds it")
        event = receiver.bodies[0]
        kill_and_restart(lk)
        receiver.release.set()
        # At least once: the delivery cut short by the crash is sent again by the restarted process.
        wait_until(lambda: len(receiver.bodies) >= 2, "the delivery to be sent again after the restart")
        assert receiver.bodies[1]["id"] == event["id"] and receiver.bodies[1]["type"] == "connected"
        for agent in agents + [key]:
            assert proxied(lk, agent) == 200
        assert audit_holds(lk)
    finally:
        receiver.stop()


def test_kill_9_during_a_backup_never_leaves_a_broken_copy_under_the_backups_name(connected_world, workdir):
    world, agents = connected_world
    lk = world.lk
    # Enough rows that a copy takes a moment.
    for n in range(200):
        lk.admin("POST", "/v1/admin/orgs", json={"id": f"bulk-{n}"})
    target = workdir / f"cut-{free_port()}.db"
    for delay in (0.0, 0.01, 0.03, 0.08):
        backup = subprocess.Popen([LATCHKEY_BIN, "admin", "backup", str(target)], env={**lk.env}, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        time.sleep(delay)
        backup.kill()
        backup.wait(30)
        # Either no copy, or a whole one: never a cut one under the backup's name.
        if target.exists():
            check = subprocess.run(["sqlite3", str(target), "PRAGMA integrity_check"], capture_output=True, text=True, timeout=60)
            assert check.stdout.strip() == "ok", check.stdout + check.stderr
            target.unlink()
    # The server killed while a backup reads its database: it restarts whole, and the next backup is good.
    backup = subprocess.Popen([LATCHKEY_BIN, "admin", "backup", str(target)], env={**lk.env}, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    kill_and_restart(lk)
    backup.wait(60)
    for agent in agents:
        assert proxied(lk, agent) == 200
    assert audit_holds(lk)
    again = admin_cli(lk, "backup", str(target))
    assert again.returncode == 0, again.stderr
    check = subprocess.run(["sqlite3", str(target), "PRAGMA integrity_check"], capture_output=True, text=True, timeout=60)
    assert check.stdout.strip() == "ok"


@pytest.mark.skipif(not POSTGRES, reason="needs LATCHKEY_TEST_POSTGRES_URL (make test sets it)")
def test_a_postgresql_database_dumped_with_pg_dump_and_restored_with_pg_restore_serves(workdir):
    """The README's PostgreSQL backup: `pg_dump -Fc` while Latchkey serves, `pg_restore` into a new database."""
    server = POSTGRES.rsplit("/", 1)[0]
    suffix = free_port()
    source, target = f"lk_dump_source_{suffix}", f"lk_dump_target_{suffix}"
    for name in (source, target):
        subprocess.run(["psql", f"{server}/postgres", "-c", f"CREATE DATABASE {name}"], check=True, capture_output=True)
    lk, peer = start_world(workdir, f"pg-dump-{suffix}", env={"LATCHKEY_DATABASE_URL": f"{server}/{source}?sslmode=disable"})
    restored = None
    try:
        world = World(lk, peer)
        agents = connected_agents(world, 2)
        dump = workdir / f"latchkey-{suffix}.dump"
        subprocess.run(["pg_dump", "-Fc", "-f", str(dump), f"{server}/{source}"], check=True, capture_output=True, timeout=300)
        subprocess.run(["pg_restore", "--no-owner", "-d", f"{server}/{target}", str(dump)], check=True, capture_output=True, timeout=300)
        restored_dir = workdir / f"pg-restored-{suffix}"
        restored_dir.mkdir()
        restored = Latchkey(restored_dir, free_port(), lk.env["LATCHKEY_PROVIDERS"], {
            "LATCHKEY_DATABASE_URL": f"{server}/{target}?sslmode=disable",
            "LATCHKEY_MASTER_KEY_FILE": lk.env["LATCHKEY_MASTER_KEY_FILE"]}).start()
        verified = admin_cli(restored, "keys", "verify", "--json")
        report = json.loads(verified.stdout)
        assert verified.returncode == 0 and report["checked"] == report["ok"] == 2, verified.stdout + verified.stderr
        for key in agents:
            assert proxied(restored, key) == 200
        assert audit_holds(restored)
    finally:
        if restored:
            restored.stop()
        lk.stop()
        peer.stop()


def test_a_damaged_row_fails_its_own_reads_named_in_the_log_and_everything_else_is_served(connected_world):
    """Issue 15 gap 9: before, a damaged value in a row stopped the whole process (a trap in the row decoder)."""
    world, agents = connected_world
    lk = world.lk
    damaged_key, healthy = agents[0], agents[1:]
    [damaged] = world.connections(damaged_key)
    subprocess.run(["sqlite3", str(lk.db_path), f"UPDATE connections SET version = 'seven' WHERE id = '{damaged['id']}'"],
                   check=True, capture_output=True, timeout=60)
    r = lk.call("GET", "/v1/connections", damaged_key)
    assert r.status_code == 500 and r.json()["error"]["code"] == "internal_error", r.text
    assert f"id={damaged['id']}" in r.json()["error"]["message"] and "version" in r.json()["error"]["message"], r.text
    # The process lives on and serves everything else.
    assert lk.proc.poll() is None
    for key in healthy:
        assert proxied(lk, key) == 200
        assert [c["state"] for c in world.connections(key)] == ["active"]
    wait_until(lambda: f"id={damaged['id']}" in lk.log_path.read_text(errors="replace"), "the damaged row's id in the log")
