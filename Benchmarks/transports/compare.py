#!/usr/bin/env python3
"""The transport comparison (issue #8): the same chat messages through the reactor's `echo` demo
over AJAX polling, long polling, SSE, WebSocket and Socket.IO (polling, polling upgraded to
WebSocket, WebSocket only): bytes on the wire per message, publish-to-delivery latency, and what
each costs before its first message.

    python3 Benchmarks/transports/compare.py --port 8000 [--quick] [--messages N] [--only KEY ...]

`bench transports` starts the demo and runs this script; it also runs against any demo by hand.
Standard library only, no venv.

How it counts. Every client here is written by hand over a raw socket, so every byte is counted
where it crosses the socket: the sum of the lengths of send() and recv() on a connection is that
connection's TCP payload, i.e. everything above TCP: HTTP request and status lines, headers,
chunk and WebSocket framing, Engine.IO/Socket.IO packets, SSE fields. TCP/IP headers (52-66 bytes
per segment on a real wire, more segments for the chattier transports) are not in it. At the end of
set-up and at the end of the run every connection's counts are checked against the kernel's own
(TCP_INFO bytes_received and bytes_acked, plus the bytes not yet read or acknowledged from
FIONREAD and SIOCOUTQ); a difference fails the run.

What runs. One transport at a time, each on a fresh room: one subscriber (the transport under
test) and one publisher. The chat's publisher is a WebSocket on /chat (one text frame per
message; the chat sends it its own messages too, which it reads and drops); Socket.IO's is another
Socket.IO client over WebSocket on /chat that emits `chat {room, text}` without joining the room.
The publisher's bytes are never in the subscriber's figures. Messages are a fixed 32-byte text
(a 6-digit sequence number, then filler), published every --interval-ms on a fixed schedule.

Latency is receive time minus publish time, both from time.perf_counter (CLOCK_MONOTONIC) in this
one process: the publisher stamps a message just before its send(), the subscriber when it has
parsed it. The clients send minimal requests (Host, and only the headers their protocol needs; no
cookies, User-Agent or cache-busting query): browsers send several hundred bytes more per request,
so the per-request transports' figures here are a floor.

Set-up is everything from the subscriber's first connect until it can receive: round trips
(request/response exchanges the client waits on; TCP handshakes are counted apart as
connections), bytes each way, and the time it took.

Exit status: 0 done, 2 a message was lost, duplicated, reordered or altered, the server answered
wrongly, or the counts disagree with the kernel's.
"""

import argparse
import base64
import fcntl
import hashlib
import json
import os
import secrets
import socket
import struct
import sys
import termios
import threading
import time

now = time.perf_counter  # CLOCK_MONOTONIC on Linux: one clock for publisher and subscriber

FILLER = "lorem ipsum dolor sit ame"  # 25 bytes: with "NNNNNN:" a message is 32 bytes


def message_text(seq):
    """Message `seq` (0-based): 32 bytes of ASCII, so no JSON escaping changes its size."""
    return f"{seq:06d}:{FILLER}"


class Failure(Exception):
    """The server did something wrong, or the counts cannot be trusted: the run fails loudly."""


# ------------------------------------------------------------------------------------------------
# Counting bytes at the socket


class Meter:
    """The bytes and round trips of one client (a subscriber, or a publisher) over all its
    connections."""

    def __init__(self):
        self.up = 0
        self.down = 0
        self.connections = 0
        self.round_trips = 0
        self.conns = []


# struct tcp_info (linux/tcp.h): __u64 tcpi_bytes_acked at offset 120, tcpi_bytes_received at 128.
TCP_INFO_LEN = 232
TCP_INFO_BYTES_ACKED = 120


