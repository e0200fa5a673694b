#!/usr/bin/env bash
# Connection-lookup benchmark, run by hand (not part of `make test`): the store read the resolver makes on a cache
# miss, at a baseline size and at a large size, on SQLite and on a throwaway PostgreSQL, in one run. Prints
# p50/p90/p99 and lookups/s for one caller and for concurrent callers, the ratio large/baseline per engine, and the
# query plans of the lookup on the large databases.
#
#   bash benchmarks/lookup/run.sh [--baseline 1000] [--size 1000000] [--lookups 20000] [--callers 16] [--engines sqlite,postgres]
set -euo pipefail
cd "$(dirname "$0")/../.."

swift build -c release --product latchkey-bench-lookup >/dev/null
BIN=.build/release/latchkey-bench-lookup
PSQL=$(command -v psql || ls /usr/lib/postgresql/*/bin/psql | sort -V | tail -n 1)

# SQLite files go to memory when it can (/dev/shm): PostgreSQL runs with fsync off, and both are then read from memory.
WORK=$(mktemp -d "$( [ -d /dev/shm ] && [ -w /dev/shm ] && echo /dev/shm || echo /tmp )/latchkey-lookup.XXXXXX")
PG=""
cleanup() { [ -n "$PG" ] && .ci/postgres.sh stop "$PG"; rm -rf "$WORK"; }
trap cleanup EXIT
PG=$(.ci/postgres.sh start)
PG_URL=$(cat "$PG/url")

echo "$(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$BIN" --postgres-url "$PG_URL?sslmode=disable" --sqlite-dir "$WORK" "$@"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

# The plans of the lookup as the stores send it, for a random agent of the large databases.
AGENT=$(python3 -c "import sqlite3; print(sqlite3.connect('$WORK/lookup-large.sqlite').execute(\"SELECT owner FROM connections WHERE owner LIKE 'agent:%' ORDER BY random() LIMIT 1\").fetchone()[0])" 2>/dev/null || true)
if [ -n "$AGENT" ]; then
  read -r AG PR TE OR <<<"$(python3 -c "
p = '$AGENT'.split(':')[1].split('/')
print('agent:' + '/'.join(p), 'project:' + '/'.join(p[:3]), 'team:' + '/'.join(p[:2]), 'org:' + p[0])")"
  echo ""
  echo "SQLite EXPLAIN QUERY PLAN (large):"
  python3 - "$WORK/lookup-large.sqlite" "$AG" "$PR" "$TE" "$OR" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
sql = "SELECT * FROM connections WHERE owner IN (?, ?, ?, ?) AND provider = ? ORDER BY created_at, id"
for row in db.execute("EXPLAIN QUERY PLAN " + sql, (*sys.argv[2:6], "github")):
    print("  ", row[-1])
PY
  echo "PostgreSQL EXPLAIN ANALYZE (large):"
  "$PSQL" "$PG_URL" -X -q -c "SET search_path = lookup_large" -c "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
    SELECT * FROM connections WHERE owner = ANY(ARRAY['$AG', '$PR', '$TE', '$OR']) AND provider = 'github' ORDER BY created_at, id" | sed 's/^/  /'
fi
