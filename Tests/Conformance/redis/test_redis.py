"""Rooms across two echo processes sharing one Redis, judged by clients nobody here wrote:
websockets (a WebSocket on A), httpx-sse (an EventSource on B), httpx (POST /send, polling).

Server A is REACTOR_PORT; server B is started by conftest.py; both run with --redis.

What is and is not delivered during a Redis outage (test_redis_outage...):
- delivered, late, exactly once, in one order on both processes, with ids that continue the
  room's sequence: every message published on either process while Redis is down (POST /send and
  WebSocket frames). They are held by the publishing process (up to 10,000; beyond that the oldest
  are dropped and answered {"id":0}) and sent when Redis is back;
- POST /send is answered only after Redis is back, with the message's id;
- nothing is delivered while Redis is down, not even to clients of the publishing process: a
  message has no id until Redis numbers it, and ids are what keep processes consistent;
- not delivered: a message another process had published into Redis just before a crash that this
  process had not yet received is lost with Redis's memory (without persistence) and skipped, with a
  log line. This test publishes nothing in that window, so it expects no loss."""
import os
import threading
import time
import uuid

import httpx
import pytest
from httpx_sse import connect_sse
from websockets.sync.client import connect

A = int(os.environ["REACTOR_PORT"])


def http(port):
    return f"http://127.0.0.1:{port}"


def room():
    return "redis-" + uuid.uuid4().hex[:8]


def send(port, r, text, timeout=10):
    resp = httpx.post(f"{http(port)}/send", params={"room": r}, content=text.encode(), timeout=timeout)
    assert resp.status_code == 200, resp.text
    return resp.json()["id"]


class SSEReader(threading.Thread):
    """Collects (id, data) of `message` events from an event stream in the background."""

    def __init__(self, port, r, last_event_id=None):
        super().__init__(daemon=True)
        self.port, self.room, self.last = port, r, last_event_id
        self.events, self.ready = [], threading.Event()
        self.start()
        assert self.ready.wait(5), "event stream did not open"

    def run(self):
        headers = {"Last-Event-ID": str(self.last)} if self.last is not None else {}
        # No read timeout: a Redis outage means minutes may pass without an event.
        with httpx.Client(timeout=httpx.Timeout(10, read=None)) as c:
            with connect_sse(c, "GET", f"{http(self.port)}/events", params={"room": self.room}, headers=headers) as source:
                self.ready.set()
                for sse in source.iter_sse():
                    if sse.event == "message":
                        self.events.append((int(sse.id), sse.data))

    def wait_for(self, n, seconds=10):
        deadline = time.time() + seconds
        while time.time() < deadline and len(self.events) < n:
            time.sleep(0.01)
        return list(self.events)


class WSReader(threading.Thread):
    """A chat WebSocket whose received texts are collected in the background."""

    def __init__(self, port, r):
        super().__init__(daemon=True)
        self.ws = connect(f"ws://127.0.0.1:{port}/chat?room={r}", compression=None, open_timeout=5)
        self.texts = []
        self.start()

    def run(self):
        try:
            while True:
                self.texts.append(self.ws.recv())
        except Exception:
            pass

    def wait_for(self, n, seconds=10):
        deadline = time.time() + seconds
        while time.time() < deadline and len(self.texts) < n:
            time.sleep(0.01)
        return list(self.texts)

    def close(self):
        self.ws.close()


def test_websocket_on_a_and_sse_on_b_receive_messages_published_on_either(server_b):
    B = server_b.port
    r = room()
    ws_a, ws_b = WSReader(A, r), WSReader(B, r)
    sse_a, sse_b = SSEReader(A, r), SSEReader(B, r)
    time.sleep(0.2)
    ids = [send(A, r, "one from A"), send(B, r, "two from B")]
    ws_a.ws.send("three from a WebSocket on A")
    expected = [(1, "one from A"), (2, "two from B"), (3, "three from a WebSocket on A")]
    assert ids == [1, 2]
    # Ids consecutive and identical on both processes, on every transport.
    assert sse_b.wait_for(3) == expected
    assert sse_a.wait_for(3) == expected
    assert ws_a.wait_for(3) == [t for _, t in expected]
    assert ws_b.wait_for(3) == [t for _, t in expected]
    # Both processes agree on the room's state.
    for port in (A, B):
        body = httpx.get(f"{http(port)}/messages", params={"room": r}).json()
        assert body == {"cursor": 3, "messages": [{"id": i, "data": t} for i, t in expected]}
    time.sleep(0.3)
    assert len(sse_b.events) == 3 and len(ws_a.texts) == 3, "a message was delivered twice"
    ws_a.close()
    ws_b.close()


def test_last_event_id_resume_against_the_other_process(server_b):
    B = server_b.port
    r = room()
    first = SSEReader(A, r)
    for i in range(1, 4):
        send(A, r, f"m{i}")
    assert [i for i, _ in first.wait_for(3)] == [1, 2, 3]
    # The client goes away having seen id 3; meanwhile messages go on (published on B).
    for i in range(4, 7):
        send(B, r, f"m{i}")
    resumed = SSEReader(B, r, last_event_id=3)  # ... and reconnects to the other process
    assert resumed.wait_for(3) == [(4, "m4"), (5, "m5"), (6, "m6")]
    send(A, r, "m7")
    assert resumed.wait_for(4)[-1] == (7, "m7")
    time.sleep(0.2)
    assert len(resumed.events) == 4


