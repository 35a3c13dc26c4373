"""Shared helpers for the fault tests: raw sockets, a healthy-client probe, server processes."""
import os
import resource
import signal
import socket
import subprocess
import threading
import time

PORT = int(os.environ["REACTOR_PORT"])
ECHO_BIN = os.environ["REACTOR_ECHO_BIN"]

# Thousands of client sockets live in this process.
_soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (_hard, _hard))


def plaintext_ok(port=PORT, timeout=2.0):
    """One GET /plaintext on a fresh connection; True when it is answered 200 in time."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(b"GET /plaintext HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := s.recv(4096):
                data += chunk
            return data.startswith(b"HTTP/1.1 200") and data.endswith(b"Hello, World!")
    except OSError:
        return False


def rst_close(s):
    """Close with SO_LINGER 0: the kernel sends RST, not FIN."""
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    s.close()


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, seconds=10):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


class Server:
    """An echo process of a test's own (for faults that change or end the server)."""

    def __init__(self, *flags, nofile=None):
        self.port = free_port()

        def limit():
            if nofile:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        self.proc = subprocess.Popen([ECHO_BIN, "--host", "127.0.0.1", "--port", str(self.port), *flags],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, preexec_fn=limit)
        # Read as the server writes: a pipe nobody reads fills at 64 KiB, and the server's next log
        # write then blocks its loop (hostile/support.py's Server hung a test that way).
        self._drain = threading.Thread(target=lambda: [None for _ in iter(lambda: self.proc.stdout.read1(65536), b"")],
                                       daemon=True)
        self._drain.start()
        assert wait_for_port(self.port), "server did not start"

    @property
    def pid(self):
        return self.proc.pid

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop(signal.SIGKILL)
