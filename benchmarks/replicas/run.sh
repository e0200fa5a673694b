#!/usr/bin/env bash
# Replica benchmark, run by hand (not part of `make test`): Latchkey's proxy on one shared PostgreSQL,
#   (1) one replica behind an nginx load balancer (an upstream of one server, keepalive)
#   (2) two replicas behind the same nginx configuration with both servers
# Both replicas share the database, the master key file and the admin key, and both run during (1) and (2), so
# only the balancing differs. Each is measured with wrk in the same run, with the same threads, connections and
# duration. Prints requests/s, p50 and p99 for each, the ratio 2/1, and PostgreSQL transactions per proxied call.
#
#   bash benchmarks/replicas/run.sh [--connections 64] [--duration 10s] [--threads 2]
set -euo pipefail
cd "$(dirname "$0")/../.."
. benchmarks/lib.sh
wrk_options "$@"
bench_deps
PSQL=$(command -v psql || ls /usr/lib/postgresql/*/bin/psql | sort -V | tail -n 1)

swift build -c release --product latchkey >/dev/null
BIN=.build/release/latchkey

WORK=$(mktemp -d /tmp/latchkey-bench.XXXXXX)
PG=""
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  "$NGINX" -p "$WORK" -c nginx.conf -s stop 2>/dev/null || true
  [ -n "$PG" ] && .ci/postgres.sh stop "$PG"
  rm -rf "$WORK"
}
trap cleanup EXIT
PG=$(.ci/postgres.sh start)
PG_URL=$(cat "$PG/url")

PORT_A=$(free_port); PORT_1=$(free_port); PORT_2=$(free_port); PORT_LB1=$(free_port); PORT_LB2=$(free_port)
mkdir -p "$WORK/logs"
cat > "$WORK/nginx.conf" <<CONF
worker_processes 1;
error_log $WORK/logs/error.log warn;
pid $WORK/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 100000;
  upstream one_replica { server 127.0.0.1:$PORT_1; keepalive 128; }
  upstream two_replicas { server 127.0.0.1:$PORT_1; server 127.0.0.1:$PORT_2; keepalive 128; }
  server {
    listen 127.0.0.1:$PORT_A;
    $UPSTREAM_LOCATION
  }
  server {
    listen 127.0.0.1:$PORT_LB1;
    location / { proxy_pass http://one_replica; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
  server {
    listen 127.0.0.1:$PORT_LB2;
    location / { proxy_pass http://two_replicas; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
CONF
"$NGINX" -p "$WORK" -c nginx.conf

write_provider "$WORK/providers" "$PORT_A"
echo "" > "$WORK/latchkey.yaml"
ADMIN=bench-admin-$RANDOM$RANDOM
replica() {  # PORT NAME: starts a replica on the shared database, master key file and admin key
  LATCHKEY_CONFIG=$WORK/latchkey.yaml LATCHKEY_PORT=$1 LATCHKEY_DATABASE_URL="$PG_URL?sslmode=disable" \
    LATCHKEY_MASTER_KEY_FILE=$WORK/master.key LATCHKEY_ADMIN_KEY=$ADMIN LATCHKEY_PROVIDERS=$WORK/providers \
    LATCHKEY_LOG_LEVEL=warning "$BIN" serve > "$WORK/$2.log" 2>&1 &
  PIDS+=($!)
  wait_healthy "http://127.0.0.1:$1"
}
replica "$PORT_1" replica1   # creates the master key file the second replica reads
replica "$PORT_2" replica2
KEY=$(bootstrap_agent "http://127.0.0.1:$PORT_1" "$ADMIN")
curl -sf -H "Authorization: Bearer $KEY" "http://127.0.0.1:$PORT_2/v1/proxy/bench/items" >/dev/null

# Committed transactions in the cluster. The statistics reach pg_stat_database up to a second late, so wait first.
commits() { sleep 1.5; "$PSQL" "$PG_URL" -tAc "SELECT sum(xact_commit) FROM pg_stat_database"; }
# Proxied calls a replica has served (its /metrics; the read itself adds a scan of connections).
served() { curl -sf "http://127.0.0.1:$1/metrics" | awk '/^latchkey_proxy_duration_seconds_count/ {n += $NF} END {print n + 0}'; }
# Index and sequential scans per table (which reads the calls make), as "table:scans" words.
scans() { "$PSQL" "$PG_URL" -tAc "SELECT string_agg(relname || ':' || (coalesce(idx_scan, 0) + coalesce(seq_scan, 0)), ' ') FROM pg_stat_user_tables"; }
# Background transactions (lease and refresher polls, this query itself) while idle, per second.
I0=$(commits); sleep 5; I1=$(commits)
IDLE_RATE=$(python3 -c "print(($I1 - $I0) / 6.5)")

echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION on $(nproc) cores (wrk, nginx, PostgreSQL and both replicas share them)"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
X0=$(commits); S0=$(scans)
R1=$(measure one "http://127.0.0.1:$PORT_LB1/v1/proxy/bench/items" "Authorization: Bearer $KEY"); X1=$(commits); S1=$(scans)
C1=$(served "$PORT_1"); C2=$(served "$PORT_2")
R2=$(measure two "http://127.0.0.1:$PORT_LB2/v1/proxy/bench/items" "Authorization: Bearer $KEY"); X2=$(commits); S2=$(scans)
echo "(2) calls served: replica 1 $(( $(served "$PORT_1") - C1 )), replica 2 $(( $(served "$PORT_2") - C2 ))"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$R1" "$R2" "$X0" "$X1" "$X2" "$IDLE_RATE" "${DURATION%s}" "$S0" "$S1" "$S2" <<'PY'
import sys
rows = [sys.argv[1].split(), sys.argv[2].split()]
x0, x1, x2 = (int(v) for v in sys.argv[3:6])
idle, seconds = float(sys.argv[6]), float(sys.argv[7])
names = {"one": "(1) one replica", "two": "(2) two replicas"}
print(f"{'path':20} {'req/s':>10} {'p50 ms':>9} {'p99 ms':>9} {'non-2xx':>8} {'pg xact/call':>13}")
for (name, rps, p50, p99, errors, total), commits in zip(rows, (x1 - x0, x2 - x1)):
    # The window between the two reads is the run plus the reads' own waits (about 2 s).
    per_call = max(0.0, commits - idle * (seconds + 2)) / int(total)
    print(f"{names[name]:20} {float(rps):10.0f} {float(p50):9.3f} {float(p99):9.3f} {errors:>8} {per_call:13.4f}")
one, two = (float(r[1]) for r in rows)
print(f"2/1 = {two / one:.3f} (ideal 2.0 with a core per replica; this machine has {__import__('os').cpu_count()})   "
      f"idle background: {idle:.1f} xact/s")
def table_scans(words):
    return {w.rsplit(":", 1)[0]: int(w.rsplit(":", 1)[1]) for w in words.split()}
s0, s1, s2 = (table_scans(w) for w in sys.argv[8:11])
for (name, *_, total), (before, after) in zip(rows, ((s0, s1), (s1, s2))):
    busy = {t: after.get(t, 0) - before.get(t, 0) for t in after if after.get(t, 0) > before.get(t, 0)}
    print(f"{names[name]}: table scans per 1,000 calls: "
          + (", ".join(f"{t} {n * 1000 / int(total):.1f}" for t, n in sorted(busy.items())) or "none"))
PY
