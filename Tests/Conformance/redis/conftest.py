"""The world of the Redis suite: server A (started by lib/pytest-suite.sh with --redis), server B
started here with the same --redis, a server without --redis, and control over the redis-server
that redis.sh started (kill with SIGKILL, restart on the same port). Every process started here is
recorded in $REACTOR_REDIS_PIDS, so redis.sh can kill it whatever happens to this run."""
import os
import signal
import socket
import subprocess
import tempfile
import time

import pytest

REDIS_PORT = int(os.environ["REACTOR_REDIS_PORT"])
REDIS_BIN = os.environ["REACTOR_REDIS_BIN"]
ECHO_BIN = os.environ["REACTOR_ECHO_BIN"]
PIDS = os.environ["REACTOR_REDIS_PIDS"]
REDIS_URL = f"redis://127.0.0.1:{REDIS_PORT}"


def record(kind, pid):
    with open(PIDS, "a") as f:
        f.write(f"{kind} {pid}\n")


def accepts(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Redis:
    """The suite's redis-server: its pid is the last `redis` line of the pid file."""

    def pid(self):
        pid = None
        with open(PIDS) as f:
            for line in f:
                kind, value = line.split()
                if kind == "redis":
                    pid = int(value)
        return pid

    def kill(self):
        pid = self.pid()
        os.kill(pid, signal.SIGKILL)
        deadline = time.time() + 5
        while time.time() < deadline and accepts(REDIS_PORT):
            time.sleep(0.05)
        assert not accepts(REDIS_PORT), "redis still accepts after SIGKILL"

    def start(self):
        """On the same port, empty (no persistence), as a crashed Redis without a disk comes back."""
        log = open(os.path.join(tempfile.gettempdir(), f"reactor-redis-{REDIS_PORT}.log"), "w")
        p = subprocess.Popen([REDIS_BIN, "--port", str(REDIS_PORT), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no", "--daemonize", "no"], stdout=log, stderr=subprocess.STDOUT)
        record("redis", p.pid)
        deadline = time.time() + 10
        while time.time() < deadline and not accepts(REDIS_PORT):
            time.sleep(0.05)
        assert accepts(REDIS_PORT), "redis did not restart"

    def command(self, *args):
        """One command through a raw socket (RESP2 reply, enough for INFO and integers)."""
        with socket.create_connection(("127.0.0.1", REDIS_PORT), timeout=5) as s:
            s.sendall(b"".join([f"*{len(args)}\r\n".encode()] +
                               [f"${len(a.encode())}\r\n{a}\r\n".encode() for a in args]))
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
                if data.startswith((b":", b"+", b"-")) and data.endswith(b"\r\n"):
                    break
                if data.startswith(b"$"):
                    header, _, rest = data.partition(b"\r\n")
                    if len(rest) >= int(header[1:]) + 2:
                        break
            return data

    def info_stat(self, name):
        for line in self.command("INFO", "stats").decode().splitlines():
            if line.startswith(name + ":"):
                return int(line.split(":", 1)[1])
        raise KeyError(name)


class Echo:
    """An echo process started by the tests (server B, or one without --redis)."""

    def __init__(self, *flags):
        self.port = None
        for _ in range(3):
            port = free_port()
            self.log_path = os.path.join(tempfile.gettempdir(), f"reactor-echo-{port}.log")
            self.log = open(self.log_path, "w")
            self.process = subprocess.Popen([ECHO_BIN, "--host", "127.0.0.1", "--port", str(port), *flags],
                                            stdout=self.log, stderr=subprocess.STDOUT)
            record("echo", self.process.pid)
            deadline = time.time() + 15
            while time.time() < deadline and self.process.poll() is None:
                if f"listening on 127.0.0.1:{port}" in self.output() and accepts(port):
                    self.port = port
                    return
                time.sleep(0.05)
            self.stop()
        raise RuntimeError("echo did not start:\n" + self.output())

    def output(self):
        with open(self.log_path) as f:
            return f.read()

    @property
    def pid(self):
        return self.process.pid

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(scope="session")
def redis():
    return Redis()


@pytest.fixture(scope="session")
def server_b():
    b = Echo("--redis", REDIS_URL)
    yield b
    b.stop()
    assert b.process.returncode == 0, "server B did not exit cleanly:\n" + b.output()


@pytest.fixture()
def server_without_redis():
    c = Echo()
    yield c
    c.stop()
