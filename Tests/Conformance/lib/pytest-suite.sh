#!/usr/bin/env bash
# Runs one pytest conformance suite against the echo demo server: `pytest-suite.sh NAME [server flags]`
# runs the tests in Tests/Conformance/NAME/ (a directory with requirements.txt, pytest.ini and the
# tests, whose judges are clients nobody here wrote). This script provides their world:
#   1. a venv with the suite's pinned clients (NAME/requirements.txt), reused while the pins and
#      the Python stay the same;
#   2. the echo binary, built into the repo's .build (CI has just built it with `swift test`);
#   3. the server on a free 127.0.0.1 port, stopped on exit whatever happens.
# Output: pytest's report only when something fails, then exactly one line `N passed, N failed`.
# Exit status: non-zero if any test failed (a known server bug marked xfail is not a failure).
#
# Environment (all optional):
#   REACTOR_SCRATCH              swift build scratch path (default: <repo>/.build)
#   REACTOR_CONFIGURATION        debug (default) or release: the build the server runs from
#   REACTOR_CONFORMANCE_VENV     venv directory (default: ${TMPDIR:-/tmp}/reactor-conformance-venv/http)
#   REACTOR_PYTHON               python used to create the venv (default: python3)
#   REACTOR_CONFORMANCE_VERBOSE  1: show pytest's report even when everything passes
set -euo pipefail

SUITE="${1:?usage: pytest-suite.sh SUITE [server flags...]}"
shift
SERVER_FLAGS=("$@")
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
TESTS="$ROOT/Tests/Conformance/$SUITE"
SCRATCH="${REACTOR_SCRATCH:-$ROOT/.build}"
VENV="${REACTOR_CONFORMANCE_VENV:-${TMPDIR:-/tmp}/reactor-conformance-venv/$SUITE}"
PYTHON="${REACTOR_PYTHON:-python3}"
VERBOSE="${REACTOR_CONFORMANCE_VERBOSE:-0}"
CONFIGURATION="${REACTOR_CONFIGURATION:-debug}"

# Time bounds: a cold build is slow, everything else is not. A warm run takes well under 2 min.
BUILD_TIMEOUT=1200
PIP_TIMEOUT=300
START_TIMEOUT_TENTHS=150   # 15 s for the server to accept connections
PYTEST_TIMEOUT=150         # the whole test run; each test also has its own 30 s bound (pytest.ini)

WORK="$(mktemp -d "${TMPDIR:-/tmp}/reactor-$SUITE-conformance.XXXXXX")"
SERVER_PID=""
CHILD_PID=""
export PYTHONDONTWRITEBYTECODE=1  # keep the source tree free of __pycache__

say() { echo "$SUITE.sh: $*" >&2; }

# Runs a long step in the background and waits for it, so a signal to this script is handled at
# once (bash defers traps while a foreground command runs) and cleanup can stop the step.
run() {
    "$@" &
    CHILD_PID=$!
    local status=0
    wait "$CHILD_PID" || status=$?
    CHILD_PID=""
    return "$status"
}

server_running() {
    [ -n "$SERVER_PID" ] && [ -r "/proc/$SERVER_PID/stat" ] || return 1
    local _pid _comm state
    read -r _pid _comm state _ <"/proc/$SERVER_PID/stat" || return 1
    [ "$state" != "Z" ]  # an exited child stays a zombie until reaped
}

stop_server() {
    [ -n "$SERVER_PID" ] || return 0
    if server_running; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 50); do server_running || break; sleep 0.1; done
        if server_running; then kill -KILL "$SERVER_PID" 2>/dev/null || true; fi
    fi
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

