#!/usr/bin/env bash
# Proxy benchmark, run by hand (not part of `make test`):
#   (a) nginx serving a small JSON body directly
#   (b) nginx as a reverse proxy to (a), adding a static Authorization header
#   (c) Latchkey's proxy to (a), through a manifest whose base URL is the loopback nginx
# Each is measured with wrk in the same run, with the same threads, connections and duration.
# Prints requests/s, p50 and p99 for each, the ratios c/b and c/a, the connections each path opened to the upstream
# (from the upstream's access log) and Latchkey's RSS before and after (c).
#
#   bash benchmarks/proxy/run.sh [--connections 64] [--duration 10s] [--threads 2]
#   PROFILE=/tmp/prof bash benchmarks/proxy/run.sh   also samples Latchkey with perf during (c)
set -euo pipefail
cd "$(dirname "$0")/../.."
. benchmarks/lib.sh
wrk_options "$@"
bench_deps

swift build -c release --product latchkey >/dev/null
BIN=.build/release/latchkey

WORK=$(mktemp -d /tmp/latchkey-bench.XXXXXX)
PORT_A=$(free_port); PORT_B=$(free_port); PORT_L=$(free_port)
cleanup() { [ -n "${LK_PID:-}" ] && kill "$LK_PID" 2>/dev/null; "$NGINX" -p "$WORK" -c nginx.conf -s stop 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

mkdir -p "$WORK/logs"
cat > "$WORK/nginx.conf" <<CONF
worker_processes 1;
error_log $WORK/logs/error.log warn;
pid $WORK/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 100000;
  # The upstream logs each request's connection number: how many connections each path opened to it.
  log_format connection '\$connection';
  upstream upstream_a { server 127.0.0.1:$PORT_A; keepalive 128; }
  server {
    listen 127.0.0.1:$PORT_A;
    access_log $WORK/logs/upstream.log connection buffer=256k flush=200ms;
    $UPSTREAM_LOCATION
  }
  server {
    listen 127.0.0.1:$PORT_B;
    location / {
      proxy_pass http://upstream_a;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Authorization "Bearer static-benchmark-token";
    }
  }
}
CONF
"$NGINX" -p "$WORK" -c nginx.conf

write_provider "$WORK/providers" "$PORT_A"
echo "" > "$WORK/latchkey.yaml"
ADMIN=bench-admin-$RANDOM$RANDOM
LATCHKEY_CONFIG=$WORK/latchkey.yaml LATCHKEY_PORT=$PORT_L LATCHKEY_DATABASE_URL=sqlite:$WORK/db.sqlite \
  LATCHKEY_MASTER_KEY_FILE=$WORK/master.key LATCHKEY_ADMIN_KEY=$ADMIN LATCHKEY_PROVIDERS=$WORK/providers \
  LATCHKEY_LOG_LEVEL=warning "$BIN" serve > "$WORK/latchkey.log" 2>&1 &
LK_PID=$!
L=http://127.0.0.1:$PORT_L
wait_healthy "$L"
KEY=$(bootstrap_agent "$L" "$ADMIN")

# upstream_connections MARK: distinct upstream connections in the log since line MARK (after nginx flushes it).
log_lines() { sleep 0.5; wc -l < "$WORK/logs/upstream.log"; }
upstream_connections() { sleep 0.5; tail -n +$(( $1 + 1 )) "$WORK/logs/upstream.log" | sort -u | wc -l; }
rss_mib() { echo $(( $(ps -o rss= -p "$LK_PID") / 1024 )); }

echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION on $(nproc) cores (all peers share them)"
MARK=$(log_lines)
A=$(measure a "http://127.0.0.1:$PORT_A/items")
CONN_A=$(upstream_connections "$MARK"); MARK=$(log_lines)
B=$(measure b "http://127.0.0.1:$PORT_B/items")
CONN_B=$(upstream_connections "$MARK"); MARK=$(log_lines)
RSS_IDLE=$(rss_mib)
if [ -n "${PROFILE:-}" ]; then
  # perf samples Latchkey while (c) runs; the report lands in $PROFILE (a folder).
  mkdir -p "$PROFILE"
  perf record -q -F 499 -g -p "$LK_PID" -o "$PROFILE/perf.data" -- sleep "${DURATION%s}" 2>/dev/null &
  PERF_PID=$!
fi
C=$(measure c "$L/v1/proxy/bench/items" "Authorization: Bearer $KEY")
CONN_C=$(upstream_connections "$MARK")
RSS_LOADED=$(rss_mib)
if [ -n "${PROFILE:-}" ]; then
  wait "$PERF_PID" || true
  perf report -i "$PROFILE/perf.data" --no-children --sort dso --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -12 > "$PROFILE/by-dso.txt" || true
  perf report -i "$PROFILE/perf.data" --no-children --sort sym --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -40 > "$PROFILE/by-symbol.txt" || true
  perf report -i "$PROFILE/perf.data" --no-children --sort comm --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -12 > "$PROFILE/by-thread.txt" || true
fi
python3 - "$A" "$B" "$C" <<'PY'
import sys
rows = [line.split() for line in sys.argv[1:]]
names = {"a": "(a) nginx direct", "b": "(b) nginx reverse proxy", "c": "(c) Latchkey proxy"}
print(f"{'path':26} {'req/s':>10} {'p50 ms':>9} {'p99 ms':>9} {'non-2xx':>8}")
for name, rps, p50, p99, errors, _ in rows:
    print(f"{names[name]:26} {float(rps):10.0f} {float(p50):9.3f} {float(p99):9.3f} {errors:>8}")
a, b, c = (dict(zip(["rps", "p50", "p99"], map(float, r[1:4]))) for r in rows)
print(f"c/b = {c['rps'] / b['rps']:.3f} (target >= 0.8)   c/a = {c['rps'] / a['rps']:.3f}   "
      f"p99 added over (a) = {c['p99'] - a['p99']:.3f} ms (target <= 1 ms)")
PY
echo "upstream connections opened: (a) $CONN_A (wrk's own)  (b) $CONN_B  (c) $CONN_C  (issue 16 target for c: <= $((2 * CONNECTIONS)))"
echo "Latchkey RSS: idle $RSS_IDLE MiB, after (c) $RSS_LOADED MiB"
