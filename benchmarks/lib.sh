# Shared pieces of the HTTP benchmarks, sourced by proxy/run.sh and replicas/run.sh (not run on its own).
# The caller sets WORK (a scratch folder), THREADS, CONNECTIONS and DURATION before calling `measure`.

# Installs nginx and wrk when missing; sets NGINX to nginx's path.
# Sets CONNECTIONS, DURATION and THREADS for wrk from --connections N, --duration T and --threads N (64, 10s, 2).
# The proxy benchmark also takes --soak T (default 60s, 0 skips), --rounds N (default 3), --load (sets LOAD=1) and
# --repeat N (default 1: how many times (d) and (c) are measured, alternately) and --side-by-side N (default 0: how many
# rounds measure (d) and (c) at the same time) and --paced RATE (default 0: the latency of (a), (d) and (c) with the same
# connections offering about RATE requests a second in all, below what each can answer).
wrk_options() {
  CONNECTIONS=64 DURATION=10s THREADS=2 SOAK=60s ROUNDS=3 LOAD=0 REPEAT=1 SIDE_BY_SIDE=0 PACED=0
  while [ $# -gt 0 ]; do
    case "$1" in
      --connections) CONNECTIONS=$2; shift 2 ;;
      --duration) DURATION=$2; shift 2 ;;
      --threads) THREADS=$2; shift 2 ;;
      --soak) SOAK=$2; shift 2 ;;
      --rounds) ROUNDS=$2; shift 2 ;;
      --load) LOAD=1; shift ;;
      --repeat) REPEAT=$2; shift 2 ;;
      --side-by-side) SIDE_BY_SIDE=$2; shift 2 ;;
      --paced) PACED=$2; shift 2 ;;
      *) echo "unknown option $1" >&2; exit 2 ;;
    esac
  done
}

bench_deps() {
  local sudo missing=""
  sudo=$([ "$(id -u)" = 0 ] || echo sudo)
  command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing="$missing nginx-light"
  command -v wrk >/dev/null || missing="$missing wrk"
  if [ -n "$missing" ]; then $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing; fi
  NGINX=$(command -v nginx || echo /usr/sbin/nginx)
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The JSON body every upstream answers with: the same in every benchmark.
UPSTREAM_LOCATION='location / { default_type application/json; return 200 '"'"'{"items":[{"id":1,"name":"alpha"},{"id":2,"name":"beta"}]}'"'"'; }'

# write_provider DIR UPSTREAM_PORT: an API-key provider `bench` (bench-provider.yaml) whose base URL is the loopback
# upstream.
write_provider() {
  mkdir -p "$1"
  sed "s/@UPSTREAM_PORT@/$2/" "$(dirname "${BASH_SOURCE[0]}")/bench-provider.yaml" > "$1/bench.yaml"
}

# wait_healthy URL: waits up to 10 s for Latchkey's /healthz.
wait_healthy() {
  for _ in $(seq 1 100); do curl -sf "$1/healthz" >/dev/null && return 0; sleep 0.1; done
  echo "Latchkey at $1 did not become healthy" >&2
  return 1
}

# bootstrap_agent URL ADMIN_KEY: creates org bench, team, project, agent and an API-key connection of `bench` at the
# agent, makes one proxied call, and prints the agent's key.
bootstrap_agent() {
  local l=$1 h="Authorization: Bearer $2" key
  curl -sf -H "$h" "$l/v1/admin/orgs" -d '{"id":"bench"}' >/dev/null
  curl -sf -H "$h" "$l/v1/admin/teams" -d '{"org":"bench","id":"t"}' >/dev/null
  curl -sf -H "$h" "$l/v1/admin/projects" -d '{"team":"bench/t","id":"p"}' >/dev/null
  key=$(curl -sf -H "$h" "$l/v1/admin/agents" -d '{"project":"bench/t/p","id":"a"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])')
  curl -sf -H "$h" "$l/v1/admin/connections" -d '{"provider":"bench","owner":"agent:bench/t/p/a","api_key":"upstream-token"}' >/dev/null
  curl -sf -H "Authorization: Bearer $key" "$l/v1/proxy/bench/items" >/dev/null
  echo "$key"
}

# measure NAME URL [HEADER]: runs wrk and prints "NAME req/s p50_ms p99_ms non2xx requests"; keeps wrk's output in $WORK/NAME.wrk.
# WRK_SCRIPT, when set, is a Lua script wrk runs (the load mode's per-request agent and connection); MEASURE_DURATION
# overrides DURATION for one call.
measure() {
  local out extra=() duration=${MEASURE_DURATION:-$DURATION}
  [ -n "${WRK_SCRIPT:-}" ] && extra=(-s "$WRK_SCRIPT")
  # PEERS_ON (a `taskset -c N` prefix, set by PIN=1) keeps wrk off the server's core.
  if [ -n "${3:-}" ]; then out=$(${PEERS_ON:-} wrk -t"$THREADS" -c"$CONNECTIONS" -d"$duration" --latency "${extra[@]}" -H "$3" "$2"); else
    out=$(${PEERS_ON:-} wrk -t"$THREADS" -c"$CONNECTIONS" -d"$duration" --latency "${extra[@]}" "$2"); fi
  echo "$out" > "$WORK/$1.wrk"
  python3 - "$1" "$WORK/$1.wrk" <<'PY'
import re, sys
name, path = sys.argv[1], sys.argv[2]
text = open(path).read()
if "Requests/sec" not in text or "50%" not in text:
    sys.exit(f"wrk gave no latency distribution for ({name}):\n{text}")
def ms(v):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", v)
    if not m:
        sys.exit(f"unexpected latency {v!r} from wrk for ({name}):\n{text}")
    return float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[m.group(2)]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
p50 = ms(re.search(r"^\s+50%\s+(\S+)", text, re.M).group(1)); p99 = ms(re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1))
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
total = re.search(r"(\d+) requests in", text).group(1)
print(f"{name} {rps:.0f} {p50:.3f} {p99:.3f} {errors.group(1) if errors else 0} {total}")
PY
}