class Conn:
    """One TCP connection to the server, every byte in and out counted in its `meter`.

    Reads go through `buf`: `fill()` is the only recv() and adds what it got to the counts."""

    def __init__(self, port, meter, timeout):
        self.meter = meter
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sent = 0
        self.received = 0
        self.buf = bytearray()
        self.send_lock = threading.Lock()  # a publisher's reader thread answers pings
        self.open = True
        meter.connections += 1
        meter.conns.append(self)

    def send(self, data):
        with self.send_lock:
            self.sock.sendall(data)
            self.sent += len(data)
            self.meter.up += len(data)

    def fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise Failure("the server closed the connection")
        self.received += len(data)
        self.meter.down += len(data)
        self.buf += data

    def read_until(self, delimiter, limit=1 << 20):
        start = 0
        while True:
            i = self.buf.find(delimiter, start)
            if i >= 0:
                end = i + len(delimiter)
                out = bytes(self.buf[:end])
                del self.buf[:end]
                return out
            if len(self.buf) > limit:
                raise Failure(f"no {delimiter!r} within {limit} bytes")
            start = max(0, len(self.buf) - len(delimiter) + 1)
            self.fill()

    def read_exact(self, n):
        while len(self.buf) < n:
            self.fill()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def check_kernel(self, what):
        """The kernel's count of payload bytes on this connection must equal ours. Called by the
        thread that reads it, while nothing is expected in flight; retried briefly, since a
        segment may land between the two system calls."""
        for attempt in range(20):
            info = self.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, TCP_INFO_LEN)
            acked, received = struct.unpack_from("=QQ", info, TCP_INFO_BYTES_ACKED)
            acked -= 1  # our SYN: the kernel counts its sequence number as one byte acknowledged
            unread = struct.unpack("i", fcntl.ioctl(self.sock, termios.FIONREAD, b"\0\0\0\0"))[0]
            unacked = struct.unpack("i", fcntl.ioctl(self.sock, termios.TIOCOUTQ, b"\0\0\0\0"))[0]
            with self.send_lock:
                sent = self.sent
            if received - unread == self.received and acked + unacked == sent:
                return
            time.sleep(0.01)
        raise Failure(f"{what}: the kernel counted {received - unread} bytes received and {acked + unacked} sent, "
                      f"the client {self.received} and {sent}")

    def close(self):
        """Shuts down first: that wakes a thread blocked in recv() on it (a publisher's reader)."""
        if self.open:
            self.open = False
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.sock.close()


# ------------------------------------------------------------------------------------------------
# HTTP/1.1, just enough


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body


