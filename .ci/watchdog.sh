#!/usr/bin/env bash
# Runs a command; when it is still running after LIMIT seconds, prints the thread backtraces of its processes (gdb, when
# installed), stops it and fails. A hang then ends CI with the place it hung, not with CI's own timeout and a cut log.
# Usage: .ci/watchdog.sh LIMIT command [args...]
set -uo pipefail
limit=$1; shift
setsid "$@" &
pid=$!
trap 'kill -TERM -- -"$pid" 2>/dev/null; exit 130' INT TERM
waited=0
while kill -0 "$pid" 2>/dev/null; do
  if [ "$waited" -ge "$limit" ]; then
    echo "watchdog: '$*' still running after $limit s; the threads of its processes:"
    for p in $(pgrep -s "$pid"); do
      case "$(cat /proc/$p/comm 2>/dev/null)" in python*|sleep) continue ;; esac
      echo "== process $p: $(tr '\0' ' ' < /proc/$p/cmdline 2>/dev/null | cut -c1-200)"
      if command -v gdb >/dev/null; then
        timeout 120 gdb -p "$p" -batch -ex "thread apply all bt 30" 2>/dev/null | grep -E "^Thread|^#" | cut -c1-300
      fi
    done
    kill -KILL -- -"$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    echo "watchdog: stopped after $limit s"
    exit 124
  fi
  sleep 5
  waited=$((waited + 5))
done
wait "$pid"
