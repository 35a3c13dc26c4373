#!/usr/bin/env bash
# A soak: mixed load (HTTP, pipelined HTTP, WebSocket echo, chat over WebSocket, SSE and long
# polling) against one echo server on 127.0.0.1 for a bounded time (default 10 minutes), sampling
# the server's RSS and open descriptors. Passes when RSS after warm-up stays flat (within 10% or
# 4 MB of its first post-warm-up sample) and the descriptor count returns to where it started.
# Not run by CI (too long); run it before a release: scripts/soak.sh [seconds]
set -euo pipefail
seconds="${1:-600}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
swift build -c release --package-path "$root" --product echo >/dev/null
bin="$(swift build -c release --package-path "$root" --show-bin-path)/echo"
venv="${TMPDIR:-/tmp}/reactor-soak-venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q -r "$root/Tests/Conformance/chat/requirements.txt"
port="$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$bin" --host 127.0.0.1 --port "$port" --log-level error &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
exec "$venv/bin/python" - "$port" "$pid" "$seconds" <<'PY'
import os, socket, sys, threading, time
import httpx
from websockets.sync.client import connect

port, pid, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
base = f"http://127.0.0.1:{port}"
stop = threading.Event()
errors = []

def rss():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
def fds():
    return len(os.listdir(f"/proc/{pid}/fd"))

def guard(fn):
    def run():
        while not stop.is_set():
            try:
                fn()
            except Exception as e:  # a failure is recorded, the load goes on
                errors.append(repr(e))
                time.sleep(0.1)
    return threading.Thread(target=run, daemon=True)

def http_load():
    with httpx.Client(timeout=5) as c:
        for _ in range(200):
            assert c.get(base + "/plaintext").text == "Hello, World!"
            assert c.post(base + "/echo-body", content=b"x" * 3000).content == b"x" * 3000
def pipelined():
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n" * 15 + b"GET /plaintext HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
        assert data.count(b"Hello, World!") == 16
def ws_echo():
    with connect(f"ws://127.0.0.1:{port}/echo", compression=None) as ws:
        for i in range(500):
            ws.send(f"m{i}")
            assert ws.recv(timeout=5) == f"m{i}"
def chat():
    with connect(f"ws://127.0.0.1:{port}/chat?room=soak", compression=None) as ws, httpx.Client(timeout=30) as c:
        cursor = c.get(base + "/messages", params={"room": "soak"}).json()["cursor"]
        for i in range(50):
            ws.send(f"chat {i}")
        body = c.get(base + "/poll", params={"room": "soak", "cursor": cursor, "timeout": 5}).json()
        assert body["messages"]
def sse():
    with httpx.Client(timeout=httpx.Timeout(5, read=2)) as c:
        try:
            with c.stream("GET", base + "/events", params={"room": "soak"}) as r:
                for _ in r.iter_lines():
                    pass
        except httpx.ReadTimeout:
            pass

workers = [guard(f) for f in (http_load, http_load, pipelined, ws_echo, ws_echo, chat, sse, sse)]
fd_start = fds()
for w in workers:
    w.start()
warmup = min(60, seconds / 5)
time.sleep(warmup)
samples = [rss()]
print(f"soak: warm-up done; RSS {samples[0]} KiB, {fds()} descriptors")
end = time.time() + seconds - warmup
while time.time() < end:
    time.sleep(10)
    samples.append(rss())
    print(f"soak: RSS {samples[-1]} KiB, {fds()} descriptors, {len(errors)} errors")
stop.set()
for w in workers:
    w.join(15)
time.sleep(4)  # idle timeouts and lingering closes finish
fd_end = fds()
growth = samples[-1] - samples[0]
flat = growth <= max(4096, samples[0] // 10)
no_leak = fd_end <= fd_start
print(f"soak: RSS {samples[0]} -> {samples[-1]} KiB ({growth:+d}), descriptors {fd_start} -> {fd_end}, {len(errors)} client errors")
for e in errors[:10]:
    print("soak: error:", e)
checks = [flat, no_leak, not errors]
print(f"soak: {sum(checks)} passed, {len(checks) - sum(checks)} failed")
sys.exit(0 if all(checks) else 1)
PY
