#!/usr/bin/env bash
# WebSocket conformance of the echo demo server (RFC 6455 + permessage-deflate, RFC 7692), judged
# by the Autobahn|Testsuite fuzzing client (`wstest -m fuzzingclient`) against ws://127.0.0.1:PORT/echo
# (and, in the CI selection, cases 1.* to 10.* against /echo-async, the same echo written with
# async/await: agent "Reactor-async").
# Every selected case must end OK, NON-STRICT or INFORMATIONAL (UNIMPLEMENTED counts as failed);
# Tests/Conformance/autobahn/reactor_autobahn.py says exactly how a case is judged.
#
#   autobahn.sh          the CI selection (autobahn/fuzzingclient-ci.json): every case of 1.* to
#                        10.*, and three of each of the twelve groups of 12.* and 13.*
#                        (permessage-deflate with each payload kind and each negotiated parameter
#                        set): X.Y.1 (16-byte messages), X.Y.5 (4 KiB) and X.Y.11 (8 KiB sent in
#                        256-byte fragments, so compressed continuation frames); 337 cases,
#                        and 1.* to 10.* again at /echo-async
#   autobahn.sh --full   every case, 1.* to 13.* (autobahn/fuzzingclient-full.json): 517 cases.
#                        autobahn-full.sh runs this (.ci/run leaves *-full.sh to people).
#   autobahn.sh --tls    cases 1.* to 10.* over wss:// (autobahn/fuzzingclient-tls.json), the
#                        server with a certificate made now by `openssl req` (wstest does not
#                        verify it); autobahn-tls.sh runs this.
#
# Times on this project's 2-core machines: the venv 30-60 s the first time (it compiles wsaccel
# and ujson; reused after), the CI selection about 40 s of wstest; --full 15 to 25 minutes, about
# the same with a debug or a release server: the Python client is the bottleneck (on 9.* and the
# heaviest compression cases it used 23 s of CPU, the server 16 s debug, 15 s release).
#
# What it does:
#   1. a Python 2.7 virtualenv (Autobahn runs on 2.7 only) with the pins of
#      autobahn/requirements-py27.txt, reused while the pins and the interpreter stay the same.
#      Python 2.7 has no venv module: virtualenv (autobahn/requirements-bootstrap-py27.txt) is
#      installed with the interpreter's own pip into a temporary folder just to create it.
#      A first setup compiles wsaccel and ujson: it needs gcc and the 2.7 headers (pyenv has them);
#   2. the echo binary, built into the repo's .build (CI has just built it with `swift test`);
#   3. the server on a free 127.0.0.1 port, stopped on exit whatever happens;
#   4. wstest, then the report (written only when wstest finishes) judged case by case.
# Output: a line per case that is not plainly OK, the counts, then exactly one line
# `N passed, N failed`. Exit status: non-zero if any case failed.
#
# Environment (all optional):
#   REACTOR_SCRATCH          swift build scratch path (default: <repo>/.build)
#   REACTOR_AUTOBAHN_CONFIG  debug or release build of echo (default: debug, what CI has built;
#                            release gains little, see above)
#   REACTOR_ECHO_BIN         an echo binary to test instead of building one (a sanitizer build, say)
#   REACTOR_AUTOBAHN_VENV    venv directory (default: ${TMPDIR:-/tmp}/reactor-autobahn-venv)
#   REACTOR_AUTOBAHN_REPORTS report folder (default: <scratch>/autobahn-reports/<ci|full>; old reports removed)
#   REACTOR_AUTOBAHN_TIMEOUT seconds for the whole wstest run (default: 600, --full: 5400)
#   REACTOR_PYTHON2          the Python 2.7 interpreter (default: pyenv's 2.7.18)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DIR="$ROOT/Tests/Conformance/autobahn"
SCRATCH="${REACTOR_SCRATCH:-$ROOT/.build}"
CONFIG="${REACTOR_AUTOBAHN_CONFIG:-${REACTOR_CONFIGURATION:-debug}}"
VENV="${REACTOR_AUTOBAHN_VENV:-${TMPDIR:-/tmp}/reactor-autobahn-venv}"

MODE=ci
case "${1:-}" in
    "") ;;
    --full) MODE=full ;;
    --tls) MODE=tls ;;
    *) echo "usage: $0 [--full|--tls]" >&2; exit 2 ;;
esac
TEMPLATE="$DIR/fuzzingclient-$MODE.json"
REPORTS="${REACTOR_AUTOBAHN_REPORTS:-$SCRATCH/autobahn-reports/$MODE}"
if [ "$MODE" = full ]; then WSTEST_TIMEOUT="${REACTOR_AUTOBAHN_TIMEOUT:-5400}"; else WSTEST_TIMEOUT="${REACTOR_AUTOBAHN_TIMEOUT:-600}"; fi

