"""Helpers shared by the Socket.IO and Engine.IO tests: the server's address, an event recorder
for python-socketio clients, and echo processes of a test's own (for restarts and defaults)."""
import os
import signal
import socket
import subprocess
import threading
import time

import socketio

PORT = int(os.environ["REACTOR_PORT"])
URL = f"http://127.0.0.1:{PORT}"
ECHO_BIN = os.environ["REACTOR_ECHO_BIN"]
NAMESPACES = ["/", "/chat", "/custom"]
# The flags socketio.sh starts the shared server with.
PING_INTERVAL_MS = 1000
PING_TIMEOUT_MS = 1000
MAX_PAYLOAD = 100000


class Recorder:
    """Records every event a python-socketio client receives, per namespace, and waits for them."""

    def __init__(self, client, namespaces=NAMESPACES):
        self.client = client
        self.events = []  # (namespace, event, args)
        self.cond = threading.Condition()
        for ns in namespaces:
            client.on("*", self._catch_all(ns), namespace=ns)
            client.on("connect", self._lifecycle(ns, "connect"), namespace=ns)
            client.on("disconnect", self._lifecycle(ns, "disconnect"), namespace=ns)
            client.on("connect_error", self._lifecycle(ns, "connect_error"), namespace=ns)

    def _record(self, ns, event, args):
        with self.cond:
            self.events.append((ns, event, args))
            self.cond.notify_all()

    def _catch_all(self, ns):
        def handler(event, *args):
            self._record(ns, event, args)
        return handler

    def _lifecycle(self, ns, name):
        def handler(*args):
            self._record(ns, name, args)
        return handler

    def of(self, event, ns="/"):
        with self.cond:
            return [args for (n, e, args) in self.events if n == ns and e == event]

    def wait(self, event, ns="/", count=1, timeout=5.0):
        """The args of the first `count` `event`s in `ns`, waiting up to `timeout` for them."""
        deadline = time.time() + timeout
        with self.cond:
            while True:
                found = [args for (n, e, args) in self.events if n == ns and e == event]
                if len(found) >= count:
                    return found[:count]
                left = deadline - time.time()
                if left <= 0:
                    raise AssertionError(f"{event} in {ns}: {len(found)} of {count} after {timeout}s; saw {self.events}")
                self.cond.wait(left)


def connect(transports=("polling", "websocket"), namespaces=("/",), auth=None, url=None, **client_options):
    """A connected python-socketio client and its recorder. The caller disconnects it."""
    client_options.setdefault("reconnection", False)
    client = socketio.Client(request_timeout=5, **client_options)
    recorder = Recorder(client, namespaces=list(namespaces))
    client.connect(url or URL, namespaces=list(namespaces), transports=list(transports), auth=auth, wait_timeout=5)
    return client, recorder


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
    """An echo process of a test's own, on a port of its own (or the one given, to restart)."""

    def __init__(self, *flags, port=None):
        self.flags = flags
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen([ECHO_BIN, "--host", "127.0.0.1", "--port", str(self.port), *self.flags],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert wait_for_port(self.port), "server did not start"

    def stop(self, sig=signal.SIGKILL):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