def test_long_poll_cursor_against_the_other_process(server_b):
    B = server_b.port
    r = room()
    send(A, r, "p1")
    send(A, r, "p2")
    with httpx.Client(timeout=15) as c:
        # The cursor a client got from A means the same on B.
        body = c.get(f"{http(A)}/messages", params={"room": r, "cursor": 0}).json()
        assert body["cursor"] == 2
        assert c.get(f"{http(B)}/messages", params={"room": r, "cursor": 1}).json() == \
            {"cursor": 2, "messages": [{"id": 2, "data": "p2"}]}
        # A poll held on B is answered by a message published on A, and the other way round.
        for held, publisher, text, cursor in ((B, A, "p3", 2), (A, B, "p4", 3)):
            answer = {}
            t = threading.Thread(target=lambda: answer.update(body=c.get(
                f"{http(held)}/poll", params={"room": r, "cursor": cursor, "timeout": 10}).json()))
            t.start()
            time.sleep(0.3)
            send(publisher, r, text)
            t.join(10)
            assert answer["body"] == {"cursor": cursor + 1, "messages": [{"id": cursor + 1, "data": text}]}


def test_redis_outage_holds_publishes_and_delivers_each_once_in_order_after_restart(server_b, redis):
    B = server_b.port
    r = room()
    ws_a = WSReader(A, r)
    sse_b = SSEReader(B, r)
    sse_a = SSEReader(A, r)
    time.sleep(0.2)
    send(A, r, "before 1")
    send(B, r, "before 2")
    assert len(sse_b.wait_for(2)) == 2 and len(ws_a.wait_for(2)) == 2 and len(sse_a.wait_for(2)) == 2

    # One client per publish, made before the outage (creating one takes longer than the pause
    # that orders the publishes).
    published_a = ["down A1", "down A2", "down A3"]
    published_b = ["down B1", "down B2", "down B3"]
    clients = {text: httpx.Client(timeout=40) for text in published_a + published_b}
    redis.kill()
    time.sleep(0.3)
    answers = {}

    def post(port, text):
        try:
            resp = clients[text].post(f"{http(port)}/send", params={"room": r}, content=text.encode())
            answers[text] = (time.time(), resp.status_code, resp.json())
        except Exception as e:  # recorded, asserted below
            answers[text] = (time.time(), None, repr(e))

    # Publishes during the outage, on both processes; a pause between them fixes their order.
    threads = []
    for a, b in zip(published_a, published_b):
        for port, text in ((A, a), (B, b)):
            t = threading.Thread(target=post, args=(port, text), daemon=True)
            t.start()
            threads.append(t)
        time.sleep(0.2)
    ws_a.ws.send("down A4 (WebSocket)")
    published_a.append("down A4 (WebSocket)")
    time.sleep(1.5)

    # While Redis is down: no POST answered, nothing delivered anywhere.
    assert answers == {}, f"answered during the outage: {answers}"
    assert len(ws_a.texts) == 2 and len(sse_b.events) == 2 and len(sse_a.events) == 2

    restarted = time.time()
    redis.start()
    for t in threads:
        t.join(30)
    # Every POST is answered after Redis is back, with a distinct id continuing the room.
    assert sorted(answers) == sorted(published_a[:3] + published_b)
    for text, (when, status, body) in answers.items():
        assert status == 200, (text, body)
        assert when >= restarted
    answered_ids = sorted(body["id"] for _, _, body in answers.values())
    assert len(set(answered_ids)) == 6 and min(answered_ids) >= 3 and max(answered_ids) <= 9

    # Every message of the outage delivered exactly once, in one order, on both processes.
    total = 2 + 7
    events_b = sse_b.wait_for(total, seconds=20)
    events_a = sse_a.wait_for(total, seconds=20)
    texts_ws = ws_a.wait_for(total, seconds=20)
    time.sleep(0.5)  # anything doubled would arrive by now
    events_b, events_a, texts_ws = list(sse_b.events), list(sse_a.events), list(ws_a.texts)
    assert [i for i, _ in events_b] == list(range(1, total + 1)), events_b
    assert events_a == events_b
    assert texts_ws == [t for _, t in events_b]
    delivered = [t for _, t in events_b]
    assert [t for t in delivered if t.startswith("down A")] == published_a  # each publisher's order
    assert [t for t in delivered if t.startswith("down B")] == published_b
    for text, (_, _, body) in answers.items():
        assert events_b[body["id"] - 1] == (body["id"], text)  # the answer is the id it got everywhere

    # Both processes reconnected: delivery resumes both ways, and B says so in its log.
    assert send(A, r, "after A") == total + 1
    assert send(B, r, "after B") == total + 2
    assert [t for _, t in sse_b.wait_for(total + 2)][-2:] == ["after A", "after B"]
    assert ws_a.wait_for(total + 2)[-2:] == ["after A", "after B"]
    log = server_b.output()
    assert "unreachable: connection refused" in log and "reachable again" in log, log
    assert log.count("unreachable") == 1, "the outage is logged once, not once per retry"
    ws_a.close()
    for c in clients.values():
        c.close()


def proc_connections_to(pid, port):
    """TCP connections of process `pid` whose remote port is `port` (IPv4 and IPv6)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            next(f)
            for line in f:
                fields = line.split()
                if int(fields[2].split(":")[1], 16) == port and fields[9] in inodes:
                    found += 1
    return found


def test_without_the_flag_nothing_touches_redis(server_without_redis, redis):
    c = server_without_redis
    before = redis.info_stat("total_connections_received")
    r = room()
    sse = SSEReader(c.port, r)
    assert send(c.port, r, "local only") == 1
    assert sse.wait_for(1) == [(1, "local only")]
    time.sleep(0.5)
    after = redis.info_stat("total_connections_received")
    assert after == before + 1, "someone but this check connected to Redis"  # +1: the check itself
    assert proc_connections_to(c.pid, int(os.environ["REACTOR_REDIS_PORT"])) == 0
    assert "redis" not in c.output().lower()
