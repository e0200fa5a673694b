#!/usr/bin/env bash
# Counts per request, run by hand (not part of `make test`): how many retains, releases, object allocations, mallocs
# and task allocations Latchkey's proxy (c) and the bare forwarder (d) make per proxied call, through uprobes on the
# Swift runtime and libc (`perf probe`, root). Unlike time, these counts do not move with the host's speed: the same
# binary gives the same figures to a fraction of a per cent, so a change to the hot path can be judged by them where
# CPU per request scatters by several per cent (benchmarks/README.md, session 23).
#
#   bash benchmarks/proxy/counts.sh [LATCHKEY_BINARY] [FORWARDER_BINARY]
# Both default to the release builds; the probes are removed at the end.
set -euo pipefail
cd "$(dirname "$0")/../.."
. benchmarks/lib.sh
bench_deps
if [ $# -lt 1 ]; then swift build -c release --product latchkey >/dev/null; fi
if [ $# -lt 2 ]; then swift build -c release --product latchkey-bench-forwarder >/dev/null; fi
BIN=${1:-.build/release/latchkey}
FORWARDER=${2:-.build/release/latchkey-bench-forwarder}
SWIFT_LIB=$(dirname "$(readlink -f "$(command -v swift)")")/../lib/swift/linux
LIBC=$(ldd "$BIN" | awk '/libc.so.6/{print $3}')

WORK=$(mktemp -d /tmp/latchkey-counts.XXXXXX)
PORT_A=$(free_port); PORT_L=$(free_port); PORT_D=$(free_port)
PROBES=()
cleanup() {
  [ -n "${LK_PID:-}" ] && kill "$LK_PID" 2>/dev/null
  [ -n "${FW_PID:-}" ] && kill "$FW_PID" 2>/dev/null
  "$NGINX" -p "$WORK" -c nginx.conf -s stop 2>/dev/null || true
  for probe in "${PROBES[@]}"; do perf probe -q -d "$probe" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
# add_probe LIBRARY FUNCTION: a uprobe on FUNCTION's entry; its event name goes into PROBES.
add_probe() {
  local event
  event=$(perf probe -x "$1" --add "$2" 2>&1 | awk '/Added new event/{getline; print $1; exit}')
  [ -n "$event" ] || { echo "perf probe could not add $2 in $1" >&2; exit 1; }
  PROBES+=("$event")
}
add_probe "$SWIFT_LIB/libswiftCore.so" swift_retain
add_probe "$SWIFT_LIB/libswiftCore.so" swift_release
add_probe "$SWIFT_LIB/libswiftCore.so" swift_allocObject
add_probe "$LIBC" malloc
add_probe "$SWIFT_LIB/libswift_Concurrency.so" swift_task_alloc

mkdir -p "$WORK/logs"
cat > "$WORK/nginx.conf" <<CONF
worker_processes 1;
error_log $WORK/logs/error.log warn;
pid $WORK/nginx.pid;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 100000;
  server { listen 127.0.0.1:$PORT_A; $UPSTREAM_LOCATION }
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
"$FORWARDER" --port "$PORT_D" --upstream "http://127.0.0.1:$PORT_A" --client event-loop > "$WORK/forwarder.log" 2>&1 &
FW_PID=$!
L=http://127.0.0.1:$PORT_L
wait_healthy "$L"
KEY=$(bootstrap_agent "$L" "$ADMIN")
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT_D/v1/proxy/bench/items" >/dev/null && break; sleep 0.1; done

# count NAME PID URL [HEADER]: warms the path up, then counts the probes' events in PID while wrk sends 3 s of calls
# (16 connections); prints NAME, the requests and each count per request. The counting window is a second longer than
# the load, so the idle process's own work (a few timers a second) is counted too: a few events per request at most.
count() {
  local name=$1 pid=$2 url=$3 header=("${@:4}") events
  events=$(IFS=,; echo "${PROBES[*]}")
  wrk -t1 -c16 -d2s ${header:+-H "${header[0]}"} "$url" >/dev/null
  perf stat -x, -e "$events" -p "$pid" -o "$WORK/$name.stat" -- sleep 4 &
  local stat=$!
  sleep 0.5
  wrk -t1 -c16 -d3s ${header:+-H "${header[0]}"} "$url" > "$WORK/$name.wrk"
  wait "$stat"
  echo "$name $(awk '/requests in/{print $1}' "$WORK/$name.wrk") $(awk -F, '$1 ~ /^[0-9]+$/ {printf "%s ", $1}' "$WORK/$name.stat")"
}
D=$(count d "$FW_PID" "http://127.0.0.1:$PORT_D/v1/proxy/bench/items")
C=$(count c "$LK_PID" "$L/v1/proxy/bench/items" "Authorization: Bearer $KEY")
python3 - "$D" "$C" <<'PY'
import sys
names = ["retains", "releases", "objects allocated", "mallocs", "task allocations"]
rows = {}
for arg in sys.argv[1:]:
    name, requests, *counts = arg.split()
    rows[name] = [int(c) / int(requests) for c in counts]
    print(f"({name}) {int(requests):6d} requests: " + "  ".join(f"{n} {v:.1f}" for n, v in zip(names, rows[name])))
print("per request, c/d: " + "  ".join(f"{n} {c / d:.3f}" for n, c, d in zip(names, rows["c"], rows["d"])))
PY
