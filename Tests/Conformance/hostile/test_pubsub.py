"""Hostile use of the chat's rooms (issue: no client may take unbounded memory): naming rooms by
the hundred thousand, filling replay logs with large messages, asking for whole histories and
never reading them, and a stalled event stream under the drop-oldest policy. Each attack is judged
by the server's RSS growth and by a fresh GET /plaintext answered within 200 ms throughout."""
import socket
import threading
import time
import uuid

import pytest

from support import Server, connect, read_head


@pytest.fixture(scope="module")
def server():
    """A server of this file's own: its RSS is this file's attacks' alone, and another file's
    crash cannot take it down."""
    with Server() as s:
        yield s


def pipelined_gets(paths, port, window=200):
    """Sends GET requests for `paths` on one keep-alive connection, `window` at a time, reading
    every answer before the next window; returns the number of 200 answers."""
    ok = 0
    with connect(port, timeout=10) as s:
        for start in range(0, len(paths), window):
            batch = paths[start:start + window]
            s.sendall(b"".join(b"GET " + p.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n" for p in batch))
            data = b""
            while not _complete(data, len(batch)):
                chunk = s.recv(1 << 20)
                assert chunk, "the server closed a keep-alive connection"
                data += chunk
            ok += data.count(b"HTTP/1.1 200 ")
    return ok


def _complete(data, n):
    """Whether `data` holds `n` whole answers (each with a Content-Length)."""
    i = 0
    for _ in range(n):
        end = data.find(b"\r\n\r\n", i)
        if end < 0:
            return False
        length = 0
        for line in data[i:end].split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        i = end + 4 + length
        if i > len(data):
            return False
    return True


def post(s, room, body):
    s.sendall(f"POST /send?room={room} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
    status, head, rest = read_head(s)
    length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
    while len(rest) < length:
        rest += s.recv(65536)
    return status


def test_two_hundred_thousand_room_names_read_through_messages(server):
    # Each read names a room nobody ever used: it must leave nothing behind.
    prefix = uuid.uuid4().hex[:8]
    per_connection = 50_000
    results = []

    def reader(k):
        paths = [f"/messages?room={prefix}-{k}-{i}&cursor=0" for i in range(per_connection)]
        results.append(pipelined_gets(paths, server.port))

    with server.judge(budget_mib=64) as judge:
        threads = [threading.Thread(target=reader, args=(k,)) for k in range(4)]
        start = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(40)
        judge.sample_rss()
    assert sum(results) == 4 * per_connection, results
    assert time.monotonic() - start < 40


def test_a_thousand_one_megabyte_posts_to_ten_rooms(server):
    prefix = uuid.uuid4().hex[:8]
    body = b"x" * 1_000_000
    statuses = []

    def poster(k):
        with connect(server.port, timeout=10) as s:
            for i in range(250):
                statuses.append(post(s, f"{prefix}-{(k * 250 + i) % 10}", body))

    with server.judge(budget_mib=160) as judge:
        threads = [threading.Thread(target=poster, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(40)
        judge.sample_rss()
    assert statuses.count(200) == 1000, set(statuses)


def stalled(request, port):
    """A client with a small receive window that sends `request` and never reads."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    s.sendall(request)
    return s


def test_two_hundred_clients_ask_for_the_whole_history_and_never_read(server):
    room = "history-" + uuid.uuid4().hex[:8]
    text = b"h" * 4000
    with connect(server.port, timeout=10) as s:
        for _ in range(900):  # about 3.6 MB: the whole history still begins at 1
            assert post(s, room, text) == 200
    history = (f"/messages?room={room}&cursor=0 HTTP/1.1\r\nHost: x\r\n\r\n").encode()
    clients = []
    with server.judge(budget_mib=128) as judge:
        for i in range(200):
            kind = i % 4
            if kind < 2:
                # Fifty history reads pipelined on one connection, none of them read.
                clients.append(stalled((b"GET " + history) * 50, server.port))
            elif kind == 2:
                clients.append(stalled(f"GET /events?room={room}&lastEventId=0 HTTP/1.1\r\nHost: x\r\n\r\n".encode(), server.port))
            else:
                clients.append(stalled(
                    f"GET /chat?room={room}&after=0 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                    "Sec-WebSocket-Version: 13\r\n\r\n".encode(), server.port))
        time.sleep(1.5)  # let the server answer all it will
        judge.sample_rss()
        # Everyone else is still served, history included, while the 200 hold on.
        with connect(server.port, timeout=5) as s:
            s.sendall(b"GET " + history)
            status, head, _ = read_head(s)
            assert status == 200
    for c in clients:
        c.close()


def test_stalled_event_stream_under_drop_oldest_holds_a_bounded_backlog(server):
    room = "stall-" + uuid.uuid4().hex[:8]
    s = stalled(f"GET /events?room={room} HTTP/1.1\r\nHost: x\r\n\r\n".encode(), server.port)
    time.sleep(0.2)
    body = b"s" * 65_536
    with server.judge(budget_mib=48) as judge:
        with connect(server.port, timeout=10) as p:
            for _ in range(2000):  # 128 MiB through a stream that reads nothing
                assert post(p, room, body) == 200
        judge.sample_rss()
    # Still open (the policy drops, it does not disconnect): reading it now drains the backlog,
    # and the client is told how many were dropped.
    s.settimeout(5)
    seen = b""
    deadline = time.monotonic() + 10
    try:
        while b"event: dropped" not in seen and time.monotonic() < deadline:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            seen = seen[-100:] + chunk
    finally:
        s.close()
    assert b"event: dropped" in seen, "the stalled stream was not told what it missed"
