"""Socket.IO broadcasts across two echo processes sharing one Redis, judged by python-socketio's
own client: the demo's `chat {room, text}` (to the room, sender excluded) and `shout {text}`
(`announcement` to the whole namespace) in namespace /chat, with clients on A and on B.

What crosses Redis is every broadcast: an emit to a room or to the namespace, encoded once and
published on the namespace's channel, then delivered by every other process to its own sockets in
those rooms, minus the except-set (the sender). Broadcasts asking for acks cross too, with the count
of answers to wait for (test_socketio_cluster.py). While Redis is down, broadcasts
reach the sockets of the process they were made on only (at most once, as with
socket.io-redis-adapter), and the log says how many did.

The demo's chat rooms (WebSocket /chat?room=R, SSE /events, POST /send) and its Socket.IO rooms
are separate things; test_chat_rooms_and_socketio_rooms_side_by_side runs both at once, each
across the two processes, and checks each on its own terms."""
import re
import threading
import time
import uuid

import httpx
import socketio

from conftest import Echo
from test_redis import A, SSEReader, WSReader, send

NS = "/chat"


def room():
    return "sio-" + uuid.uuid4().hex[:8]


class Client:
    """A python-socketio client in /chat recording every event it receives."""

    def __init__(self, port, transports=("polling", "websocket")):
        self.events = []
        self.cond = threading.Condition()
        self.sio = socketio.Client(request_timeout=5, reconnection=False)
        self.sio.on("*", self._record, namespace=NS)
        self.sio.connect(f"http://127.0.0.1:{port}", namespaces=[NS], transports=list(transports), wait_timeout=5)

    def _record(self, event, *args):
        with self.cond:
            self.events.append((event, args))
            self.cond.notify_all()

    @property
    def sid(self):
        return self.sio.get_sid(NS)

    def join(self, r):
        assert self.sio.call("join", {"room": r}, namespace=NS, timeout=5) == {"ok": True, "room": r}

    def emit(self, event, data):
        self.sio.emit(event, data, namespace=NS)

    def of(self, event):
        with self.cond:
            return [args for e, args in self.events if e == event]

    def wait(self, event, count=1, timeout=10):
        deadline = time.time() + timeout
        with self.cond:
            while len([1 for e, _ in self.events if e == event]) < count:
                left = deadline - time.time()
                if left <= 0:
                    raise AssertionError(f"{event}: fewer than {count} after {timeout}s; saw {self.events}")
                self.cond.wait(left)
        return self.of(event)

    def close(self):
        self.sio.disconnect()


def test_socketio_room_broadcasts_cross_processes(server_b):
    B = server_b.port
    r = room()
    # Polling upgraded to WebSocket on A, polling alone on B: the transport makes no difference.
    on_a = Client(A)
    on_b = Client(B, transports=("polling",))
    other = Client(B)  # in another room, on the receiving process
    try:
        on_a.join(r)
        on_b.join(r)
        other.join(room())

        on_a.emit("chat", {"room": r, "text": "from A"})
        assert on_b.wait("chat") == [({"room": r, "text": "from A", "from": on_a.sid},)]
        on_b.emit("chat", {"room": r, "text": "from B"})
        assert on_a.wait("chat") == [({"room": r, "text": "from B", "from": on_b.sid},)]
        # Binary data stays binary across the processes.
        on_a.emit("chat", {"room": r, "text": b"\x00\x01\xfe"})
        assert on_b.wait("chat", 2)[1] == ({"room": r, "text": b"\x00\x01\xfe", "from": on_a.sid},)

        # To the whole namespace, sender included: everyone on both processes, once.
        on_a.emit("shout", {"text": "to all"})
        for c in (on_a, on_b, other):
            assert c.wait("announcement") == [({"text": "to all"},)]
        # Published after the chats on the same path, the announcement arrives after them: by
        # now anything misdelivered would have arrived too.
        time.sleep(0.3)
        assert [args[0]["text"] for args in on_a.of("chat")] == ["from B"], "the sender got its own message"
        assert [args[0]["text"] for args in on_b.of("chat")] == ["from A", b"\x00\x01\xfe"]
        assert other.of("chat") == [], "a client in another room got the room's message"
        assert len(on_b.of("announcement")) == 1 and len(on_a.of("announcement")) == 1, "delivered twice"
    finally:
        for c in (on_a, on_b, other):
            c.close()


