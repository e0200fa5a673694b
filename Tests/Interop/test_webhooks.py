"""Webhooks: an org's receiver gets connection events in order, signed, and gets them after an outage too.

The receiver is a plain http.server on loopback that records each request and checks its signature the way the
README tells receivers to. Refreshes are forced through the admin API while the Authlib provider is told to fail
once (503, or invalid_grant), so each event happens exactly when the test says.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from conftest import Person, free_port, wait_past, wait_until


def verify(secret: str, headers, body: bytes, tolerance: int = 300) -> bool:
    """The README's receiver check: HMAC-SHA256 of "{timestamp}.{body}" under the secret, and a recent timestamp."""
    timestamp = headers["Latchkey-Webhook-Timestamp"]
    expected = "v1=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["Latchkey-Webhook-Signature"]) and abs(time.time() - int(timestamp)) < tolerance


class Receiver:
    """A webhook receiver on 127.0.0.1 that records every request; it can be stopped and started on the same port."""

    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hooks/latchkey"
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.server = None

    def start(self) -> "Receiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def events(self) -> list[dict]:
        with self.lock:
            return [json.loads(r["body"]) for r in self.requests]

    def wait_for(self, count: int) -> list[dict]:
        def arrived():
            with self.lock:
                return list(self.requests) if len(self.requests) >= count else None

        return wait_until(arrived, f"{count} webhook requests at the receiver")


def register(lk, org: str, url: str, **body) -> str:
    r = lk.admin("PUT", f"/v1/admin/orgs/{org}/webhook", json={"url": url, **body})
    assert r.status_code == 200, r.text
    secret = r.json()["secret"]
    assert secret.startswith("whsec_") and len(secret) == len("whsec_") + 43
    return secret


def force_refresh(lk, connection_id: str):
    return lk.admin("POST", f"/v1/admin/connections/{connection_id}/refresh")


def backoff_ends(lk, connection_id: str) -> float:
    """When the broker's backoff after a transient refresh failure ends: it keeps the connection's refresh lease
    until then, so that no other process tries meanwhile."""
    with sqlite3.connect(lk.db_path, timeout=5) as db:
        [(expires_at,)] = db.execute("SELECT expires_at FROM refresh_leases WHERE connection_id = ?",
                                     (connection_id,)).fetchall()
    return expires_at


def deliveries(lk, org: str) -> list[dict]:
    return lk.admin("GET", f"/v1/admin/orgs/{org}/webhook/deliveries").json()["deliveries"]