BUILD_TIMEOUT=1200
PIP_TIMEOUT=900            # the first install compiles wsaccel and ujson (~70 s)
START_TIMEOUT_TENTHS=150   # 15 s for the server to accept connections

WORK="$(mktemp -d "${TMPDIR:-/tmp}/reactor-autobahn.XXXXXX")"
SERVER_PID=""
CHILD_PID=""
export PYTHONDONTWRITEBYTECODE=1  # keep the source tree free of .pyc files
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PIP_NO_PYTHON_VERSION_WARNING=1
export VIRTUALENV_OVERRIDE_APP_DATA="$WORK/virtualenv-app-data"  # nothing left in ~/.local

say() { echo "autobahn.sh: $*" >&2; }

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

fail_setup() {
    say "$*"
    echo "0 passed, 1 failed"
    exit 1
}

# --- 1. the Python 2.7 venv ---------------------------------------------------------------------

find_python2() {
    local candidate root
    if [ -n "${REACTOR_PYTHON2:-}" ]; then echo "$REACTOR_PYTHON2"; return 0; fi
    root="$(pyenv root 2>/dev/null || true)"
    for candidate in ${root:+"$root/versions/2.7.18/bin/python2.7"} \
        "${PYENV_ROOT:-$HOME/.pyenv}/versions/2.7.18/bin/python2.7" \
        /root/.pyenv/versions/2.7.18/bin/python2.7 \
        "$(command -v python2.7 2>/dev/null || true)"; do
        if [ -n "$candidate" ] && [ -x "$candidate" ]; then echo "$candidate"; return 0; fi
    done
    return 1
}

venv_stamp() {
    echo "$(cat "$DIR/requirements-py27.txt" "$DIR/requirements-bootstrap-py27.txt" | sha256sum | cut -d' ' -f1)" \
        "$("$PYTHON2" -c 'import sys; print(sys.version.split()[0])' 2>&1)" "$PYTHON2"
}

ensure_venv() {
    local stamp boot="$WORK/bootstrap"
    stamp="$(venv_stamp)"
    if [ -x "$VENV/bin/wstest" ] && [ "$(cat "$VENV/.reactor-stamp" 2>/dev/null)" = "$stamp" ]; then
        return 0
    fi
    say "creating the Autobahn venv in $VENV with $PYTHON2 (first time: about a minute)"
    rm -rf "$VENV"
    mkdir -p "$(dirname "$VENV")"
    # virtualenv only for this step, in a folder of its own: the interpreter stays untouched.
    if ! run timeout "$PIP_TIMEOUT" "$PYTHON2" -m pip install --quiet --timeout 30 --retries 3 \
        --no-deps --target "$boot" -r "$DIR/requirements-bootstrap-py27.txt" >"$WORK/pip.log" 2>&1; then
        cat "$WORK/pip.log" >&2
        say "installing virtualenv for $PYTHON2 failed"
        return 1
    fi
    if ! PYTHONPATH="$boot" run timeout 120 "$PYTHON2" -m virtualenv --no-download --no-periodic-update \
        "$VENV" >"$WORK/venv.log" 2>&1; then
        cat "$WORK/venv.log" >&2
        say "virtualenv failed"
        return 1
    fi
    # The autobahntestsuite sdist declares no dependencies: the pins are the whole set.
    if ! run timeout "$PIP_TIMEOUT" "$VENV/bin/python" -m pip install --quiet --timeout 30 --retries 3 \
        --no-deps -r "$DIR/requirements-py27.txt" >"$WORK/pip.log" 2>&1; then
        cat "$WORK/pip.log" >&2
        say "pip install of autobahn/requirements-py27.txt failed (wsaccel and ujson need gcc and the Python 2.7 headers)"
        return 1
    fi
    if ! "$VENV/bin/python" -c 'import autobahntestsuite, wsaccel, ujson, twisted' >"$WORK/pip.log" 2>&1; then
        cat "$WORK/pip.log" >&2
        say "the venv does not import autobahntestsuite"
        return 1
    fi
    echo "$stamp" >"$VENV/.reactor-stamp"
}

PYTHON2="$(find_python2)" || fail_setup "no Python 2.7 found (pyenv's 2.7.18, or set REACTOR_PYTHON2)"
setup_start=$SECONDS
mkdir -p "$(dirname "$VENV")"
if command -v flock >/dev/null 2>&1; then
    # Two runs on one machine must not build the same venv at once.
    exec 9>"$VENV.lock"
    flock -w "$PIP_TIMEOUT" 9 || fail_setup "timed out waiting for $VENV.lock"
    ensure_venv || fail_setup "no Autobahn venv"
    flock -u 9
    exec 9>&-
else
    ensure_venv || fail_setup "no Autobahn venv"
fi
PY="$VENV/bin/python"

# --- 2. the server binary -----------------------------------------------------------------------