def test_chat_rooms_and_socketio_rooms_side_by_side(server_b):
    """The issue's picture: a WebSocket client on one process, and an SSE client and a
    python-socketio client on the other, all receiving a room's messages published on either. In
    the demo a chat room (WebSocket, SSE, POST /send) and a Socket.IO room are two rooms with no
    bridge between them, so this checks, at the same time, that the chat room's messages reach the
    WebSocket on A and the event stream on B whichever process they were published on, and that
    the Socket.IO room's messages reach the python-socketio client on B from a client on A, and
    the other way round."""
    B = server_b.port
    r = room()
    ws_a = WSReader(A, r)
    sse_b = SSEReader(B, r)
    sio_b = Client(B)
    sio_a = Client(A)
    try:
        sio_a.join(r)
        sio_b.join(r)
        time.sleep(0.2)
        send(A, r, "chat room, from A")
        sio_a.emit("chat", {"room": r, "text": "socket.io room, from A"})
        send(B, r, "chat room, from B")
        sio_b.emit("chat", {"room": r, "text": "socket.io room, from B"})
        expected = [(1, "chat room, from A"), (2, "chat room, from B")]
        assert sse_b.wait_for(2) == expected
        assert ws_a.wait_for(2) == [t for _, t in expected]
        assert sio_b.wait("chat") == [({"room": r, "text": "socket.io room, from A", "from": sio_a.sid},)]
        assert sio_a.wait("chat") == [({"room": r, "text": "socket.io room, from B", "from": sio_b.sid},)]
        time.sleep(0.3)
        assert len(sse_b.events) == 2 and len(ws_a.texts) == 2
        assert len(sio_a.of("chat")) == 1 and len(sio_b.of("chat")) == 1
    finally:
        ws_a.close()
        sio_a.close()
        sio_b.close()


def test_socketio_broadcasts_while_redis_is_down_stay_on_their_process(server_b, redis):
    B = server_b.port
    on_a, on_b = Client(A, transports=("websocket",)), Client(B, transports=("websocket",))
    try:
        on_b.emit("shout", {"text": "before"})
        assert on_a.wait("announcement") == [({"text": "before"},)]

        redis.kill()
        time.sleep(0.3)
        on_b.emit("shout", {"text": "during"})
        # The process it was made on delivers it at once; the other never gets it.
        assert [a[0]["text"] for a in on_b.wait("announcement", 2)] == ["before", "during"]

        redis.start()
        # Each process reconnects on its own backoff: shout until one comes across.
        deadline = time.time() + 20
        n = 0
        while time.time() < deadline and len(on_a.of("announcement")) < 2:
            n += 1
            on_b.emit("shout", {"text": f"after {n}"})
            time.sleep(0.25)
        texts = [a[0]["text"] for a in on_a.of("announcement")]
        assert len(texts) >= 2, "broadcasts did not resume after Redis came back"
        assert texts[0] == "before" and texts[1].startswith("after"), texts
        assert "during" not in texts
        # "during" and the first "after"s made before B's own connection was back are counted.
        assert re.search(r"\d+ broadcasts? made while it was down reached this process only", server_b.output()), server_b.output()
    finally:
        on_a.close()
        on_b.close()


def test_without_redis_socketio_broadcasts_stay_local_and_touch_nothing(redis):
    before = redis.info_stat("total_connections_received")
    server = Echo()
    try:
        a, b = Client(server.port), Client(server.port)
        try:
            a.emit("shout", {"text": "local"})
            assert b.wait("announcement") == [({"text": "local"},)]
            assert a.wait("announcement") == [({"text": "local"},)]
        finally:
            a.close()
            b.close()
        assert redis.info_stat("total_connections_received") == before + 1  # +1: the check itself
        assert "redis" not in server.output().lower()
    finally:
        server.stop()