def test_a_receiver_gets_connection_events_in_order_with_valid_signatures(world):
    lk, peer = world.lk, world.peer
    receiver = Receiver().start()
    try:
        org, key = world.org_with_agent()
        secret = register(lk, org, receiver.url)
        shown = lk.admin("GET", f"/v1/admin/orgs/{org}/webhook").json()
        assert shown["url"] == receiver.url and "secret" not in shown
        assert shown["events"] == ["connected", "refresh_failed", "needs_reauth", "recovered", "revoked"]

        Person(peer).connect(world.connect_link(key))                              # connected (a)
        Person(peer).connect(world.connect_link(key, provider="authlib-post"))     # connected (b)
        by_provider = {c["provider"]: c["id"] for c in world.connections(key)}
        a, b = by_provider["authlib-basic"], by_provider["authlib-post"]

        peer.set_mode(token="unavailable", count=1)
        assert force_refresh(lk, a).status_code == 502        # refresh_failed (a); the valid token is kept
        peer.set_mode(token="invalid_grant", count=1)
        r = force_refresh(lk, b)                              # needs_reauth (b)
        assert r.status_code == 424 and r.json()["error"]["code"] == "reauth_required"
        wait_past(backoff_ends(lk, a), "the broker's backoff after a transient failure")
        r = force_refresh(lk, a)                              # recovered (a)
        assert r.status_code == 200 and r.json()["last_error"] is None
        assert Person(peer).connect(world.connect_link(key, provider="authlib-post", connection_id=b)).status_code == 200
        assert lk.call("DELETE", f"/v1/integrations/{a}", key).status_code == 200   # revoked (a)

        got = receiver.wait_for(7)
        # Latchkey has recorded every delivery's outcome: it has nothing left to send.
        wait_until(lambda: len(ds := deliveries(lk, org)) == 7 and all(d["status"] != "pending" for d in ds),
                   "Latchkey to record the 7 deliveries")
        assert len(receiver.requests) == 7  # nothing more, nothing twice
        events = [json.loads(g["body"]) for g in got]
        assert [(e["type"], e["data"]["connection"]) for e in events] == [
            ("connected", a), ("connected", b), ("refresh_failed", a), ("needs_reauth", b), ("recovered", a),
            ("connected", b), ("revoked", a)]
        for g, e in zip(got, events):
            assert verify(secret, g["headers"], g["body"]), g["headers"]
            assert not verify(secret + "x", g["headers"], g["body"])
            assert g["path"] == "/hooks/latchkey"
            assert g["headers"]["Content-Type"] == "application/json"
            assert g["headers"]["Latchkey-Webhook-Id"] == e["id"] and e["id"].startswith("evt_")
            assert e["org"] == org and e["data"]["owner"] == f"agent:{org}/team/proj/agent"
            assert set(e) == {"id", "type", "created_at", "org", "data"}
        assert len({e["id"] for e in events}) == 7
        failed, reauth, recovered = events[2]["data"], events[3]["data"], events[4]["data"]
        assert failed == {"connection": a, "provider": "authlib-basic", "owner": f"agent:{org}/team/proj/agent",
                          "state": "active", "error": "provider_unavailable"}
        assert reauth["state"] == "needs_reauth" and reauth["error"] == "invalid_grant"
        assert recovered["state"] == "active" and "error" not in recovered
        assert events[5]["data"]["state"] == "active" and events[6]["data"]["state"] == "revoked"

        recorded = deliveries(lk, org)
        assert [d["event"] for d in recorded] == [e["type"] for e in reversed(events)]  # newest first
        assert all(d["status"] == "delivered" and d["attempts"] == 1 and d["last_status_code"] == 200
                   and d["delivered_at"] and d["next_attempt_at"] is None for d in recorded)
    finally:
        receiver.stop()


def test_a_receiver_that_was_down_gets_the_events_after_it_comes_back(world):
    lk, peer = world.lk, world.peer
    receiver = Receiver().start()
    try:
        org, key = world.org_with_agent()
        secret = register(lk, org, receiver.url, events=["refresh_failed", "recovered"])
        Person(peer).connect(world.connect_link(key))
        [c] = world.connections(key)

        receiver.stop()
        peer.set_mode(token="unavailable", count=1)
        assert force_refresh(lk, c["id"]).status_code == 502   # refresh_failed, while nobody listens
        wait_past(backoff_ends(lk, c["id"]), "the broker's backoff after a transient failure")
        assert force_refresh(lk, c["id"]).status_code == 200   # recovered, queued behind it

        # The first event is retried with backoff (about 1 s, then 2 s); the second waits its turn.
        recovered, failed = wait_until(lambda: (ds := deliveries(lk, org))[-1]["attempts"] >= 2 and ds,
                                       "a second attempt at the first delivery", interval=0.2)
        assert failed["event"] == "refresh_failed" and failed["status"] == "pending"
        assert failed["attempts"] >= 2 and failed["last_error"] == "connect_failed" and failed["last_status_code"] is None
        assert failed["next_attempt_at"] and failed["delivered_at"] is None
        assert recovered["event"] == "recovered" and recovered["status"] == "pending" and recovered["attempts"] == 0
        one = lk.admin("GET", f"/v1/admin/orgs/{org}/webhook/deliveries/{failed['id']}").json()
        log = one["attempt_log"]
        assert [x["attempt"] for x in log] == list(range(1, len(log) + 1))
        assert {x["error"] for x in log} == {"connect_failed"} and {x["status_code"] for x in log} == {None}
        assert lk.admin("GET", f"/v1/admin/orgs/{org}/webhook/deliveries/whd_nope").status_code == 404

        receiver.start()  # the same port
        got = receiver.wait_for(2)
        events = [json.loads(g["body"]) for g in got]
        assert [e["type"] for e in events] == ["refresh_failed", "recovered"]
        assert all(verify(secret, g["headers"], g["body"]) for g in got)
        assert events[0]["id"] == failed["event_id"]
        recorded = deliveries(lk, org)
        assert [(d["event"], d["status"]) for d in recorded] == [("recovered", "delivered"), ("refresh_failed", "delivered")]
        assert recorded[1]["attempts"] >= 3 and recorded[1]["last_status_code"] == 200
    finally:
        receiver.stop()


