#!/usr/bin/env bash
# Rooms across processes through Redis: two echo processes (A and B, different ports) share one
# redis-server on a free loopback port; clients nobody here wrote (websockets, httpx, httpx-sse)
# check that chat messages published on either reach both, with the same ids, across a Redis
# outage, and python-socketio clients check that Socket.IO room and namespace broadcasts cross too
# (tests in redis/; the semantics are stated in redis/test_*.py and docs/SCALING.md).
#
# This script provides Redis: Debian's redis-server (installed with apt-get when missing and run
# as root, as on CI), started here, restarted by the tests, and killed on exit with every process
# the tests started (they record their pids in $REACTOR_REDIS_PIDS). Server A and the rest (venv,
# build, the `N passed, N failed` line) come from lib/pytest-suite.sh.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/reactor-redis-conformance.XXXXXX")"
export REACTOR_REDIS_PIDS="$WORK/pids"
: >"$REACTOR_REDIS_PIDS"
CHILD_PID=""

say() { echo "redis.sh: $*" >&2; }

cleanup() {
    if [ -n "$CHILD_PID" ]; then
        kill -TERM "$CHILD_PID" 2>/dev/null || true
        wait "$CHILD_PID" 2>/dev/null || true
    fi
    # Every process started for the run: Redis (also a restarted one) and the servers the tests
    # started. Only these pids, never by name.
    while read -r _ pid; do
        [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
    done <"$REACTOR_REDIS_PIDS"
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- Redis ----------------------------------------------------------------------------------------

REDIS_BIN="$(command -v redis-server || true)"
if [ -z "$REDIS_BIN" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        say "installing redis-server with apt-get"
        { timeout 300 apt-get update -qq && DEBIAN_FRONTEND=noninteractive timeout 300 \
            apt-get install -y -qq --no-install-recommends redis-server redis-tools; } >"$WORK/apt.log" 2>&1 ||
            { cat "$WORK/apt.log" >&2; say "apt-get install redis-server failed"; echo "0 passed, 1 failed"; exit 1; }
        # The package starts a system-wide Redis on 6379 where systemd runs; this suite uses its own.
        REDIS_BIN="$(command -v redis-server)"
    else
        say "redis-server is not installed (apt-get install redis-server)"
        echo "0 passed, 1 failed"
        exit 1
    fi
fi
export REACTOR_REDIS_BIN="$REDIS_BIN"
export REACTOR_REDIS_CLI="$(command -v redis-cli || echo "")"

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

start_redis() {
    local port="$1" tenth
    "$REDIS_BIN" --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
        >"$WORK/redis.log" 2>&1 &
    local pid=$!
    disown "$pid"  # the tests kill it (SIGKILL) on purpose: no "Killed" notice from this shell
    echo "redis $pid" >>"$REACTOR_REDIS_PIDS"
    for tenth in $(seq 50); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    cat "$WORK/redis.log" >&2
    return 1
}

started=0
for attempt in 1 2 3; do
    REDIS_PORT="$(free_port)"
    if start_redis "$REDIS_PORT"; then started=1; break; fi
    say "redis-server did not start on port $REDIS_PORT (attempt $attempt)"
done
if [ "$started" -ne 1 ]; then echo "0 passed, 1 failed"; exit 1; fi
export REACTOR_REDIS_PORT="$REDIS_PORT"
say "redis-server on 127.0.0.1:$REDIS_PORT"

# Where the runner builds echo; the tests start server B (and one without --redis) from it.
SCRATCH="${REACTOR_SCRATCH:-$ROOT/.build}"
export REACTOR_ECHO_BIN="$(swift build --package-path "$ROOT" --scratch-path "$SCRATCH" -c "${REACTOR_CONFIGURATION:-debug}" --show-bin-path)/echo"

# --- server A and the tests -----------------------------------------------------------------------

status=0
bash "$HERE/lib/pytest-suite.sh" redis --redis "redis://127.0.0.1:$REDIS_PORT" &
CHILD_PID=$!
wait "$CHILD_PID" || status=$?
CHILD_PID=""
exit "$status"
