"""The judge every hostile-input test shares.

An attack is run inside `Judge(budget_mib=...)`: while it runs, a probe thread sends a fresh
`GET /plaintext` every 50 ms and records how long each answer took; on exit the judge checks that
the server process is still running, that its RSS grew by no more than the budget, and that every
probe (and one more after the attack) was answered within 200 ms. Attacks are plain sockets on
127.0.0.1 with fixed counts and deadlines: each stops by itself.
"""
import base64
import os
import resource
import signal
import socket
import struct
import subprocess
import threading
import time
import zlib

PORT = int(os.environ["REACTOR_PORT"])
SERVER_PID = int(os.environ["REACTOR_SERVER_PID"])
ECHO_BIN = os.environ["REACTOR_ECHO_BIN"]
PROBE_DEADLINE = 0.2  # seconds: a fresh GET /plaintext must be answered within this

# Hundreds of client sockets live in this process.
_soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (_hard, _hard))


def rss_kib(pid=SERVER_PID):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def alive(pid=SERVER_PID):
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except OSError:
        return False


def plaintext_seconds(port=PORT, timeout=2.0):
    """Seconds one GET /plaintext on a fresh connection took, or None if it failed."""
    start = time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(b"GET /plaintext HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := s.recv(4096):
                data += chunk
        if data.startswith(b"HTTP/1.1 200") and data.endswith(b"Hello, World!"):
            return time.monotonic() - start
    except OSError:
        pass
    return None


class Judge:
    """Runs around an attack: see the module's comment. `budget_mib` is the RSS growth allowed."""

    def __init__(self, budget_mib, pid=SERVER_PID, port=PORT, interval=0.05, probe=None):
        self.budget_kib = budget_mib * 1024
        # How a probe asks (a server over TLS needs a TLS client); seconds or None, as below.
        self.probe = probe or plaintext_seconds
        self.pid = pid
        self.port = port
        self.interval = interval
        self.samples = []
        self.failures = 0
        self._stop = threading.Event()

    def _probe(self):
        while not self._stop.is_set():
            t = self.probe(self.port)
            if t is None:
                self.failures += 1
            else:
                self.samples.append(t)
            self._stop.wait(self.interval)

    def __enter__(self):
        self.rss_before = rss_kib(self.pid)
        self.peak = self.rss_before
        self._thread = threading.Thread(target=self._probe, daemon=True)
        self._thread.start()
        return self

    def sample_rss(self):
        """Records the RSS now (call it at the attack's height, while its clients still hold on)."""
        self.peak = max(self.peak, rss_kib(self.pid))
        return self.peak - self.rss_before

    def __exit__(self, exc_type, exc, tb):
        self._stop.set()
        self._thread.join()
        if exc_type is not None:
            return False
        assert alive(self.pid), "the server process died"
        self.sample_rss()
        growth_mib = (self.peak - self.rss_before) / 1024
        assert growth_mib <= self.budget_kib / 1024, \
            f"RSS grew by {growth_mib:.1f} MiB, budget {self.budget_kib / 1024:.0f} MiB"
        after = self.probe(self.port)
        assert after is not None and after <= PROBE_DEADLINE, f"GET /plaintext after the attack: {after}"
        assert self.failures == 0, f"{self.failures} probes failed during the attack"
        slow = [t for t in self.samples if t > PROBE_DEADLINE]
        assert not slow, f"{len(slow)} of {len(self.samples)} probes slower than 200 ms (max {max(slow):.3f} s)"
        return False


# --- clients -------------------------------------------------------------------------------------

def connect(port=PORT, timeout=5.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_head(s):
    """Reads an HTTP response head; returns (status, head bytes, bytes read past it)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/1.1 ") else 0
    return status, head, rest


def request(raw, port=PORT, timeout=5.0):
    """Sends raw request bytes on a fresh connection and reads until the server closes or goes
    quiet; returns (status, whole answer)."""
    with connect(port, timeout) as s:
        s.sendall(raw)
        data = b""
        try:
            while chunk := s.recv(65536):
                data += chunk
        except socket.timeout:
            pass
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else 0
    return status, data


def upgrade(path="/echo", extra=b"", port=PORT, timeout=5.0):
    """Opens a WebSocket with a raw handshake; returns (socket, status, head, rest)."""
    key = base64.b64encode(os.urandom(16))
    s = connect(port, timeout)
    s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1:" + str(port).encode() +
              b"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
              b"\r\nSec-WebSocket-Version: 13\r\n" + extra + b"\r\n")
    status, head, rest = read_head(s)
    return s, status, head, rest


def frame(opcode, payload, fin=True, rsv1=False, mask=True):
    """One client frame (masked, as RFC 6455 requires of clients)."""
    b0 = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", b0, (0x80 if mask else 0) | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, (0x80 if mask else 0) | 126, n)
    else:
        head = struct.pack("!BBQ", b0, (0x80 if mask else 0) | 127, n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    body = bytes(b ^ key[i % 4] for i, b in enumerate(payload)) if n < 4096 else _mask_fast(payload, key)
    return head + key + body


def _mask_fast(payload, key):
    k = int.from_bytes(key * ((len(payload) + 3) // 4), "big") >> (8 * ((-len(payload)) % 4))
    return (int.from_bytes(payload, "big") ^ k).to_bytes(len(payload), "big")


def deflate_raw(data, level=9):
    """permessage-deflate's payload for `data`: a raw deflate stream, sync-flushed, tail cut."""
    c = zlib.compressobj(level, zlib.DEFLATED, -15)
    out = c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(b"\x00\x00\xff\xff")
    return out[:-4]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """An echo process of a test's own, for attacks that need other flags than the suite's."""

    def __init__(self, *flags):
        self.port = free_port()
        self.proc = subprocess.Popen([ECHO_BIN, "--host", "127.0.0.1", "--port", str(self.port), *flags],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        # Read as the server writes: a pipe nobody reads fills at 64 KiB, and the server's next log
        # write then blocks its loop (a test of ours once hung that way, not the server's fault).
        self._output = bytearray()
        self._drain = threading.Thread(target=self._read_output, daemon=True)
        self._drain.start()
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise AssertionError("server did not start")

    def _read_output(self):
        for chunk in iter(lambda: self.proc.stdout.read1(65536), b""):
            self._output += chunk

    @property
    def output(self):
        """Everything the server wrote (complete once it has exited: after the `with` block)."""
        if self.proc.poll() is not None:
            self._drain.join(5)
        return bytes(self._output)

    @property
    def pid(self):
        return self.proc.pid

    def judge(self, budget_mib, probe=None):
        return Judge(budget_mib, pid=self.pid, port=self.port, probe=probe)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self._drain.join(5)