if [ -n "${REACTOR_ECHO_BIN:-}" ]; then
    ECHO_BIN="$REACTOR_ECHO_BIN"
    CONFIG="given"
else
    case "$CONFIG" in debug | release) ;; *) fail_setup "REACTOR_AUTOBAHN_CONFIG must be debug or release" ;; esac
    say "building echo ($CONFIG, scratch path $SCRATCH)"
    if ! run timeout "$BUILD_TIMEOUT" swift build --package-path "$ROOT" --scratch-path "$SCRATCH" -c "$CONFIG" \
        --product echo >"$WORK/build.log" 2>&1; then
        cat "$WORK/build.log" >&2
        fail_setup "swift build failed"
    fi
    ECHO_BIN="$(swift build --package-path "$ROOT" --scratch-path "$SCRATCH" -c "$CONFIG" --show-bin-path)/echo"
fi
[ -x "$ECHO_BIN" ] || fail_setup "no executable at $ECHO_BIN"
say "setup took $((SECONDS - setup_start)) s"

# --- 3. the server ------------------------------------------------------------------------------

free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

port_accepts() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

TLS_FLAGS=()
if [ "$MODE" = tls ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
        -keyout "$WORK/key.pem" -out "$WORK/cert.pem" >"$WORK/openssl.log" 2>&1 || fail_setup "openssl req failed"
    TLS_FLAGS=(--tls-cert "$WORK/cert.pem" --tls-key "$WORK/key.pem")
fi

start_server() {
    local attempt
    for attempt in 1 2 3; do
        PORT="$(free_port)"
        # 16 MiB messages (the default, said here so the run does not depend on it): enough for 9.*.
        "$ECHO_BIN" --host 127.0.0.1 --port "$PORT" --max-message-size 16777216 --log-level warn \
            ${TLS_FLAGS[@]+"${TLS_FLAGS[@]}"} >"$WORK/server.log" 2>&1 &
        SERVER_PID=$!
        for _ in $(seq "$START_TIMEOUT_TENTHS"); do
            server_running || break
            # Ready: the port accepts while our server runs (and it is not some other process's).
            if port_accepts "$PORT" && server_running; then return 0; fi
            sleep 0.1
        done
        say "server did not start on port $PORT (attempt $attempt):"
        cat "$WORK/server.log" >&2
        stop_server
    done
    return 1
}

start_server || fail_setup "the echo server did not start"

# --- 4. wstest and the report -------------------------------------------------------------------

mkdir -p "$REPORTS"
# Only what a previous run wrote: a stale index.json must not pass for this run's.
find "$REPORTS" -maxdepth 1 -type f \( -name 'index.*' -o -name '*_case_*' -o -name 'wstest.log' \
    -o -name 'fuzzingclient.json' \) -delete
"$PY" "$DIR/reactor_autobahn.py" spec "$TEMPLATE" "$PORT" "$REPORTS" >"$WORK/fuzzingclient.json" ||
    fail_setup "cannot write the fuzzingclient spec"
cp "$WORK/fuzzingclient.json" "$REPORTS/fuzzingclient.json"
say "echo ($CONFIG: $ECHO_BIN) serving on 127.0.0.1:$PORT; running wstest -m fuzzingclient ($MODE selection, limit ${WSTEST_TIMEOUT} s)"

run_start=$SECONDS
wstest_status=0
(cd "$WORK" && exec timeout "$WSTEST_TIMEOUT" "$VENV/bin/wstest" -m fuzzingclient -s "$WORK/fuzzingclient.json") \
    >"$REPORTS/wstest.log" 2>&1 &
CHILD_PID=$!
wait "$CHILD_PID" || wstest_status=$?
CHILD_PID=""
say "wstest took $((SECONDS - run_start)) s"

extra_failed=0
server_shown=0
if [ "$wstest_status" -ne 0 ]; then
    if [ "$wstest_status" -eq 124 ]; then
        say "wstest did not finish within $WSTEST_TIMEOUT s; last case started:"
        grep 'Running test case ID' "$REPORTS/wstest.log" | tail -1 >&2 || true
    else
        say "wstest exited with status $wstest_status; its log ends:"
        tail -20 "$REPORTS/wstest.log" >&2
    fi
    extra_failed=1
fi
if ! server_running; then
    say "the server exited during the run; its output:"
    tail -50 "$WORK/server.log" >&2
    server_shown=1
    extra_failed=1
fi

"$PY" "$DIR/reactor_autobahn.py" report "$WORK/fuzzingclient.json" "$WORK/counts" || true
read -r passed failed <"$WORK/counts" 2>/dev/null || { passed=0; failed=1; }
failed=$((failed + extra_failed))
if [ "$failed" -ne 0 ] && [ "$server_shown" = 0 ] && [ -s "$WORK/server.log" ]; then
    say "server output (last 20 lines):"
    tail -20 "$WORK/server.log" >&2
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
