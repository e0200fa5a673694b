#!/usr/bin/env bash
# Proxy benchmark, run by hand (not part of `make test`). In one run, with the same wrk settings:
#   (a) nginx serving a small JSON body directly
#   (b) nginx as a reverse proxy to (a), adding a static Authorization header
#   (d) a bare forwarder (benchmarks/forwarder) on the client Latchkey's proxy uses, with none of Latchkey's logic
#   (c) Latchkey's proxy to (a), through a manifest whose base URL is the loopback nginx
# Prints requests/s, p50 and p99 of each, the ratios c/d, c/b and c/a, the p99 (c) adds over (a), the connections each
# path opened to the upstream (from the upstream's access log), and Latchkey's RSS idle and after each soak round.
#
#   bash benchmarks/proxy/run.sh [--connections 64] [--duration 10s] [--threads 2] [--soak 60s] [--rounds 3] [--load] [--paced RATE]
#   --soak T --rounds N   after (c), N rounds of T at full load, Latchkey's RSS printed after each (--soak 0 skips)
#   --load                also (c) spread over 1,000 agents and 10,000 connections, each load pass printed as a ratio to
#                         a single-connection pass of (c) just before it (--repeat N pairs; the median counts)
#   --repeat N            (d) and (c) measured N times, alternately; the ratios use the medians
#   --side-by-side N      also N rounds of (d) and (c) at the same time (wrk -t1 against each, for DURATION): the host's
#                         swings then reach both alike, so their ratio of CPU per request holds steady where rounds
#                         taken one after the other scatter by a third
#   --paced RATE          also (a), (b), (d) and (c) with the same connections, each waiting a random 0 to 2 x CONNECTIONS / RATE
#                         seconds before each request, so that they offer about RATE requests a second: their p99 is then
#                         the time a call takes, where at full load it is mostly the queue (by Little's law, at least
#                         CONNECTIONS / throughput); with --repeat N, N such rounds, the medians of (c)'s and (d)'s p99
#                         over each round's (a) printed
#   PROXY_CLIENT=curl     Latchkey's proxy and the forwarder on libcurl instead of the event-loop client
#   PROFILE=/tmp/prof     also samples Latchkey with perf during (c)
#   PIN=1                 Latchkey and the forwarder on core 0, nginx and wrk on core 1: req/s of (c) and (d) then
#                         measure the server's own CPU per request, without the noise of sharing cores
set -euo pipefail
cd "$(dirname "$0")/../.."
. benchmarks/lib.sh
wrk_options "$@"
bench_deps

swift build -c release --product latchkey >/dev/null
swift build -c release --product latchkey-bench-forwarder >/dev/null
BIN=.build/release/latchkey
FORWARDER=.build/release/latchkey-bench-forwarder
PROXY_CLIENT=${PROXY_CLIENT:-event-loop}
SERVER_ON=""; PEERS_ON=""
if [ "${PIN:-0}" = 1 ]; then SERVER_ON="taskset -c 0"; PEERS_ON="taskset -c 1"; fi

WORK=$(mktemp -d /tmp/latchkey-bench.XXXXXX)
PORT_A=$(free_port); PORT_B=$(free_port); PORT_L=$(free_port); PORT_D=$(free_port)
cleanup() {
  [ -n "${LK_PID:-}" ] && kill "$LK_PID" 2>/dev/null
  [ -n "${FW_PID:-}" ] && kill "$FW_PID" 2>/dev/null
  "$NGINX" -p "$WORK" -c nginx.conf -s stop 2>/dev/null || true
  rm -rf "$WORK"
}
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
$PEERS_ON "$NGINX" -p "$WORK" -c nginx.conf

write_provider "$WORK/providers" "$PORT_A"
echo "" > "$WORK/latchkey.yaml"
ADMIN=bench-admin-$RANDOM$RANDOM
LATCHKEY_CONFIG=$WORK/latchkey.yaml LATCHKEY_PORT=$PORT_L LATCHKEY_DATABASE_URL=sqlite:$WORK/db.sqlite \
  LATCHKEY_MASTER_KEY_FILE=$WORK/master.key LATCHKEY_ADMIN_KEY=$ADMIN LATCHKEY_PROVIDERS=$WORK/providers \
  LATCHKEY_LOG_LEVEL=warning LATCHKEY_PROXY_CLIENT=$PROXY_CLIENT $SERVER_ON "$BIN" serve > "$WORK/latchkey.log" 2>&1 &
