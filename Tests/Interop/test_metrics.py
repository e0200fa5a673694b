"""`GET /metrics`: Prometheus text format, scraped and parsed; the counters move with the calls made."""

from __future__ import annotations

import re

import requests

from conftest import Person

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def scrape(lk) -> tuple[dict, dict]:
    """(samples keyed by (name, frozenset(labels)), types by metric name), checking every line parses."""
    r = requests.get(lk.url + "/metrics", timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    samples, types = {}, {}
    for line in r.text.splitlines():
        if not line:
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            types[name] = kind
            continue
        if line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, f"not Prometheus text format: {line!r}"
        labels = frozenset(LABEL.findall(m.group(3) or ""))
        samples[(m.group(1), labels)] = float(m.group(4))
    return samples, types


def value(samples, name, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_are_prometheus_text_and_move_with_the_calls(world):
    lk, peer = world.lk, world.peer
    org, key = world.org_with_agent()
    Person(peer).connect(world.connect_link(key))
    world.platform_key("metered-key")  # the org has no key of its own: its calls are managed, and metered
    assert lk.admin("POST", f"/v1/admin/orgs/{org}/credits", json={"add": 5}).status_code == 200
    [basic] = [c for c in world.connections(key) if c["provider"] == "authlib-basic"]

    before, types = scrape(lk)
    assert types["latchkey_http_requests_total"] == "counter"
    assert types["latchkey_connections"] == "gauge"
    for _ in range(3):
        assert lk.call("GET", "/v1/proxy/authlib-basic/items", key).status_code == 200
    assert lk.call("GET", "/v1/proxy/metered-key/items", key).status_code == 200
    assert lk.admin("POST", f"/v1/admin/connections/{basic['id']}/refresh").status_code == 200
    assert lk.call("GET", "/v1/proxy/authlib-basic/items", "lk_agent_wrong").status_code == 401
    after, types = scrape(lk)

    route = "/v1/proxy/{provider}/**"
    assert value(after, "latchkey_http_requests_total", method="GET", route=route, status="200") - \
        value(before, "latchkey_http_requests_total", method="GET", route=route, status="200") == 4
    assert value(after, "latchkey_http_requests_total", method="GET", route=route, status="401") - \
        value(before, "latchkey_http_requests_total", method="GET", route=route, status="401") == 1
    assert types["latchkey_proxy_duration_seconds"] == "histogram"
    count = "latchkey_proxy_duration_seconds_count"
    assert value(after, count, provider="authlib-basic", outcome="2xx") - value(before, count, provider="authlib-basic", outcome="2xx") == 3
    buckets = sorted((float(dict(k[1])["le"]) if dict(k[1])["le"] != "+Inf" else float("inf"), v)
                     for k, v in after.items() if k[0] == "latchkey_proxy_duration_seconds_bucket"
                     and dict(k[1]).get("provider") == "authlib-basic" and dict(k[1]).get("outcome") == "2xx")
    assert buckets and all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:]))  # cumulative
    assert value(after, "latchkey_refreshes_total", provider="authlib-basic", outcome="success") - \
        value(before, "latchkey_refreshes_total", provider="authlib-basic", outcome="success") == 1
    assert value(after, "latchkey_credits_used_total", provider="metered-key") - \
        value(before, "latchkey_credits_used_total", provider="metered-key") == 1
    active = lk.admin("GET", "/v1/admin/connections", params={"state": "active"}).json()["connections"]
    assert value(after, "latchkey_connections", state="active") == len(active)
    # No secret, token or raw path with an id in the exposition.
    text = requests.get(lk.url + "/metrics", timeout=10).text
    for token in peer.issued():
        assert token not in text
    assert key not in text and basic["id"] not in text
