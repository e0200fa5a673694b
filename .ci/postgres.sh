#!/usr/bin/env bash
# A throwaway PostgreSQL for the tests: its own initdb in a temp folder, on a free loopback port, never a
# system-wide cluster.
#
#   .ci/postgres.sh run CMD...   start one, run CMD with LATCHKEY_TEST_POSTGRES_URL set, stop and remove it
#                                (also when CMD fails or is interrupted); exits with CMD's status
#   .ci/postgres.sh start        start one; prints its folder (the URL is in FOLDER/url)
#   .ci/postgres.sh stop FOLDER  stop it and remove the folder
#
# initdb refuses to run as root, so as root the server runs as the system user `latchkey-test` (created if missing).
set -euo pipefail

PG_USER=latchkey-test
PG_ROLE=latchkey
PG_DB=latchkey_test

pg_bin() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [ -z "$dir" ] || [ ! -x "$dir/initdb" ]; then
        echo "postgres.sh: no PostgreSQL server binaries under /usr/lib/postgresql (install Debian's postgresql)" >&2
        exit 1
    fi
    echo "$dir"
}

# Runs a command as the unprivileged user that owns the cluster.
as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u "$PG_USER" -- "$@"
    else
        "$@"
    fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

start() {
    local bin dir port
    bin=$(pg_bin)
    if [ "$(id -u)" = 0 ] && ! id "$PG_USER" >/dev/null 2>&1; then
        useradd --system --no-create-home --shell /usr/sbin/nologin "$PG_USER"
    fi
    dir=$(mktemp -d "${TMPDIR:-/tmp}/latchkey-pg.XXXXXX")
    mkdir "$dir/sock"
    [ "$(id -u)" = 0 ] && chown -R "$PG_USER" "$dir"
    as_owner "$bin/initdb" -D "$dir/data" -U "$PG_ROLE" -A trust -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1 || {
        cat "$dir/initdb.log" >&2
        rm -rf "$dir"
        exit 1
    }
    # A free port can be taken between the probe and the bind: try a few.
    for _ in 1 2 3 4 5; do
        port=$(free_port)
        if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
            -o "-c listen_addresses=127.0.0.1 -p $port -k $dir/sock -c max_connections=400 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
            start >/dev/null; then
            echo "$port" >"$dir/port"
            as_owner "$bin/createdb" -h "$dir/sock" -p "$port" -U "$PG_ROLE" "$PG_DB"
            echo "postgres://$PG_ROLE@127.0.0.1:$port/$PG_DB" >"$dir/url"
            echo "$dir"
            return 0
        fi
    done
    cat "$dir/server.log" >&2 || true
    rm -rf "$dir"
    echo "postgres.sh: PostgreSQL did not start" >&2
    exit 1
}

stop() {
    local dir=$1 bin
    case "$dir" in
        */latchkey-pg.*) ;;
        *) echo "postgres.sh: refusing to stop $dir: not a folder made by postgres.sh start" >&2; exit 1 ;;
    esac
    bin=$(pg_bin)
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
    fi
    rm -rf "$dir"
}

case "${1:-}" in
    start) start ;;
    stop) stop "${2:?usage: postgres.sh stop FOLDER}" ;;
    run)
        shift
        dir=$(start)
        trap 'stop "$dir"' EXIT
        trap 'exit 130' INT TERM
        LATCHKEY_TEST_POSTGRES_URL=$(cat "$dir/url")
        export LATCHKEY_TEST_POSTGRES_URL
        echo "postgres.sh: test PostgreSQL at $LATCHKEY_TEST_POSTGRES_URL" >&2
        set +e
        "$@"
        status=$?
        set -e
        exit $status
        ;;
    *) echo "usage: postgres.sh run CMD... | start | stop FOLDER" >&2; exit 2 ;;
esac