LK_PID=$!
$SERVER_ON "$FORWARDER" --port "$PORT_D" --upstream "http://127.0.0.1:$PORT_A" --client "$PROXY_CLIENT" > "$WORK/forwarder.log" 2>&1 &
FW_PID=$!
L=http://127.0.0.1:$PORT_L
wait_healthy "$L"
KEY=$(bootstrap_agent "$L" "$ADMIN")
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT_D/v1/proxy/bench/items" >/dev/null && break; sleep 0.1; done

# upstream_connections MARK: distinct upstream connections in the log since line MARK (after nginx flushes it).
log_lines() { sleep 0.5; wc -l < "$WORK/logs/upstream.log"; }
upstream_connections() { sleep 0.5; tail -n +$(( $1 + 1 )) "$WORK/logs/upstream.log" | sort -u | wc -l; }
rss_mib() { echo $(( $(ps -o rss= -p "$LK_PID") / 1024 )); }
# cpu_ticks PID: the process's user plus system CPU so far, in clock ticks (/proc/PID/stat fields 14 and 15).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

if [ "${PIN:-0}" = 1 ]; then
  echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION; pinned: the servers on core 0, nginx and wrk on core 1; proxy client: $PROXY_CLIENT"
else
  echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION on $(nproc) cores (all peers share them); proxy client: $PROXY_CLIENT"
