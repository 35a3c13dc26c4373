#!/usr/bin/env bash
# The demo page in a real browser: headless Chromium (Debian's chromium + chromium-driver) driven by
# selenium, against the echo server, which the tests start, kill and restart themselves (the
# reconnect test needs the same port back), so unlike the other suites this script starts no server.
#   1. chromium and chromedriver (apt-get as root when missing);
#   2. a venv with the pinned clients (browser/requirements.txt), reused while pins and Python stay;
#   3. the echo binary; 4. pytest (browser/), with screenshots and logs in an artifacts directory
#      whose path is printed.
# Output: pytest's report only when something fails, then exactly one line `N passed, N failed`.
# Exit status: non-zero if any test failed.
#
# Environment (all optional):
#   REACTOR_SCRATCH              swift build scratch path (default: <repo>/.build)
#   REACTOR_CONFIGURATION        debug (default) or release: the build the server runs from
#   REACTOR_BROWSER_VENV         venv directory (default: ${TMPDIR:-/tmp}/reactor-conformance-venv/browser)
#   REACTOR_BROWSER_ARTIFACTS    artifacts directory (default: a new one under ${TMPDIR:-/tmp}/reactor-browser-artifacts/)
#   REACTOR_BROWSER_PORT         port of the shared demo server (default 8000 when free, else any free port)
#   REACTOR_PYTHON               python used to create the venv (default: python3)
#   REACTOR_CONFORMANCE_VERBOSE  1: show pytest's report even when everything passes
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TESTS="$ROOT/Tests/Conformance/browser"
SCRATCH="${REACTOR_SCRATCH:-$ROOT/.build}"
VENV="${REACTOR_BROWSER_VENV:-${TMPDIR:-/tmp}/reactor-conformance-venv/browser}"
PYTHON="${REACTOR_PYTHON:-python3}"
VERBOSE="${REACTOR_CONFORMANCE_VERBOSE:-0}"
CONFIGURATION="${REACTOR_CONFIGURATION:-debug}"
ARTIFACTS="${REACTOR_BROWSER_ARTIFACTS:-${TMPDIR:-/tmp}/reactor-browser-artifacts/$(date +%Y%m%d-%H%M%S)-$$}"

BUILD_TIMEOUT=1200
INSTALL_TIMEOUT=600
PYTEST_TIMEOUT=240   # the whole run (about 70 s here); each test also has its own bound (pytest.ini)

WORK="$(mktemp -d "${TMPDIR:-/tmp}/reactor-browser.XXXXXX")"
CHILD_PID=""
export PYTHONDONTWRITEBYTECODE=1  # keep the source tree free of __pycache__

say() { echo "browser.sh: $*" >&2; }
give_up() { say "$*"; echo "0 passed, 1 failed"; exit 1; }

# Long steps run in the background so a signal to this script is handled at once and cleanup can
# stop them (bash defers traps while a foreground command runs). pytest's fixtures stop the
# servers they started; the TERM reaches pytest first.
run() {
    "$@" &
    CHILD_PID=$!
    local status=0
    wait "$CHILD_PID" || status=$?
    CHILD_PID=""
    return "$status"
}

