"""Master-key rotation across replicas on one PostgreSQL (the throwaway cluster `make test` starts).

The database holds the version every replica wraps new data keys under. A rotation makes a newer version that
version only once every running replica holds the same key under it, and re-wraps nothing until each has
switched, so no replica ever meets a data key it cannot unwrap. Each test gets a database of its own: a rotation
re-wraps every data key in its database.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests

from conftest import LATCHKEY_BIN, Latchkey, api_key_manifest, free_port, wait_until
from test_key_rotation import EchoAPI

POSTGRES = os.environ.get("LATCHKEY_TEST_POSTGRES_URL")
pytestmark = pytest.mark.skipif(not POSTGRES, reason="needs LATCHKEY_TEST_POSTGRES_URL (make test sets it)")
PROVIDER = "rep-key"
HEARTBEAT = 0.5  # seconds; a replica silent for five heartbeats counts as gone


def fresh_database() -> str:
    name = "keys_" + uuid.uuid4().hex[:12]
    subprocess.run(["psql", POSTGRES, "-q", "-c", f"CREATE DATABASE {name}"], check=True, capture_output=True)
    return re.sub(r"/[^/?]+$", f"/{name}", POSTGRES) + "?sslmode=disable"


def new_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


class Fleet:
    """Replicas of one Latchkey on one database, with an echo API as the provider: a proxied call answers with
    the API key Latchkey decrypted and injected."""

    def __init__(self, workdir: Path, name: str):
        self.dir = workdir / name
        self.providers = self.dir / "providers"
        self.providers.mkdir(parents=True)
        self.echo = EchoAPI()
        manifest = re.sub(r"(?m)^  identity:.*\n", "", api_key_manifest(self.echo.url)).replace("id: authlib-key", f"id: {PROVIDER}")
        (self.providers / f"{PROVIDER}.yaml").write_text(manifest)
        self.database = fresh_database()
        self.admin_key = "lk_admin_" + secrets.token_urlsafe(32)
        self.replicas: dict[str, Latchkey] = {}
        self.api_keys: dict[str, str] = {}

    def start(self, name: str, **env) -> Latchkey:
        d = self.dir / name
        d.mkdir(exist_ok=True)
        lk = Latchkey(d, free_port(), self.providers, {
            "LATCHKEY_DATABASE_URL": self.database, "LATCHKEY_ADMIN_KEY": self.admin_key,
            "LATCHKEY_REPLICA_HEARTBEAT_SECONDS": str(HEARTBEAT), **env})
        lk.admin_key = self.admin_key
        self.replicas[name] = lk.start()
        return lk

    def stop(self):
        for lk in self.replicas.values():
            lk.stop()
        self.echo.stop()

    def connect(self, lk: Latchkey, owner: str) -> str:
        api_key = f"rk-{secrets.token_hex(8)}"
        r = lk.admin("POST", "/v1/admin/connections", json={"provider": PROVIDER, "owner": owner, "api_key": api_key})
        assert r.status_code == 201, r.text
        self.api_keys[r.json()["id"]] = api_key
        return r.json()["id"]

    def seed(self, lk: Latchkey, users: int) -> None:
        assert lk.admin("POST", "/v1/admin/orgs", json={"id": "fleet"}).status_code == 201
        for n in range(users):
            assert lk.admin("POST", "/v1/admin/users", json={"org": "fleet", "id": f"u{n}"}).status_code == 201
            self.connect(lk, f"user:fleet/u{n}")

    def proxy(self, lk: Latchkey, connection: str) -> requests.Response:
        return lk.admin("GET", f"/v1/proxy/{PROVIDER}/whoami", headers={"Latchkey-Connection": connection})

    def status(self, lk: Latchkey) -> dict:
        r = lk.admin("GET", "/v1/admin/keys")
        assert r.status_code == 200, r.text
        return r.json()


class CallsAllAlong:
    """Proxied calls through some replicas, round robin over every connection, until stopped; each answer must
    carry the connection's own API key."""

    def __init__(self, fleet: Fleet, replicas: list[Latchkey]):
        self.fleet, self.replicas = fleet, replicas
        self.results: list[tuple[int, bool]] = []
        self.running = True
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        i = 0
        ids = list(self.fleet.api_keys)
        while self.running:
            lk, cid = self.replicas[i % len(self.replicas)], ids[i % len(ids)]
            r = self.fleet.proxy(lk, cid)
            right = r.status_code == 200 and r.json()["authorization"] == f"Bearer {self.fleet.api_keys[cid]}"
            self.results.append((r.status_code, right))
            i += 1

    def stop(self) -> list[tuple[int, bool]]:
        self.running = False
        self.thread.join(30)
        return self.results