fi
MARK=$(log_lines)
A=$(measure a "http://127.0.0.1:$PORT_A/items")
CONN_A=$(upstream_connections "$MARK"); MARK=$(log_lines)
B=$(measure b "http://127.0.0.1:$PORT_B/items")
CONN_B=$(upstream_connections "$MARK"); MARK=$(log_lines)
# (d) and (c), alternately, REPEAT times; perf samples the first round only.
D_ROWS=(); C_ROWS=(); CPU_DS=(); CPU_CS=(); CONN_DS=(); CONN_CS=(); RSS_IDLE=""
for round in $(seq 1 "$REPEAT"); do
  suffix=$([ "$round" = 1 ] || echo "$round")
  PROFILING=$([ -n "${PROFILE:-}" ] && [ "$round" = 1 ] && echo 1 || echo 0)
  if [ "$PROFILING" = 1 ]; then
    # The forwarder too, during (d): what (c) spends beyond it is Latchkey's.
    mkdir -p "$PROFILE"
    perf record -q -F 499 -g -p "$FW_PID" -o "$PROFILE/perf-d.data" -- sleep "${DURATION%s}" 2>/dev/null &
    PERF_PID=$!
  fi
  T0=$(cpu_ticks "$FW_PID")
  D_ROWS+=("$(measure "d$suffix" "http://127.0.0.1:$PORT_D/v1/proxy/bench/items")")
  CPU_DS+=($(( $(cpu_ticks "$FW_PID") - T0 )))
  if [ "$PROFILING" = 1 ]; then
    wait "$PERF_PID" || true
    perf report -i "$PROFILE/perf-d.data" --no-children --sort dso --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -12 > "$PROFILE/d-by-dso.txt" || true
    perf report -i "$PROFILE/perf-d.data" --no-children --sort sym --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -40 > "$PROFILE/d-by-symbol.txt" || true
  fi
  CONN_DS+=($(upstream_connections "$MARK")); MARK=$(log_lines)
  [ -n "$RSS_IDLE" ] || RSS_IDLE=$(rss_mib)
  if [ "$PROFILING" = 1 ]; then
    # perf samples Latchkey while (c) runs; the report lands in $PROFILE (a folder).
    perf record -q -F 499 -g -p "$LK_PID" -o "$PROFILE/perf.data" -- sleep "${DURATION%s}" 2>/dev/null &
    PERF_PID=$!
  fi
  T0=$(cpu_ticks "$LK_PID")
  C_ROWS+=("$(measure "c$suffix" "$L/v1/proxy/bench/items" "Authorization: Bearer $KEY")")
  CPU_CS+=($(( $(cpu_ticks "$LK_PID") - T0 )))
  CONN_CS+=($(upstream_connections "$MARK")); MARK=$(log_lines)
  if [ "$PROFILING" = 1 ]; then
    wait "$PERF_PID" || true
    perf report -i "$PROFILE/perf.data" --no-children --sort dso --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -12 > "$PROFILE/by-dso.txt" || true
    perf report -i "$PROFILE/perf.data" --no-children --sort sym --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -40 > "$PROFILE/by-symbol.txt" || true
    perf report -i "$PROFILE/perf.data" --no-children --sort comm --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -12 > "$PROFILE/by-thread.txt" || true
  fi
done
RSS_LOADED=$(rss_mib)
# (d) and (c) side by side: both servers loaded at once, each by its own wrk.
SIDE_ROWS=()
for round in $(seq 1 "$SIDE_BY_SIDE"); do
  T0D=$(cpu_ticks "$FW_PID"); T0C=$(cpu_ticks "$LK_PID")
  ${PEERS_ON:-} wrk -t1 -c"$CONNECTIONS" -d"$DURATION" "http://127.0.0.1:$PORT_D/v1/proxy/bench/items" > "$WORK/side-d.wrk" &
  WRK_D=$!
  ${PEERS_ON:-} wrk -t1 -c"$CONNECTIONS" -d"$DURATION" -H "Authorization: Bearer $KEY" "$L/v1/proxy/bench/items" > "$WORK/side-c.wrk"
  wait "$WRK_D"
  SIDE_ROWS+=("$(awk '/requests in/{print $1}' "$WORK/side-d.wrk") $(( $(cpu_ticks "$FW_PID") - T0D )) $(awk '/requests in/{print $1}' "$WORK/side-c.wrk") $(( $(cpu_ticks "$LK_PID") - T0C ))")
done
# The paced rounds: the same connections, each pausing before each request.
# With --repeat N, N rounds of (a), (b), (d), (c) one after the other: each round's (c) and (d) count against the (a)
# measured just before them, and the medians of those differences are printed (one jittery second moves one round's
# p99, not the figure).
PACED_ROWS=()
if [ "$PACED" -gt 0 ]; then
  echo "local mean = $(( CONNECTIONS * 1000 / PACED )); function delay() return math.random(0, 2 * mean) end" > "$WORK/paced.lua"
  for _ in $(seq 1 "$REPEAT"); do
    PACED_ROWS+=("$(WRK_SCRIPT="$WORK/paced.lua" measure a "http://127.0.0.1:$PORT_A/items")")
    PACED_ROWS+=("$(WRK_SCRIPT="$WORK/paced.lua" measure b "http://127.0.0.1:$PORT_B/items")")
    PACED_ROWS+=("$(WRK_SCRIPT="$WORK/paced.lua" measure d "http://127.0.0.1:$PORT_D/v1/proxy/bench/items")")
    PACED_ROWS+=("$(WRK_SCRIPT="$WORK/paced.lua" measure c "$L/v1/proxy/bench/items" "Authorization: Bearer $KEY")")
  done
fi
# The soak rounds come before the load mode, whose 10,000 connections fill Latchkey's caches.
SOAK_RSS=""
if [ "${SOAK%s}" != 0 ]; then
  for round in $(seq 1 "$ROUNDS"); do
    MEASURE_DURATION=$SOAK measure soak$round "$L/v1/proxy/bench/items" "Authorization: Bearer $KEY" >/dev/null
    SOAK_RSS="$SOAK_RSS $(rss_mib)"
  done
fi
CL=(); CS=(); CPU_CL=()
if [ "$LOAD" = 1 ]; then
  # 1,000 agents with 10 connections each; every request names a random agent and one of its connections.
  MARK=$(log_lines)
  python3 benchmarks/proxy/load_world.py "$L" "$ADMIN" "$WORK/load.lua"
  # The first pass touches each of the 10,000 connections for the first time (a store read and a decryption each);
  # it is printed as the cold figure, and the measured pass that follows is the steady state, as (c)'s is.
  COLD=$(WRK_SCRIPT="$WORK/load.lua" measure cold "$L/v1/proxy/bench/items")
  # With --repeat N, N pairs: (c) at one connection again, then the load pass. Each load pass counts against the
  # single pass just before it (rounds minutes apart met different moments of the host: 0.62 in one run where the
  # load mode's own pairs gave 0.9), and load/single is the median of those ratios. The upstream connections are
  # counted over all of it: both passes share Latchkey's pool.
  for round in $(seq 1 "$REPEAT"); do
    CS+=("$(measure "cs$round" "$L/v1/proxy/bench/items" "Authorization: Bearer $KEY")")
    if [ -n "${PROFILE:-}" ] && [ "$round" = 1 ]; then
      # perf samples the first load pass.
      perf record -q -F 499 -g -p "$LK_PID" -o "$PROFILE/perf-load.data" -- sleep "${DURATION%s}" 2>/dev/null &
      PERF_PID=$!
    fi
    T0=$(cpu_ticks "$LK_PID")
    CL+=("$(WRK_SCRIPT="$WORK/load.lua" measure "cl$round" "$L/v1/proxy/bench/items")")
    CPU_CL+=($(( $(cpu_ticks "$LK_PID") - T0 )))
  done
  CONN_CL=$(upstream_connections "$MARK")
  RSS_LOAD=$(rss_mib)
  if [ -n "${PROFILE:-}" ]; then
    wait "$PERF_PID" || true
    perf report -i "$PROFILE/perf-load.data" --no-children --sort dso --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -12 > "$PROFILE/load-by-dso.txt" || true
    perf report -i "$PROFILE/perf-load.data" --children --sort sym --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | grep -E 'Latchkey|GRDB|sqlite' | head -40 > "$PROFILE/load-by-symbol.txt" || true
  fi
fi
python3 - "$(getconf CLK_TCK) ${DURATION%s}" "${CPU_DS[*]}" "${CPU_CS[*]}" "${CPU_CL[*]}" "$A" "$B" "${D_ROWS[@]}" "${C_ROWS[@]}" ${COLD:+"$COLD"} "${CS[@]}" "${CL[@]}" <<'PY'
import re, statistics, sys
tick, seconds = map(float, sys.argv[1].split())
cpu_ds, cpu_cs, cpu_cls = [list(map(float, arg.split())) for arg in sys.argv[2:5]]
rows = [line.split() for line in sys.argv[5:]]
names = {"a": "(a) nginx direct", "b": "(b) nginx reverse proxy", "d": "(d) bare forwarder", "c": "(c) Latchkey proxy",
         "cold": "(c) load mode, first pass", "cs": "(c) beside the load mode", "cl": "(c) 1,000 agents, 10,000 conns"}
print(f"{'path':32} {'req/s':>10} {'p50 ms':>9} {'p99 ms':>9} {'non-2xx':>8}")
for name, rps, p50, p99, errors, _ in rows:
    base, n = re.fullmatch(r"([a-z]+?)(\d*)", name).groups()
    label = names[base] + (f" #{n}" if n else (" #1" if len(cpu_ds) > 1 and base in "dc" else ""))
    print(f"{label:32} {float(rps):10.0f} {float(p50):9.3f} {float(p99):9.3f} {errors:>8}")
# (d) and (c), measured REPEAT times alternately, count by their medians.
groups = {}
for row in rows:
    groups.setdefault(re.fullmatch(r"([a-z]+?)(\d*)", row[0]).group(1), []).append(list(map(float, row[1:4])))
r = {name: dict(zip(["rps", "p50", "p99"], (statistics.median(col) for col in zip(*values)))) for name, values in groups.items()}
a, b, c, d = r["a"], r["b"], r["c"], r["d"]
if len(cpu_ds) > 1:
    pairs = zip(groups["d"], groups["c"], cpu_ds, cpu_cs)
    print("each round, c/d and CPU c/d: " + "  ".join(
        f"{cr[0] / dr[0]:.3f} {(td / dr[0]) / (tc / cr[0]):.3f}" for dr, cr, td, tc in pairs) + "   (medians below)")
cpu_d = statistics.median(td / dr[0] for td, dr in zip(cpu_ds, groups["d"])) * d["rps"]
cpu_c = statistics.median(tc / cr[0] for tc, cr in zip(cpu_cs, groups["c"])) * c["rps"]
print(f"c/d = {c['rps'] / d['rps']:.3f} (target >= 0.8)   c/b = {c['rps'] / b['rps']:.3f} (target >= 0.25)   "
      f"d/b = {d['rps'] / b['rps']:.3f}   c/a = {c['rps'] / a['rps']:.3f}")
print(f"p99 added over (a) at full load: (c) {c['p99'] - a['p99']:.3f} ms   (d) {d['p99'] - a['p99']:.3f} ms"
      "   (mostly the queue of a closed loop; the 2 ms target is read from the paced rounds, --paced)")
if "cl" in r:
    # Each load pass against the single pass just before it.
    pairs = [cl[0] / cs[0] for cs, cl in zip(groups["cs"], groups["cl"])]
    if len(pairs) > 1:
        print("load/single, each pair: " + "  ".join(f"{ratio:.3f}" for ratio in pairs) + "   (median below)")
    print(f"load/single = {statistics.median(pairs):.3f} (target >= 0.8)   "
          f"first pass (cold caches)/single = {r['cold']['rps'] / r['cs']['rps']:.3f}")
# CPU per request of the server alone (wrk and nginx share the cores, so req/s also counts what they take).
per = lambda ticks, row: ticks / tick * 1e6 / (row["rps"] * seconds)
line = f"server CPU per request: (d) {per(cpu_d, d):.0f} us  (c) {per(cpu_c, c):.0f} us"
if "cl" in r:
    per_load = statistics.median(ticks / tick * 1e6 / (row[0] * seconds) for ticks, row in zip(cpu_cls, groups["cl"]))
    line += f"  (c, load) {per_load:.0f} us"
print(line + f"   CPU c/d = {per(cpu_d, d) / per(cpu_c, c):.3f}")
PY
if [ "$SIDE_BY_SIDE" -gt 0 ]; then
  python3 - "$(getconf CLK_TCK)" "${SIDE_ROWS[@]}" <<'PY'
import statistics, sys
tick = float(sys.argv[1])
rows = [list(map(int, arg.split())) for arg in sys.argv[2:]]
print("side by side, each round: requests (d) / (c), server CPU per request (d) / (c), c/d requests, CPU d/c")
for rd, td, rc, tc in rows:
    print(f"  {rd:7d} / {rc:7d}   {td / tick * 1e6 / rd:5.0f} / {tc / tick * 1e6 / rc:5.0f} us   {rc / rd:.3f}   {(td / rd) / (tc / rc):.3f}")
print(f"side by side, medians: c/d = {statistics.median(rc / rd for rd, _, rc, _ in rows):.3f} (target >= 0.8)   "
      f"CPU per request d/c = {statistics.median((td / rd) / (tc / rc) for rd, td, rc, tc in rows):.3f}")
PY
fi
if [ "$PACED" -gt 0 ]; then
  python3 - "$PACED" "${PACED_ROWS[@]}" <<'PY'
import statistics, sys
rate, rows = sys.argv[1], [row.split() for row in sys.argv[2:]]
# One round is (a), (b), (d), (c) in that order.
rounds = [{row[0]: list(map(float, row[1:4])) for row in rows[i:i + 4]} for i in range(0, len(rows), 4)]
for n, r in enumerate(rounds, 1):
    print(f"paced #{n}, about {rate} req/s offered: " + "  ".join(
        f"({name}) {r[name][0]:.0f} req/s, p50 {r[name][1]:.3f} ms, p99 {r[name][2]:.3f} ms" for name in "abdc"))
added = {name: [r[name][2] - r["a"][2] for r in rounds] for name in "bdc"}
if len(rounds) > 1:
    print("paced p99 added over (a), each round: " + "  ".join(
        f"(c) {c:.3f} (d) {d:.3f}" for c, d in zip(added["c"], added["d"])) + "   (medians below)")
m = {name: statistics.median(values) for name, values in added.items()}
print(f"paced p99 added over (a): (c) {m['c']:.3f} ms (target <= 2 ms)   (d) {m['d']:.3f} ms   (b) {m['b']:.3f} ms")
PY
fi
echo "upstream connections opened: (a) $CONN_A (wrk's own)  (b) $CONN_B  (d) ${CONN_DS[*]}  (c) ${CONN_CS[*]}${CONN_CL:+  (c, load) $CONN_CL}  (target for c: <= $((2 * CONNECTIONS)))"
echo "Latchkey RSS: idle $RSS_IDLE MiB, after (c) $RSS_LOADED MiB${SOAK_RSS:+, after each $SOAK round at full load:$SOAK_RSS MiB}${RSS_LOAD:+, after the load mode $RSS_LOAD MiB}"
