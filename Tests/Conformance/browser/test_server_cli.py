"""What a newcomer sees in the terminal: the start-up lines, one clear line and a non-zero exit
when the server cannot start, and connection errors logged once each with the peer, rate-limited."""
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

from helpers import ECHO_BIN, EchoServer, free_port, wait_until

CRASH_MARKERS = ("Fatal error", "Stack dump", "Backtrace", "Current stack trace", "SIGILL", "SIGSEGV")


def run_echo(args, timeout=10, binary=ECHO_BIN, prefix=()):
    return subprocess.run([*prefix, binary, *args], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def assert_one_clear_line(result, wanted):
    """Exit status non-zero, nothing on stdout, one line on stderr that says `wanted`, no trace."""
    lines = [l for l in result.stderr.splitlines() if l.strip()]
    assert result.returncode != 0
    assert len(lines) == 1, f"one line expected on stderr, got: {result.stderr!r}"
    assert wanted in lines[0], lines[0]
    assert not any(m in result.stderr for m in CRASH_MARKERS)
    assert result.stdout.strip() == ""


def test_start_up_lines_name_every_url():
    """The start-up output names the addresses it listens on and the URLs to use: the page, the
    echo WebSocket, the SSE stream and the metrics."""
    s = EchoServer(free_port(), "banner").start()
    try:
        out = s.stdout()
        p = s.port
        assert f"listening on 127.0.0.1:{p}" in out
        for url in (f"http://localhost:{p}/", f"ws://localhost:{p}/echo", f"http://localhost:{p}/events",
                    f"http://localhost:{p}/metrics"):
            assert url in out, f"{url} missing from:\n{out}"
    finally:
        s.kill(signal.SIGTERM)


def test_port_in_use_is_one_clear_line_and_a_failure():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_echo(["--host", "127.0.0.1", "--port", str(port)])
    assert_one_clear_line(result, f"port {port} is already in use")


def test_permission_denied_is_one_clear_line_and_a_failure():
    """Port 80 without privileges. As root (CI), the server is run as `nobody` through setpriv,
    from a copy of the binary that user may execute; skipped where that cannot be arranged or where
    unprivileged users may bind low ports."""
    with open("/proc/sys/net/ipv4/ip_unprivileged_port_start") as f:
        if int(f.read()) <= 80:
            pytest.skip("this machine lets unprivileged users bind port 80")
    prefix = ()
    binary = ECHO_BIN
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if not setpriv:
            pytest.skip("running as root and setpriv is missing: cannot drop privileges")
        work = tempfile.mkdtemp(prefix="reactor-echo-")
        os.chmod(work, 0o755)
        binary = os.path.join(work, "echo")
        shutil.copy(ECHO_BIN, binary)
        os.chmod(binary, 0o755)
        prefix = (setpriv, "--reuid=65534", "--regid=65534", "--clear-groups")
        probe = subprocess.run([*prefix, binary, "--help"], capture_output=True, text=True, timeout=10)
        if probe.returncode != 0:
            pytest.skip(f"the binary does not run as nobody here: {probe.stderr.strip()[:200]}")
    result = run_echo(["--host", "127.0.0.1", "--port", "80"], binary=binary, prefix=prefix)
    assert_one_clear_line(result, "permission denied")


def test_connection_errors_are_logged_with_the_peer_and_rate_limited():
    """300 clients each send a malformed request: each is a connection error (400), logged as one
    line naming the peer and the reason, but the log takes a burst of 20 and then about 10 a
    second; the rest is summed up in "N similar lines suppressed", and counted in /metrics."""
    s = EchoServer(free_port(), "flood", ["--host", "127.0.0.1"]).start()
    try:
        started = time.monotonic()
        for _ in range(300):
            with socket.create_connection(("127.0.0.1", s.port), timeout=5) as c:
                c.sendall(b"NOT HTTP AT ALL\r\n\r\n")
                c.settimeout(5)
                try:
                    while c.recv(4096):
                        pass
                except OSError:
                    pass
        flood_seconds = time.monotonic() - started
        def accounted():
            log = s.stderr()
            lines = [l for l in log.splitlines() if re.search(r"127\.0\.0\.1:\d+: 400", l)]
            suppressed = sum(int(n) for n in re.findall(r"(\d+) similar lines? suppressed", log))
            return (lines, suppressed) if len(lines) + suppressed >= 300 else None
        # Every error is either a line or in a summary, once the summary timer (1 s) has fired.
        lines, suppressed = wait_until(accounted, 5, "300 errors logged or summed up")
        assert re.search(r"127\.0\.0\.1:\d+: 400: \S", lines[0]), lines[0]
        assert len(lines) <= 20 + 10 * (flood_seconds + 1.5), f"{len(lines)} lines in {flood_seconds:.1f} s"
        assert suppressed > 0
        _, _, body = s.get("/metrics")
        m = re.search(r"^reactor_log_lines_suppressed_total (\d+)$", body.decode(), re.M)
        assert m and int(m.group(1)) == suppressed
    finally:
        s.kill(signal.SIGTERM)


def test_a_websocket_protocol_error_is_one_line_with_the_peer():
    """A chat WebSocket client that breaks the protocol (an unmasked frame) is closed with 1002,
    and the log gets one line naming its peer, the endpoint and the reason."""
    s = EchoServer(free_port(), "ws-error", ["--host", "127.0.0.1"]).start()
    try:
        with socket.create_connection(("127.0.0.1", s.port), timeout=5) as c:
            c.sendall(b"GET /chat?room=errors HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
            assert b" 101 " in c.recv(4096)
            local = "%s:%d" % c.getsockname()
            c.sendall(b"\x81\x02hi")  # a client frame must be masked (RFC 6455 5.1)
            c.settimeout(5)
            data = b""
            try:
                while chunk := c.recv(4096):
                    data += chunk
            except OSError:
                pass
            assert data[:2] == b"\x88" + bytes([len(data) - 2]) and data[2:4] == (1002).to_bytes(2, "big")
        line = wait_until(lambda: next((l for l in s.stderr().splitlines() if local in l), None), 5, "the error line")
        assert "websocket_chat" in line and "1002" in line, line
        assert len([l for l in s.stderr().splitlines() if local in l]) == 1
    finally:
        s.kill(signal.SIGTERM)