def test_a_rotation_on_one_replica_reaches_every_replica_sharing_the_key_file_while_calls_go_on(workdir):
    fleet = Fleet(workdir, "shared-file")
    key_file = fleet.dir / "master.key"
    try:
        first = fleet.start("replica1", LATCHKEY_MASTER_KEY_FILE=str(key_file))
        second = fleet.start("replica2", LATCHKEY_MASTER_KEY_FILE=str(key_file))
        third = fleet.start("replica3", LATCHKEY_MASTER_KEY_FILE=str(key_file))
        fleet.seed(first, 60)
        before = fleet.status(second)
        assert before["current_version"] == 1 and before["versions_in_use"] == {"1": 60}
        assert len(before["replicas"]) == 3 and {r["wrapping_version"] for r in before["replicas"]} == {1}

        calls = CallsAllAlong(fleet, [second, third])
        wait_until(lambda: len(calls.results) >= 20, "20 calls through replicas 2 and 3 before the rotation")
        started = time.time()
        cli = subprocess.run(
            [LATCHKEY_BIN, "admin", "keys", "rotate", "--batch-size", "7"],
            env={**os.environ, "LATCHKEY_URL": first.url, "LATCHKEY_ADMIN_KEY": fleet.admin_key},
            capture_output=True, text=True, timeout=120)
        took = time.time() - started
        assert cli.returncode == 0, cli.stdout + cli.stderr
        # The others drop version 1 at their next heartbeat, while the calls go on; then some more calls.
        for lk in (first, second, third):
            wait_until(lambda: fleet.status(lk)["loaded_versions"] == [2], f"{lk.url} to drop version 1",
                       interval=HEARTBEAT / 2)
        dropped = len(calls.results)
        wait_until(lambda: len(calls.results) >= dropped + 20, "20 more calls through replicas 2 and 3")
        results = calls.stop()
        print(f"\nrotation over 3 replicas: {took:.1f} s; {len(results)} calls through replicas 2 and 3 meanwhile")
        assert len(results) > 50 and all(status == 200 and right for status, right in results), \
            [r for r in results if r != (200, True)][:5]

        # Version 1 is retired from the shared file, and every replica dropped it and wraps under version 2.
        assert [l.split(":", 1)[0] for l in key_file.read_text().split()] == ["2"]
        for lk in (first, second, third):
            s = fleet.status(lk)
            assert (s["current_version"], s["loaded_versions"], s["versions_in_use"]) == (2, [2], {"2": 60}), s
        # Each replica's row in the store follows at its own next heartbeat after it dropped version 1.
        wait_until(lambda: all(set(r["loaded_versions"]) == {"2"} for r in fleet.status(third)["replicas"]),
                   "every replica's heartbeat to record that it holds version 2 only", interval=HEARTBEAT / 2)
        assert {r["wrapping_version"] for r in fleet.status(third)["replicas"]} == {2}
        assert len({r["loaded_versions"]["2"] for r in fleet.status(third)["replicas"]}) == 1
        table = subprocess.run(
            [LATCHKEY_BIN, "admin", "keys", "status"],
            env={**os.environ, "LATCHKEY_URL": second.url, "LATCHKEY_ADMIN_KEY": fleet.admin_key},
            capture_output=True, text=True, timeout=60).stdout
        rows = table.split("replicas:\n", 1)[1].splitlines()
        assert rows[0].split()[:3] == ["REPLICA", "WRAPS", "UNDER"] and len(rows) == 4, table
        assert all(re.search(r"\s2\s+2:[0-9a-f]{16}$", r) for r in rows[1:]), table

        # A new owner's data key, made on another replica after the rotation, is wrapped under version 2.
        assert third.admin("POST", "/v1/admin/users", json={"org": "fleet", "id": "late"}).status_code == 201
        late = fleet.connect(third, "user:fleet/late")
        assert fleet.status(first)["versions_in_use"] == {"2": 61}
        for lk in (first, second):
            assert fleet.proxy(lk, late).json()["authorization"] == f"Bearer {fleet.api_keys[late]}"
        r = second.admin("POST", "/v1/admin/keys/verify")
        assert r.status_code == 200 and (r.json()["checked"], r.json()["ok"]) == (61, 61), r.text
    finally:
        fleet.stop()