def send_request(conn, method, target, port, body=None, headers=()):
    lines = [f"{method} {target} HTTP/1.1", f"Host: 127.0.0.1:{port}", *headers]
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    conn.send(("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b""))


def read_response(conn, stream=False):
    """A response head, and its body unless `stream` (SSE, the WebSocket upgrade)."""
    head = conn.read_until(b"\r\n\r\n").decode("latin-1")
    lines = head.split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
        raise Failure(f"bad status line {lines[0]!r}")
    status = int(parts[1])
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if stream:
        return Response(status, headers, None)
    if "content-length" in headers:
        body = conn.read_exact(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            size = int(conn.read_until(b"\r\n").split(b";")[0], 16)
            if size == 0:
                conn.read_until(b"\r\n")  # no trailers expected
                break
            body += conn.read_exact(size)
            conn.read_exact(2)
    else:
        raise Failure(f"a keep-alive response without a length: {lines[0]!r}")
    return Response(status, headers, body)


def exchange(conn, method, target, port, body=None, headers=(), expect=200):
    """One request and its response: one round trip."""
    send_request(conn, method, target, port, body, headers)
    res = read_response(conn)
    if res.status != expect:
        raise Failure(f"{method} {target}: status {res.status}: {res.body[:200]!r}")
    return res


# ------------------------------------------------------------------------------------------------
# WebSocket (RFC 6455), client side: masked frames out, unmasked frames in


WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class WebSocketClient:
    def __init__(self, conn, target, port):
        """Upgrades `conn` (one round trip). No extensions offered (a browser offers
        permessage-deflate)."""
        self.conn = conn
        key = base64.b64encode(os.urandom(16)).decode()
        send_request(conn, "GET", target, port, headers=(
            "Upgrade: websocket", "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"))
        res = read_response(conn, stream=True)
        accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        if res.status != 101 or res.headers.get("sec-websocket-accept") != accept:
            raise Failure(f"GET {target}: no WebSocket upgrade (status {res.status})")
        self.pings = 0

    def send_frame(self, opcode, payload):
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
        elif n < 65536:
            head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
        masked = bytes(b ^ mask[i & 3] for i, b in enumerate(payload))
        self.conn.send(head + mask + masked)

    def send_text(self, text):
        self.send_frame(0x1, text.encode())

    def receive(self):
        """The next data message (opcode, payload); answers pings; a close fails."""
        fragments = b""
        first_opcode = None
        while True:
            b0, b1 = self.conn.read_exact(2)
            fin, opcode, n = b0 & 0x80, b0 & 0x0F, b1 & 0x7F
            if b1 & 0x80:
                raise Failure("the server masked a frame")
            if n == 126:
                n = struct.unpack("!H", self.conn.read_exact(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self.conn.read_exact(8))[0]
            payload = self.conn.read_exact(n)
            if opcode == 0x9:
                self.pings += 1
                self.send_frame(0xA, payload)
                continue
            if opcode == 0xA:
                continue
            if opcode == 0x8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                raise Failure(f"the server closed the WebSocket (code {code}, {payload[2:]!r})")
            if opcode != 0x0:
                first_opcode = opcode
            fragments += payload
            if fin:
                return first_opcode, fragments


# ------------------------------------------------------------------------------------------------
# Engine.IO v4 / Socket.IO v5, client side


EIO_RECORD_SEPARATOR = "\x1e"
NAMESPACE = "/chat"


def sio_packet(sio_type, data=None, ack=None, namespace=NAMESPACE):
    """An Engine.IO message packet ("4") carrying one Socket.IO packet."""
    out = "4" + str(sio_type)
    if namespace != "/":
        out += namespace + ","
    if ack is not None:
        out += str(ack)
    if data is not None:
        out += json.dumps(data, separators=(",", ":"))
    return out


def parse_sio(packet):
    """A Socket.IO packet (the text after the Engine.IO "4"): (type, namespace, ack id, data)."""
    sio_type = int(packet[0])
    rest = packet[1:]
    if sio_type in (5, 6):
        raise Failure(f"unexpected binary Socket.IO packet {packet[:80]!r}")
    namespace = "/"
    if rest.startswith("/"):
        namespace, _, rest = rest.partition(",")
    digits = 0
    while digits < len(rest) and rest[digits].isdigit():
        digits += 1
    ack = int(rest[:digits]) if digits else None
    data = json.loads(rest[digits:]) if rest[digits:] else None
    return sio_type, namespace, ack, data


class SocketIOSession:
    """What both Engine.IO transports share: the Socket.IO packets of one client on /chat, and
    Engine.IO's heartbeat (the server pings, the client answers `3`)."""

    def __init__(self):
        self.pings = 0
        self.connected = False
        self.acks = {}
        self.on_event = None  # (name, args) for events after set-up

    def handle(self, packet, reply):
        """One Engine.IO packet from the server; `reply(packet)` sends one back."""
        kind = packet[:1]
        if kind == "2":
            self.pings += 1
            reply("3" + packet[1:])
        elif kind == "4":
            sio_type, namespace, ack, data = parse_sio(packet[1:])
            if namespace != NAMESPACE:
                raise Failure(f"a packet for namespace {namespace}: {packet[:80]!r}")
            if sio_type == 0:
                self.connected = True
            elif sio_type == 4:
                raise Failure(f"CONNECT_ERROR: {data}")
            elif sio_type == 1:
                raise Failure("the server disconnected the namespace")
            elif sio_type == 3:
                self.acks[ack] = data
            elif sio_type == 2 and self.on_event:
                self.on_event(data[0], data[1:])
        elif kind == "1":
            raise Failure("the server closed the Engine.IO session")
        elif kind not in ("6", "3"):
            raise Failure(f"unexpected Engine.IO packet {packet[:80]!r}")


class EngineIOPolling:
    """The polling transport on one keep-alive connection: a GET waits for packets, a POST sends
    them. One connection means the client polls again only after it has posted what it has to
    send (a browser would POST on a second connection while its GET waits)."""

    def __init__(self, conn, port):
        self.conn = conn
        self.port = port
        self.sid = None
        self.path = "/socket.io/?EIO=4&transport=polling"

    def open(self):
        res = exchange(self.conn, "GET", self.path, self.port)
        text = res.body.decode()
        if not text.startswith("0"):
            raise Failure(f"no Engine.IO open packet: {text[:80]!r}")
        handshake = json.loads(text[1:])
        self.sid = handshake["sid"]
        return handshake

    def target(self):
        return f"{self.path}&sid={self.sid}"

    def send_get(self):
        send_request(self.conn, "GET", self.target(), self.port)

    def read_get(self):
        res = read_response(self.conn)
        if res.status != 200:
            raise Failure(f"poll: status {res.status}: {res.body[:200]!r}")
        return res.body.decode().split(EIO_RECORD_SEPARATOR)

    def get(self):
        self.send_get()
        return self.read_get()

    def post(self, packets):
        res = exchange(self.conn, "POST", self.target(), self.port,
                       body=EIO_RECORD_SEPARATOR.join(packets).encode(),
                       headers=("Content-Type: text/plain;charset=UTF-8",))
        if res.body != b"ok":
            raise Failure(f"POST answered {res.body[:80]!r}")


# ------------------------------------------------------------------------------------------------
# Receiving, checked message by message


class Deliveries:
    """Arrival times, checked as they come: message k must be the k-th to arrive, unaltered
    (and, where the transport carries ids, with the room's id k+1)."""

    def __init__(self, label, count):
        self.label = label
        self.count = count
        self.times = []

    @property
    def done(self):
        return len(self.times) >= self.count

    def got(self, text, message_id=None):
        k = len(self.times)
        if k >= self.count:
            raise Failure(f"{self.label}: a message after the last one: {text!r}")
        if text != message_text(k):
            raise Failure(f"{self.label}: message {k + 1} of {self.count} should be {message_text(k)!r}, "
                          f"got {text!r} (lost, duplicated, reordered or altered)")
        if message_id is not None and message_id != k + 1:
            raise Failure(f"{self.label}: message {k + 1} arrived with id {message_id}")
        self.times.append(now())


# ------------------------------------------------------------------------------------------------
# The subscribers: one class per transport. `setup` runs in the main thread and ends when the
# client can receive; `receive` runs in a thread until every message has arrived; `check_extra`
# then makes sure nothing more comes (after the figures are taken).


class Subscriber:
    key = ""
    label = ""
    publisher = "chat"

    def __init__(self, port, room, deliveries, timeout, poll_interval):
        self.port = port
        self.room = room
        self.deliveries = deliveries
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.meter = Meter()
        self.requests = 0  # requests made after set-up (polls)
        self.pings = 0     # heartbeats answered after set-up

    def connect(self):
        return Conn(self.port, self.meter, self.timeout)

    def close(self):
        for c in self.meter.conns:
            c.close()

    def open_conns(self):
        return [c for c in self.meter.conns if c.open]


def chat_messages(res, label):
    """A polling answer: {"cursor": c, "messages": [{"id": n, "data": "text"}, ...]}."""
    if res.headers.get("content-type", "").split(";")[0] != "application/json":
        raise Failure(f"{label}: answered {res.headers.get('content-type')}")
    doc = json.loads(res.body)
    return doc["cursor"], doc["messages"]


class AjaxPolling(Subscriber):
    key = "polling"
    label = "AJAX polling (1 s)"

    def setup(self):
        # Like a client joining a room with a history: ask for the room's cursor first.
        self.conn = self.connect()
        res = exchange(self.conn, "GET", f"/messages?room={self.room}", self.port)
        self.meter.round_trips += 1
        self.cursor, messages = chat_messages(res, self.label)
        if messages:
            raise Failure(f"{self.label}: a fresh room has messages")

    def poll(self):
        res = exchange(self.conn, "GET", f"/messages?room={self.room}&cursor={self.cursor}", self.port)
        cursor, messages = chat_messages(res, self.label)
        for m in messages:
            self.deliveries.got(m["data"], m["id"])
        self.cursor = cursor

    def receive(self):
        # A fixed 1 s schedule from the end of set-up, as setInterval would poll.
        start = now()
        tick = 1
        while not self.deliveries.done:
            time.sleep(max(0.0, start + tick * self.poll_interval - now()))
            tick += 1
            self.requests += 1
            self.poll()

    def check_extra(self):
        res = exchange(self.conn, "GET", f"/messages?room={self.room}&cursor={self.cursor}", self.port)
        if chat_messages(res, self.label)[1]:
            raise Failure(f"{self.label}: messages after the last one")


class LongPolling(Subscriber):
    key = "long-polling"
    label = "long polling"

    def setup(self):
        self.conn = self.connect()
        res = exchange(self.conn, "GET", f"/messages?room={self.room}", self.port)
        self.meter.round_trips += 1
        self.cursor, messages = chat_messages(res, self.label)
        if messages:
            raise Failure(f"{self.label}: a fresh room has messages")

    def receive(self):
        while not self.deliveries.done:
            self.requests += 1
            res = exchange(self.conn, "GET", f"/poll?room={self.room}&cursor={self.cursor}&timeout=25", self.port)
            cursor, messages = chat_messages(res, self.label)
            for m in messages:
                self.deliveries.got(m["data"], m["id"])
            self.cursor = cursor

    def check_extra(self):
        res = exchange(self.conn, "GET", f"/poll?room={self.room}&cursor={self.cursor}&timeout=0.3", self.port)
        if chat_messages(res, self.label)[1]:
            raise Failure(f"{self.label}: messages after the last one")


class ServerSentEvents(Subscriber):
    key = "sse"
    label = "SSE"

    def setup(self):
        self.conn = self.connect()
        send_request(self.conn, "GET", f"/events?room={self.room}", self.port, headers=("Accept: text/event-stream",))
        res = read_response(self.conn, stream=True)
        self.meter.round_trips += 1
        if res.status != 200 or not res.headers.get("content-type", "").startswith("text/event-stream"):
            raise Failure(f"{self.label}: status {res.status}, {res.headers.get('content-type')}")
        self.heartbeats = 0

    def next_event(self):
        """The next dispatched event (id, data), per the EventSource parsing rules; comments
        (the server's heartbeats) and `retry` are read and counted, nothing else."""
        data, event_id = None, None
        while True:
            line = self.conn.read_until(b"\n").decode()[:-1]
            if line.endswith("\r"):
                line = line[:-1]
            if line == "":
                if data is not None:
                    return event_id, data
                continue
            if line.startswith(":"):
                self.heartbeats += 1
                continue
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "data":
                data = value if data is None else data + "\n" + value
            elif field == "id":
                event_id = int(value)
            elif field not in ("retry", "event"):
                raise Failure(f"{self.label}: unexpected field {line!r}")

    def receive(self):
        while not self.deliveries.done:
            event_id, data = self.next_event()
            self.deliveries.got(data, event_id)

    def check_extra(self):
        self.conn.sock.settimeout(0.3)
        try:
            event_id, data = self.next_event()
            raise Failure(f"{self.label}: an event after the last message: id {event_id} {data!r}")
        except socket.timeout:
            pass


class ChatWebSocket(Subscriber):
    key = "websocket"
    label = "WebSocket"

    def setup(self):
        self.conn = self.connect()
        self.ws = WebSocketClient(self.conn, f"/chat?room={self.room}", self.port)
        self.meter.round_trips += 1

    def receive(self):
        while not self.deliveries.done:
            opcode, payload = self.ws.receive()
            if opcode != 0x1:
                raise Failure(f"{self.label}: a frame with opcode {opcode}")
            self.deliveries.got(payload.decode())
        self.pings = self.ws.pings

    def check_extra(self):
        self.conn.sock.settimeout(0.3)
        try:
            _, payload = self.ws.receive()
            raise Failure(f"{self.label}: a frame after the last message: {payload[:80]!r}")
        except socket.timeout:
            pass


class SocketIOSubscriber(Subscriber):
    publisher = "socketio"

    def on_event(self, name, args):
        if name != "chat":
            raise Failure(f"{self.label}: unexpected event {name} {args!r}")
        message = args[0]
        if message.get("room") != self.room or "from" not in message:
            raise Failure(f"{self.label}: chat event {message!r}")
        self.deliveries.got(message["text"])

    def join(self, send, receive_packets):
        """join {room} and wait for its ack (one round trip)."""
        send([sio_packet(2, ["join", {"room": self.room}], ack=0)])
        self.meter.round_trips += 1
        while 0 not in self.sio.acks:
            receive_packets()
        if self.sio.acks[0] != [{"ok": True, "room": self.room}]:
            raise Failure(f"{self.label}: join answered {self.sio.acks[0]!r}")

    def ignore_setup_events(self, name, args):
        if name not in ("auth", "joined"):
            raise Failure(f"{self.label}: unexpected event {name} {args!r} during set-up")

    def connect_namespace(self, send, receive_packets):
        """CONNECT to /chat and wait for the server's CONNECT (one round trip)."""
        send([sio_packet(0)])
        self.meter.round_trips += 1
        while not self.sio.connected:
            receive_packets()


class SocketIOPolling(SocketIOSubscriber):
    key = "socketio-polling"
    label = "Socket.IO polling"

    def setup(self):
        self.conn = self.connect()
        self.sio = SocketIOSession()
        self.sio.on_event = self.ignore_setup_events
        self.eio = EngineIOPolling(self.conn, self.port)
        self.eio.open()
        self.meter.round_trips += 1
        self.outbox = []
        self.connect_namespace(self.post, self.poll_once)
        self.join(self.post, self.poll_once)
        if self.outbox:  # a ping answered during set-up
            self.post([])
            self.meter.round_trips += 1

    def post(self, packets):
        # Pongs owed from the last GET leave with the next POST. The round trip is counted by
        # the caller (connect_namespace, join).
        self.eio.post(self.outbox + packets)
        self.outbox = []

    def poll_once(self, counted=True):
        if counted:
            self.meter.round_trips += 1
        for packet in self.eio.get():
            self.sio.handle(packet, self.outbox.append)

    def receive(self):
        self.sio.on_event = self.on_event
        pings_before = self.sio.pings
        while not self.deliveries.done:
            self.requests += 1
            self.poll_once(counted=False)
            if self.outbox:
                self.requests += 1
                self.eio.post(self.outbox)
                self.outbox = []
        self.pings = self.sio.pings - pings_before

    def check_extra(self):
        # A GET now waits for the next packet: none may come (the ping is 25 s away). The held
        # GET is abandoned when the connection closes.
        self.eio.send_get()
        self.conn.sock.settimeout(0.3)
        try:
            packets = self.eio.read_get()
            if any(p.startswith("4") for p in packets):
                raise Failure(f"{self.label}: packets after the last message: {packets!r}")
        except socket.timeout:
            pass


class SocketIOWebSocketBase(SocketIOSubscriber):
    def ws_send(self, packets):
        for p in packets:
            self.ws.send_text(p)

    def ws_receive_packets(self):
        opcode, payload = self.ws.receive()
        if opcode != 0x1:
            raise Failure(f"{self.label}: a binary frame")
        self.sio.handle(payload.decode(), lambda p: self.ws.send_text(p))

    def receive(self):
        self.sio.on_event = self.on_event
        pings_before = self.sio.pings
        while not self.deliveries.done:
            self.ws_receive_packets()
        self.pings = self.sio.pings - pings_before

    def check_extra(self):
        self.ws.conn.sock.settimeout(0.3)
        try:
            _, payload = self.ws.receive()
            if payload.startswith(b"4"):
                raise Failure(f"{self.label}: a packet after the last message: {payload[:80]!r}")
        except socket.timeout:
            pass


class SocketIOUpgrade(SocketIOWebSocketBase):
    key = "socketio-upgrade"
    label = "Socket.IO polling -> WebSocket"

    def setup(self):
        # The reference client's order: open on polling, CONNECT, then (while a GET waits, as
        # the client always has one waiting) probe a WebSocket, see the GET end with a noop,
        # send `5`; then join on the WebSocket.
        polling_conn = self.connect()
        self.sio = SocketIOSession()
        self.sio.on_event = self.ignore_setup_events
        eio = EngineIOPolling(polling_conn, self.port)
        eio.open()
        self.meter.round_trips += 1
        outbox = []

        def post(packets):
            eio.post(packets)

        def poll():
            self.meter.round_trips += 1
            for packet in eio.get():
                self.sio.handle(packet, outbox.append)

        self.connect_namespace(post, poll)
        if outbox:
            raise Failure(f"{self.label}: a ping during set-up (ping interval too short for this test)")
        eio.send_get()  # the waiting GET
        self.meter.round_trips += 1
        self.conn = self.connect()
        self.ws = WebSocketClient(self.conn, f"/socket.io/?EIO=4&transport=websocket&sid={eio.sid}", self.port)
        self.meter.round_trips += 1
        self.ws.send_text("2probe")
        self.meter.round_trips += 1
        opcode, payload = self.ws.receive()
        if payload != b"3probe":
            raise Failure(f"{self.label}: probe answered {payload!r}")
        if eio.read_get() != ["6"]:
            raise Failure(f"{self.label}: the waiting GET did not end with a noop")
        self.ws.send_text("5")
        polling_conn.check_kernel(f"{self.label} polling connection")
        polling_conn.close()
        self.join(self.ws_send, self.ws_receive_packets)


class SocketIOWebSocket(SocketIOWebSocketBase):
    key = "socketio-websocket"
    label = "Socket.IO WebSocket only"

    def setup(self):
        self.conn = self.connect()
        self.sio = SocketIOSession()
        self.sio.on_event = self.ignore_setup_events
        self.ws = WebSocketClient(self.conn, "/socket.io/?EIO=4&transport=websocket", self.port)
        self.meter.round_trips += 1
        _, payload = self.ws.receive()
        if not payload.startswith(b"0"):
            raise Failure(f"{self.label}: no open packet: {payload[:80]!r}")
        self.connect_namespace(self.ws_send, self.ws_receive_packets)
        self.join(self.ws_send, self.ws_receive_packets)


SUBSCRIBERS = [AjaxPolling, LongPolling, ServerSentEvents, ChatWebSocket, SocketIOPolling, SocketIOUpgrade, SocketIOWebSocket]


# ------------------------------------------------------------------------------------------------
# Publishers: set up before the subscriber, counted apart, closed after the run


class Publisher:
    def __init__(self, port, room, timeout):
        self.meter = Meter()
        self.room = room
        self.conn = Conn(port, self.meter, timeout)
        self.stopping = False
        self.error = None
        self.reader = threading.Thread(target=self.read_loop, daemon=True)

    def start_reading(self):
        # The reader waits as long as it must (a Socket.IO publisher hears nothing for 25 s).
        self.conn.sock.settimeout(None)
        self.reader.start()

    def read_loop(self):
        try:
            while True:
                self.read_one()
        except Exception as e:  # noqa: BLE001 - reported unless we are closing
            if not self.stopping:
                self.error = e

    def close(self):
        self.stopping = True
        self.conn.close()
        self.reader.join(2)


class ChatPublisher(Publisher):
    """A WebSocket on /chat: each message one text frame. The chat sends the publisher its own
    messages too; they are read and dropped."""

    def __init__(self, port, room, timeout):
        super().__init__(port, room, timeout)
        self.ws = WebSocketClient(self.conn, f"/chat?room={room}", port)
        self.start_reading()

    def read_one(self):
        self.ws.receive()

    def publish(self, text):
        self.ws.send_text(text)


class SocketIOPublisher(Publisher):
    """A Socket.IO client over WebSocket on /chat that emits `chat {room, text}`; it does not
    join the room (the server excludes the sender anyway)."""

    def __init__(self, port, room, timeout):
        super().__init__(port, room, timeout)
        self.ws = WebSocketClient(self.conn, "/socket.io/?EIO=4&transport=websocket", port)
        self.sio = SocketIOSession()
        self.sio.on_event = lambda name, args: None
        self.ws.receive()  # the open packet
        self.ws.send_text(sio_packet(0))
        while not self.sio.connected:
            self.read_one()
        self.start_reading()

    def read_one(self):
        _, payload = self.ws.receive()
        self.sio.handle(payload.decode(), self.ws.send_text)

    def publish(self, text):
        self.ws.send_text(sio_packet(2, ["chat", {"room": self.room, "text": text}]))


PUBLISHERS = {"chat": ChatPublisher, "socketio": SocketIOPublisher}


# ------------------------------------------------------------------------------------------------
# One transport's run


def cpu_ns(pid):
    """A process's CPU time (all threads; /proc/PID/task/*/schedstat, first field), or None."""
    if not pid:
        return None
    total = 0
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total += int(f.read().split()[0])
    except OSError:
        return None
    return total


def machine_busy_ns():
    """Busy time of all CPUs (/proc/stat: every state but idle and iowait), as the runner reads it."""
    with open("/proc/stat") as f:
        ticks = [int(x) for x in f.readline().split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = ticks
    return (user + nice + system + irq + softirq + steal) * 1e9 / os.sysconf("SC_CLK_TCK")


class CPUWindow:
    """The server's CPU time, this process's and the machine's over the message phase: what went
    to neither is "other CPU", the sign of a shared machine (latency p99 shows it first)."""

    def __init__(self, server_pid):
        self.server_pid = server_pid
        self.start = self.sample()

    def sample(self):
        return now(), cpu_ns(self.server_pid), cpu_ns(os.getpid()), machine_busy_ns()

    def finish(self):
        t0, server0, own0, busy0 = self.start
        t1, server1, own1, busy1 = self.sample()
        self.seconds = t1 - t0
        self.server_ns = None if server0 is None or server1 is None else server1 - server0
        self.other = max(0.0, (busy1 - busy0) - (self.server_ns or 0) - (own1 - own0)) / (self.seconds * 1e9)


def percentile(sorted_values, p):
    """Nearest-rank percentile."""
    if not sorted_values:
        return float("nan")
    rank = max(1, -(-len(sorted_values) * p // 100))
    return sorted_values[int(rank) - 1]


def run_transport(cls, args):
    room = f"room-{secrets.token_hex(4)}"  # the same length for every transport: it is in every Socket.IO message
    deliveries = Deliveries(cls.label, args.messages)
    publisher = PUBLISHERS[cls.publisher](args.port, room, args.timeout)
    sub = cls(args.port, room, deliveries, args.timeout, args.poll_interval)
    try:
        started = now()
        sub.setup()
        setup_seconds = now() - started
        for c in sub.open_conns():
            c.check_kernel(f"{cls.label} after set-up")
        setup = (sub.meter.up, sub.meter.down, sub.meter.round_trips, sub.meter.connections)
        cpu = CPUWindow(args.server_pid)

        error = []

        def receive():
            try:
                sub.receive()
            except Exception as e:  # noqa: BLE001 - re-raised in the main thread
                error.append(e)

        thread = threading.Thread(target=receive, daemon=True)
        thread.start()
        sent_at = []
        first = now()
        for k in range(args.messages):
            delay = first + k * args.interval - now()
            if delay > 0:
                time.sleep(delay)
            sent_at.append(now())
            publisher.publish(message_text(k))
            if error or publisher.error:
                break
        # Polling needs up to one interval after the last message; everything else far less.
        thread.join(args.poll_interval + args.timeout)
        if publisher.error:
            raise Failure(f"{cls.label}: publisher: {publisher.error}")
        if error:
            raise error[0]
        if thread.is_alive():
            raise Failure(f"{cls.label}: {len(deliveries.times)} of {args.messages} messages arrived "
                          f"within {args.poll_interval + args.timeout:.0f} s of the last publish")
        finished = now()
        cpu.finish()
        for c in sub.open_conns():
            c.check_kernel(f"{cls.label} after the last message")
        up, down = sub.meter.up - setup[0], sub.meter.down - setup[1]
        sub.check_extra()
    finally:
        sub.close()
        publisher.close()

    latencies = sorted((r - s) * 1000 for r, s in zip(deliveries.times, sent_at))
    n = args.messages
    return {
        "key": cls.key,
        "transport": cls.label,
        "messages": n,
        "received": len(deliveries.times),
        "down_bytes_per_message": down / n,
        "up_bytes_per_message": up / n,
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "max_ms": latencies[-1],
        "mean_ms": sum(latencies) / len(latencies),
        "setup_round_trips": setup[2],
        "setup_connections": setup[3],
        "setup_up_bytes": setup[0],
        "setup_down_bytes": setup[1],
        "setup_ms": setup_seconds * 1000,
        "requests": sub.requests,
        "pings": sub.pings,
        "seconds": finished - first,
        "server_cpu_us_per_message": None if cpu.server_ns is None else cpu.server_ns / 1000 / n,
        "other_cpu": cpu.other,
        "publisher_up_bytes_per_message": publisher.meter.up / n,
    }


def table(results):
    header = ["transport", "msgs", "down B/msg", "up B/msg", "p50 ms", "p99 ms", "set-up RTs", "set-up B down/up"]
    rows = [[r["transport"], f'{r["received"]}/{r["messages"]}', f'{r["down_bytes_per_message"]:.1f}',
             f'{r["up_bytes_per_message"]:.1f}', f'{r["p50_ms"]:.2f}', f'{r["p99_ms"]:.2f}',
             str(r["setup_round_trips"]), f'{r["setup_down_bytes"]}/{r["setup_up_bytes"]}'] for r in results]
    widths = [max(len(x) for x in col) for col in zip(header, *rows)]
    return "\n".join("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
                     for row in [header] + rows)


MAX_OTHER_CPU = 0.10  # the runner's threshold for "the machine was shared"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True, help="the echo demo's port on 127.0.0.1")
    parser.add_argument("--quick", action="store_true", help="100 messages instead of 1,000")
    parser.add_argument("--messages", type=int, help="messages per transport (default 1000, --quick 100)")
    parser.add_argument("--interval-ms", type=float, default=10, help="publish every N ms (default 10)")
    parser.add_argument("--poll-interval", type=float, default=1.0, help="AJAX polling interval in s (default 1)")
    parser.add_argument("--timeout", type=float, default=10, help="socket timeout and grace period in s (default 10)")
    parser.add_argument("--server-pid", type=int, help="read the server's CPU time from /proc")
    parser.add_argument("--retries", type=int, default=3,
                        help="runs to repeat in all when other processes took over 10%% of a CPU, keeping the quietest (default 3)")
    parser.add_argument("--only", nargs="*", choices=[c.key for c in SUBSCRIBERS], help="run only these transports")
    args = parser.parse_args()
    args.messages = args.messages or (100 if args.quick else 1000)
    args.interval = args.interval_ms / 1000
    sys.setswitchinterval(0.0005)  # hand the GIL over quickly: a receive must not wait for it

    results = []
    retries_left = 0 if args.quick else args.retries
    for cls in SUBSCRIBERS:
        if args.only and cls.key not in args.only:
            continue
        print(f"run: {cls.label}: {args.messages} messages, one every {args.interval_ms:g} ms", flush=True)
        kept = None
        while True:
            try:
                r = run_transport(cls, args)
            except (Failure, OSError, ValueError, KeyError) as e:  # ValueError: JSON the server got wrong
                print(f"FAILED: {cls.label}: {e}", flush=True)
                sys.exit(2)
            if kept is None or r["other_cpu"] < kept["other_cpu"]:
                kept = r
            # A shared machine shows in p99 first: measure again (a bounded number of times in
            # all, so the whole run stays bounded) and keep the quietest run.
            if kept["other_cpu"] <= MAX_OTHER_CPU or retries_left == 0:
                break
            retries_left -= 1
            print(f"run: {cls.label}: other processes took {r['other_cpu']:.0%} of a CPU: measuring again", flush=True)
        r = kept
        results.append(r)
        print("result " + json.dumps(r), flush=True)
    print(table(results), flush=True)


if __name__ == "__main__":
    main()