cleanup() {
    if [ -n "$CHILD_PID" ]; then
        kill -TERM "$CHILD_PID" 2>/dev/null || true
        wait "$CHILD_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

as_root_apt() {
    [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 || return 1
    say "installing $* with apt-get"
    timeout "$INSTALL_TIMEOUT" apt-get update -qq >>"$WORK/apt.log" 2>&1 &&
        DEBIAN_FRONTEND=noninteractive timeout "$INSTALL_TIMEOUT" \
            apt-get install -y -qq --no-install-recommends "$@" >>"$WORK/apt.log" 2>&1 ||
        { cat "$WORK/apt.log" >&2; return 1; }
}

# --- 1. the browser -----------------------------------------------------------------------------

if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    # fonts-liberation is only recommended: without it screenshots may lack a sans-serif face.
    as_root_apt chromium chromium-driver fonts-liberation || give_up "need chromium and chromium-driver (apt-get install chromium chromium-driver, as root)"
fi

# --- 2. the venv --------------------------------------------------------------------------------

venv_stamp() {
    echo "$(sha256sum <"$TESTS/requirements.txt" | cut -d' ' -f1) $("$PYTHON" -c 'import sys; print(sys.version.split()[0])' 2>/dev/null || echo none) $PYTHON"
}

ensure_venv() {
    if [ -x "$VENV/bin/python" ] && [ "$(cat "$VENV/.reactor-stamp" 2>/dev/null)" = "$(venv_stamp)" ]; then
        return 0
    fi
    say "creating the test venv in $VENV"
    rm -rf "$VENV"
    if ! { command -v "$PYTHON" >/dev/null 2>&1 && "$PYTHON" -m venv "$VENV" >"$WORK/venv.log" 2>&1; }; then
        # A fresh Debian has python3 without ensurepip.
        as_root_apt python3 python3-venv || give_up "cannot create a venv with '$PYTHON' (install python3 and python3-venv)"
        command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=/usr/bin/python3
        rm -rf "$VENV"
        "$PYTHON" -m venv "$VENV" >"$WORK/venv.log" 2>&1 || { cat "$WORK/venv.log" >&2; give_up "venv creation failed"; }
    fi
    if ! run timeout "$INSTALL_TIMEOUT" "$VENV/bin/python" -m pip install --disable-pip-version-check --no-input \
        --quiet --timeout 30 --retries 3 -r "$TESTS/requirements.txt" >"$WORK/pip.log" 2>&1; then
        cat "$WORK/pip.log" >&2
        give_up "pip install failed"
    fi
    venv_stamp >"$VENV/.reactor-stamp"
}

mkdir -p "$(dirname "$VENV")"
if command -v flock >/dev/null 2>&1; then
    exec 9>"$VENV.lock"   # two runs on one machine must not build the same venv at once
    flock -w "$INSTALL_TIMEOUT" 9 || give_up "timed out waiting for $VENV.lock"
    ensure_venv
    flock -u 9
    exec 9>&-
else
    ensure_venv
fi
PY="$VENV/bin/python"

# --- 3. the server binary -----------------------------------------------------------------------

say "building echo ($CONFIGURATION, scratch path $SCRATCH)"
if ! run timeout "$BUILD_TIMEOUT" swift build --package-path "$ROOT" --scratch-path "$SCRATCH" -c "$CONFIGURATION" --product echo \
    >"$WORK/build.log" 2>&1; then
    cat "$WORK/build.log" >&2
    give_up "swift build failed"
fi
ECHO_BIN="$(swift build --package-path "$ROOT" --scratch-path "$SCRATCH" -c "$CONFIGURATION" --show-bin-path)/echo"
[ -x "$ECHO_BIN" ] || give_up "no executable at $ECHO_BIN"

# --- 4. the tests -------------------------------------------------------------------------------

mkdir -p "$ARTIFACTS"
say "screenshots and logs: $ARTIFACTS"
pytest_status=0
started=$SECONDS
REACTOR_ECHO_BIN="$ECHO_BIN" REACTOR_BROWSER_ARTIFACTS="$ARTIFACTS" \
    run timeout "$PYTEST_TIMEOUT" "$PY" -m pytest -c "$TESTS/pytest.ini" --rootdir "$TESTS" \
    -q -rfEs --tb=short --junitxml "$WORK/junit.xml" "$TESTS" >"$WORK/pytest.log" 2>&1 || pytest_status=$?
cp "$WORK/pytest.log" "$ARTIFACTS/pytest.log" 2>/dev/null || true

# Counts from the JUnit report, as lib/pytest-suite.sh does: skips are neither passed nor failed.
read -r passed failed < <("$PY" "$ROOT/Tests/Conformance/lib/junit_summary.py" "$WORK/junit.xml")
if [ ! -f "$WORK/junit.xml" ]; then
    say "pytest did not finish (status $pytest_status)"
    failed=$((failed + 1))
elif [ "$pytest_status" -ne 0 ] && [ "$failed" -eq 0 ]; then
    say "pytest exited with status $pytest_status"
    failed=1
fi
if [ "$failed" -ne 0 ] || [ "$VERBOSE" = 1 ]; then
    cat "$WORK/pytest.log"
fi
say "tests took $((SECONDS - started)) s; screenshots and logs: $ARTIFACTS"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