def test_webhook_configuration_is_validated_audited_and_never_shows_its_secret_again(world):
    lk, peer = world.lk, world.peer
    receiver = Receiver().start()
    try:
        org, key = world.org_with_agent()
        path_token = "tok-" + hashlib.sha256(org.encode()).hexdigest()[:16]  # receivers often put a token in the path
        url = receiver.url + "/" + path_token
        base = f"/v1/admin/orgs/{org}/webhook"

        def refused(body, field, status=400):
            r = lk.admin("PUT", base, json=body)
            assert r.status_code == status and r.json()["error"].get("field") == field, (body, r.status_code, r.text)

        refused({"url": "http://hooks.example.com/x"}, "url")   # plain http only to loopback
        refused({"url": "ftp://127.0.0.1/x"}, "url")
        refused({"url": "not a url"}, "url")
        refused({}, "url")
        refused({"url": url, "events": ["connected", "exploded"]}, "events")
        refused({"url": url, "events": []}, "events")
        assert lk.admin("PUT", f"/v1/admin/orgs/{org}-missing/webhook", json={"url": url}).status_code == 404
        assert lk.call("PUT", base, key, json={"url": url}).status_code == 403  # agents cannot
        assert lk.admin("GET", base).status_code == 404
        assert lk.admin("GET", base + "/deliveries?limit=0").json()["error"]["field"] == "limit"

        first = register(lk, org, url, events=["revoked"])
        second = register(lk, org, url, events=["revoked", "revoked"])  # replacing rotates the secret
        assert first != second
        assert lk.admin("GET", base).json()["events"] == ["revoked"]

        # Only the events asked for are sent, signed with the current secret.
        Person(peer).connect(world.connect_link(key))
        [c] = world.connections(key)
        assert lk.call("DELETE", f"/v1/integrations/{c['id']}", key).status_code == 200
        [got] = receiver.wait_for(1)
        assert json.loads(got["body"])["type"] == "revoked"
        assert verify(second, got["headers"], got["body"]) and not verify(first, got["headers"], got["body"])

        r = lk.admin("DELETE", base)
        assert r.status_code == 200 and r.json() == {"org": org, "removed": True}
        assert lk.admin("DELETE", base).status_code == 404
        assert lk.admin("GET", base + "/deliveries").json()["deliveries"] == []

        audit = lk.admin("GET", f"/v1/admin/audit?owner=org:{org}").json()["events"]
        changes = [(e["action"], e.get("detail")) for e in audit if e["action"].startswith("webhook.")]
        assert changes == [
            ("webhook.removed", None),
            ("webhook.replaced", f"http://127.0.0.1:{receiver.port} events=revoked"),
            ("webhook.registered", f"http://127.0.0.1:{receiver.port} events=revoked"),
        ]
        text = json.dumps(audit)
        log = lk.log_path.read_bytes()
        db = lk.db_bytes()
        for secret in (first, second):
            assert secret not in text and secret.encode() not in log and secret.encode() not in db
        assert path_token not in text and path_token.encode() not in log
    finally:
        receiver.stop()