def test_a_replica_without_the_new_key_holds_the_rotation_back_until_it_has_the_same_key(workdir):
    fleet = Fleet(workdir, "env-keys")
    v1, v2 = new_key(), new_key()
    try:
        # Replica A knows only version 1; replica B has version 2 staged.
        a = fleet.start("replicaA", LATCHKEY_MASTER_KEYS=f"1:{v1}")
        b = fleet.start("replicaB", LATCHKEY_MASTER_KEYS=f"2:{v2},1:{v1}")
        fleet.seed(a, 20)
        # Staged is not current: B wraps a new owner's key under version 1, which A can read.
        assert b.admin("POST", "/v1/admin/users", json={"org": "fleet", "id": "on-b"}).status_code == 201
        on_b = fleet.connect(b, "user:fleet/on-b")
        assert fleet.status(b)["versions_in_use"] == {"1": 21}
        assert fleet.proxy(a, on_b).json()["authorization"] == f"Bearer {fleet.api_keys[on_b]}"

        r = b.admin("POST", "/v1/admin/keys/rotate")
        assert r.status_code == 409 and r.headers["Latchkey-Error"] == "replicas_not_ready", r.text
        message = r.json()["error"]["message"]
        assert a.url.removeprefix("http://") in message and "does not hold version 2" in message
        assert v1 not in r.text and v2 not in r.text
        assert fleet.status(a)["versions_in_use"] == {"1": 21}

        # A restarted with a different key under version 2 still holds it back: the fingerprints differ.
        fleet.replicas.pop("replicaA").stop()
        a = fleet.start("replicaA", LATCHKEY_MASTER_KEYS=f"2:{new_key()},1:{v1}")
        r = b.admin("POST", "/v1/admin/keys/rotate")
        assert r.status_code == 409 and "holds a different key under version 2" in r.json()["error"]["message"], r.text

        # With the same version 2 everywhere, the rotation goes through and both replicas read every credential.
        fleet.replicas.pop("replicaA").stop()
        a = fleet.start("replicaA", LATCHKEY_MASTER_KEYS=f"2:{v2},1:{v1}")
        r = b.admin("POST", "/v1/admin/keys/rotate", json={"batch_size": 100})
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["current_version"], body["rewrapped"], body["remaining"], body["retired"]) == (2, 21, 0, [1]), body
        assert "remove them from LATCHKEY_MASTER_KEY(S)" in body["note"]
        wait_until(lambda: fleet.status(a)["current_version"] == 2, "replica A to take up version 2 at its heartbeat")
        for lk in (a, b):
            for cid, api_key in fleet.api_keys.items():
                assert fleet.proxy(lk, cid).json()["authorization"] == f"Bearer {api_key}"
    finally:
        fleet.stop()


def test_a_replica_that_lacks_the_agreed_version_refuses_to_start(workdir):
    fleet = Fleet(workdir, "late-joiner")
    v1, v2 = new_key(), new_key()
    try:
        b = fleet.start("replicaB", LATCHKEY_MASTER_KEYS=f"2:{v2},1:{v1}")
        assert fleet.status(b)["current_version"] == 2  # a new database takes the highest loaded version
        with pytest.raises(RuntimeError) as exited:
            fleet.start("replicaA", LATCHKEY_MASTER_KEYS=f"1:{v1}")
        assert "master key version 2 is the one the shared database wraps new data keys under" in str(exited.value)
        assert v1 not in str(exited.value) and v2 not in str(exited.value)
    finally:
        fleet.replicas.pop("replicaA", None)
        fleet.stop()