cleanup() {
    if [ -n "$CHILD_PID" ]; then
        kill -TERM "$CHILD_PID" 2>/dev/null || true
        wait "$CHILD_PID" 2>/dev/null || true
    fi
    stop_server
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- 1. the venv --------------------------------------------------------------------------------

make_venv() {
    rm -rf "$VENV"
    mkdir -p "$(dirname "$VENV")"
    "$PYTHON" -m venv "$VENV" >"$WORK/venv.log" 2>&1
}

ensure_venv() {
    local stamp
    stamp="$(cat "$TESTS/requirements.txt" | sha256sum | cut -d' ' -f1) $("$PYTHON" -c 'import sys; print(sys.version.split()[0])' 2>/dev/null || echo none) $PYTHON"
    if [ -x "$VENV/bin/python" ] && [ "$(cat "$VENV/.reactor-stamp" 2>/dev/null)" = "$stamp" ]; then
        return 0
    fi
    say "creating the test venv in $VENV"
    if ! command -v "$PYTHON" >/dev/null 2>&1 || ! make_venv; then
        # A fresh Debian has python3 without ensurepip; CI runs as root with apt available.
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
            say "installing python3 and python3-venv with apt-get"
            timeout "$PIP_TIMEOUT" apt-get update -qq >"$WORK/apt.log" 2>&1 &&
                DEBIAN_FRONTEND=noninteractive timeout "$PIP_TIMEOUT" \
                    apt-get install -y -qq --no-install-recommends python3 python3-venv >>"$WORK/apt.log" 2>&1 ||
                { cat "$WORK/apt.log" >&2; return 1; }
            if ! command -v "$PYTHON" >/dev/null 2>&1; then PYTHON=/usr/bin/python3; fi
            make_venv || { cat "$WORK/venv.log" >&2; return 1; }
            stamp="$(cat "$TESTS/requirements.txt" | sha256sum | cut -d' ' -f1) $("$PYTHON" -c 'import sys; print(sys.version.split()[0])') $PYTHON"
        else
            cat "$WORK/venv.log" >&2 2>/dev/null || true
            say "cannot create a venv with '$PYTHON' (install python3 and python3-venv)"
            return 1
        fi
    fi
    if ! run timeout "$PIP_TIMEOUT" "$VENV/bin/python" -m pip install --disable-pip-version-check --no-input \
        --quiet --timeout 30 --retries 3 -r "$TESTS/requirements.txt" >"$WORK/pip.log" 2>&1; then
        cat "$WORK/pip.log" >&2
        say "pip install failed"
        return 1
    fi
    echo "$stamp" >"$VENV/.reactor-stamp"
}

mkdir -p "$(dirname "$VENV")"
if command -v flock >/dev/null 2>&1; then
    # Two runs on one machine must not build the same venv at once.
    exec 9>"$VENV.lock"
    flock -w "$PIP_TIMEOUT" 9 || { say "timed out waiting for $VENV.lock"; exit 1; }
    ensure_venv
    flock -u 9
    exec 9>&-
else
    ensure_venv
fi
PY="$VENV/bin/python"

# --- 2. the server binary -----------------------------------------------------------------------

say "building echo ($CONFIGURATION, scratch path $SCRATCH)"
if ! run timeout "$BUILD_TIMEOUT" swift build --package-path "$ROOT" --scratch-path "$SCRATCH" -c "$CONFIGURATION" --product echo \
    >"$WORK/build.log" 2>&1; then
    cat "$WORK/build.log" >&2
    say "swift build failed"
    echo "0 passed, 1 failed"
    exit 1
fi
ECHO_BIN="$(swift build --package-path "$ROOT" --scratch-path "$SCRATCH" -c "$CONFIGURATION" --show-bin-path)/echo"
[ -x "$ECHO_BIN" ] || { say "no executable at $ECHO_BIN"; echo "0 passed, 1 failed"; exit 1; }

# --- 3. the server ------------------------------------------------------------------------------

free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

port_accepts() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_server() {
    local attempt tenth
    for attempt in 1 2 3; do
        PORT="$(free_port)"
        "$ECHO_BIN" --host 127.0.0.1 --port "$PORT" "${SERVER_FLAGS[@]}" >"$WORK/server.log" 2>&1 &
        SERVER_PID=$!
        for tenth in $(seq "$START_TIMEOUT_TENTHS"); do
            server_running || break
            # Ready: it says so for this port, and the port accepts (not some other process's).
            if grep -q "listening on 127.0.0.1:$PORT" "$WORK/server.log" && port_accepts "$PORT"; then
                return 0
            fi
            sleep 0.1
        done
        say "server did not start on port $PORT (attempt $attempt):"
        cat "$WORK/server.log" >&2
        stop_server
    done
    return 1
}

if ! start_server; then
    echo "0 passed, 1 failed"
    exit 1
fi
say "echo serving on 127.0.0.1:$PORT; running the tests"

# --- 4. the tests -------------------------------------------------------------------------------

pytest_status=0
export REACTOR_PORT="$PORT" REACTOR_HTTP_PORT="$PORT" REACTOR_SERVER_PID="$SERVER_PID" REACTOR_ECHO_BIN="$ECHO_BIN"
run timeout "$PYTEST_TIMEOUT" "$PY" -m pytest -c "$TESTS/pytest.ini" --rootdir "$TESTS" \
    -q -rfE --junitxml "$WORK/junit.xml" "$TESTS" >"$WORK/pytest.log" 2>&1 || pytest_status=$?

server_died=0
if ! server_running; then
    server_died=1
    say "the server exited during the run; its output:"
    cat "$WORK/server.log" >&2
fi

# Counts from the JUnit report: xfail (known, reported server bugs) and skips are neither passed
# nor failed, and are listed on their own lines; an XPASS under strict xfail counts as failed.
summary="$("$PY" "$ROOT/Tests/Conformance/lib/junit_summary.py" "$WORK/junit.xml")"
read -r passed failed <<<"$summary"

if [ ! -f "$WORK/junit.xml" ]; then
    say "pytest did not finish (status $pytest_status)"
    failed=$((failed + 1))
elif [ "$pytest_status" -ne 0 ] && [ "$failed" -eq 0 ]; then
    say "pytest exited with status $pytest_status"
    failed=1
fi
if [ "$server_died" -eq 1 ]; then failed=$((failed + 1)); fi

if [ "$failed" -ne 0 ] || [ "$VERBOSE" = 1 ]; then
    cat "$WORK/pytest.log"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
