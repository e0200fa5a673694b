"""The proxy streams: request bodies go to the provider while the caller sends them, answers come back as the
provider sends them, and the 10 MiB cap holds either way."""

from __future__ import annotations

import hashlib
import time

import pytest
import requests

from conftest import Person

MIB = 1024 * 1024


@pytest.fixture
def connected(world):
    org, key = world.org_with_agent()
    Person(world.peer).connect(world.connect_link(key))
    return org, key


def chunks(total: int, size: int = 64 * 1024, pause: float = 0.0):
    sent = 0
    while sent < total:
        n = min(size, total - sent)
        yield bytes([65 + (sent // size) % 26]) * n
        sent += n
        if pause:
            time.sleep(pause)


def body_of(total: int, size: int = 64 * 1024) -> bytes:
    return b"".join(chunks(total, size))


def test_a_chunked_upload_of_several_mebibytes_reaches_the_provider_whole(world, connected):
    _org, key = connected
    total = 6 * MIB
    r = requests.post(f"{world.lk.url}/v1/proxy/authlib-basic/upload", data=chunks(total),
                      headers={"Authorization": f"Bearer {key}", "Content-Type": "application/octet-stream"}, timeout=60)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["user"] == "alice"
    assert answer["bytes"] == total and answer["sha256"] == hashlib.sha256(body_of(total)).hexdigest()
    assert answer["chunked"] is True  # passed on as it came, not gathered first


def test_a_large_upload_of_known_length_keeps_its_content_length(world, connected):
    _org, key = connected
    body = body_of(3 * MIB)
    r = world.lk.call("PUT", "/v1/proxy/authlib-basic/upload", key, data=body,
                      headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 200, r.text
    assert r.json()["bytes"] == len(body) and r.json()["content_length"] == str(len(body))
    assert r.json()["sha256"] == hashlib.sha256(body).hexdigest()


def test_a_body_over_the_cap_is_refused_with_413(world, connected):
    _org, key = connected
    # Declared too large: refused before anything is read or sent.
    r = world.lk.call("POST", "/v1/proxy/authlib-basic/upload", key, data=b"x" * (10 * MIB + 1))
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    assert r.headers["Latchkey-Error"] == "payload_too_large" and r.json()["error"]["field"] == "body"
    # Chunked, so the size shows only on the way: the upload is aborted, never passed on short.
    r = requests.post(f"{world.lk.url}/v1/proxy/authlib-basic/upload", data=chunks(11 * MIB),
                      headers={"Authorization": f"Bearer {key}"}, timeout=60)
    assert r.status_code == 413, r.text
    assert r.json()["error"]["code"] == "payload_too_large"
    # The next call on the same connection works.
    assert world.lk.call("GET", "/v1/proxy/authlib-basic/items", key).status_code == 200


def test_an_answer_streams_back_as_the_provider_sends_it(world, connected):
    _org, key = connected
    started = time.monotonic()
    with requests.get(f"{world.lk.url}/v1/proxy/authlib-basic/drip?chunks=5&ms=500",
                      headers={"Authorization": f"Bearer {key}"}, stream=True, timeout=30) as r:
        assert r.status_code == 200
        head_at = time.monotonic() - started
        lines = []
        first_line_at = None
        for line in r.iter_lines():
            if first_line_at is None:
                first_line_at = time.monotonic() - started
            lines.append(line.decode())
    total = time.monotonic() - started
    assert lines == [f"line-{i}" for i in range(5)]
    # The provider spends about 2.5 s; the caller has the head and the first line long before that.
    assert total >= 2.4
    assert head_at + 1.5 < total and first_line_at + 1.5 < total, (head_at, first_line_at, total)


def test_a_buffered_body_is_retried_but_a_streamed_one_is_sent_once(world, connected):
    lk, peer = world.lk, world.peer
    _org, key = connected
    try:
        # PUT is idempotent: a small body is held, so a 503 is retried and the call succeeds.
        before = len(peer.api_log())
        peer.set_mode(api="unavailable", count=1)
        r = lk.call("PUT", "/v1/proxy/authlib-basic/upload", key, data=b"small")
        assert r.status_code == 200 and r.json()["bytes"] == 5
        assert len(peer.api_log()) - before == 2
        # A streamed body is gone once sent: the provider's 503 comes back as it is, after one attempt.
        before = len(peer.api_log())
        peer.set_mode(api="unavailable", count=1)
        r = requests.put(f"{lk.url}/v1/proxy/authlib-basic/upload", data=chunks(1 * MIB),
                         headers={"Authorization": f"Bearer {key}"}, timeout=60)
        assert r.status_code == 503
        assert len(peer.api_log()) - before == 1
    finally:
        peer.set_mode(api="normal")
