#!/usr/bin/env bash
# TLS conformance of the echo demo (`--tls-cert`/`--tls-key`), in two parts, judged by clients
# nobody here wrote:
#   1. tls/ (pytest): Python's ssl (http.client), websockets over wss://, python-socketio, httpx and httpx-sse over
#      https, and the hostile peers (plaintext instead of a ClientHello, a stalled handshake, a reset
#      mid-handshake, a truncated record), against the server with a 1 s handshake deadline, and
#      last SIGHUP reloading renewed certificate files;
#   2. testssl.sh (Debian package `testssl.sh`, installed with apt-get when missing and root):
#      SSLv2, SSLv3, TLS 1.0 and 1.1 not offered, TLS 1.2 and 1.3 offered, no weak cipher category
#      offered, forward secrecy offered.
# The certificate is made now by `openssl req` in a temporary directory (self-signed, P-256).
# Output: the reports only when something fails, then exactly one line `N passed, N failed`.
# Environment: as lib/pytest-suite.sh (REACTOR_CONFIGURATION=release for the release build).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CONFIGURATION="${REACTOR_CONFIGURATION:-debug}"
SCRATCH="${REACTOR_SCRATCH:-$ROOT/.build}"
HANDSHAKE_MS=1000
TESTSSL_TIMEOUT=300
WORK="$(mktemp -d "${TMPDIR:-/tmp}/reactor-tls-conformance.XXXXXX")"
SERVER_PID=""
say() { echo "tls.sh: $*" >&2; }
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill -TERM "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>"$WORK/openssl.log" ||
    { cat "$WORK/openssl.log" >&2; echo "0 passed, 1 failed"; exit 1; }

# --- 1. the Python clients ----------------------------------------------------------------------
export REACTOR_TLS_CERT="$WORK/cert.pem" REACTOR_TLS_KEY="$WORK/key.pem" REACTOR_TLS_HANDSHAKE_MS="$HANDSHAKE_MS"
bash "$HERE/lib/pytest-suite.sh" tls --tls-cert "$WORK/cert.pem" --tls-key "$WORK/key.pem" \
    --tls-handshake-timeout "$HANDSHAKE_MS" >"$WORK/python.log" || true
python_line="$(tail -n 1 "$WORK/python.log")"
read -r passed _ failed _ <<<"$python_line"
if [ "${failed:-1}" != 0 ]; then head -n -1 "$WORK/python.log"; fi  # pytest's report
[[ "$passed" =~ ^[0-9]+$ && "$failed" =~ ^[0-9]+$ ]] || { say "the pytest part printed: $python_line"; passed=0; failed=1; }

# --- 2. testssl.sh --------------------------------------------------------------------------------
if ! command -v testssl >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        say "installing testssl.sh with apt-get"
        DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -qq --no-install-recommends testssl.sh \
            >"$WORK/apt.log" 2>&1 || cat "$WORK/apt.log" >&2
    fi
fi
if ! command -v testssl >/dev/null 2>&1; then
    say "testssl.sh is not installed (apt-get install testssl.sh)"
    echo "$passed passed, $((failed + 1)) failed"
    exit 1
fi
ECHO_BIN="$(swift build --package-path "$ROOT" --scratch-path "$SCRATCH" -c "$CONFIGURATION" --show-bin-path)/echo"
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
"$ECHO_BIN" --host 127.0.0.1 --port "$PORT" --tls-cert "$WORK/cert.pem" --tls-key "$WORK/key.pem" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 150); do
    grep -q "listening on 127.0.0.1:$PORT" "$WORK/server.log" && break
    sleep 0.1
done
timeout "$TESTSSL_TIMEOUT" testssl --quiet --color 0 --warnings off --ip one --jsonfile-pretty "$WORK/testssl.json" \
    -p -s -f "127.0.0.1:$PORT" >"$WORK/testssl.log" 2>&1 || true
verdicts="$(python3 - "$WORK/testssl.json" <<'PY'
import json, sys
try:
    scan = json.load(open(sys.argv[1]))["scanResult"][0]
except Exception as e:
    print(f"FAIL testssl wrote no report ({e})")
    sys.exit()
found = {f["id"]: f for part in scan.values() if isinstance(part, list) for f in part}
def check(name, ok, why):
    print(("PASS " if ok else "FAIL ") + name + ("" if ok else f": {why}"))
for proto in ("SSLv2", "SSLv3", "TLS1", "TLS1_1"):
    f = found.get(proto, {})
    check(f"{proto} not offered", f.get("finding", "").startswith("not offered"), f)
for proto in ("TLS1_2", "TLS1_3"):
    f = found.get(proto, {})
    check(f"{proto} offered", f.get("finding", "").startswith("offered"), f)
for weak in ("cipherlist_NULL", "cipherlist_aNULL", "cipherlist_EXPORT", "cipherlist_LOW", "cipherlist_3DES_IDEA",
             "cipherlist_AVERAGE"):
    f = found.get(weak, {})
    check(f"{weak} not offered", f.get("finding", "") == "not offered", f)
bad = [f"{f['id']} {f['severity']}: {f['finding']}" for f in found.values() if f.get("severity") in ("MEDIUM", "HIGH", "CRITICAL")]
check("no finding of medium severity or worse", not bad, bad)
check("forward secrecy offered", found.get("PFS", {}).get("finding") == "offered", found.get("PFS"))
check("ALPN offers http/1.1", "http/1.1" in found.get("ALPN", {}).get("finding", ""), found.get("ALPN"))
PY
)"
ts_passed="$(grep -c '^PASS' <<<"$verdicts" || true)"
ts_failed="$(grep -c '^FAIL' <<<"$verdicts" || true)"
if [ "$ts_failed" -ne 0 ]; then
    grep '^FAIL' <<<"$verdicts" >&2
    cat "$WORK/testssl.log" >&2
fi
if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    say "the server died during testssl.sh:"; cat "$WORK/server.log" >&2; ts_failed=$((ts_failed + 1))
fi
echo "$((passed + ts_passed)) passed, $((failed + ts_failed)) failed"
[ $((failed + ts_failed)) -eq 0 ]
