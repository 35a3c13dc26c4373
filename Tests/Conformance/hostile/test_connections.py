"""Per-connection memory a peer can make the server keep: a large request body on a keep-alive
connection that then idles, and incomplete input (half a head, half a frame) held in the tail.

Each test holds its connections open while the judge samples RSS, so memory kept per connection
shows; each is bounded in connections, bytes and time."""
import os
import socket
import struct
import time
from concurrent.futures import ThreadPoolExecutor

from support import Judge, connect, read_head, upgrade

BODY = os.urandom(1024 * 1024)  # the demo's body limit: 1 MiB


def post_and_keep(_):
    """One keep-alive connection: POST a 1 MiB body to /echo-body, read the echo, stay open."""
    s = connect(timeout=10)
    s.sendall(b"POST /echo-body HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(BODY) + BODY)
    status, head, rest = read_head(s)
    assert status == 200, head
    length = int([l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0].split(b":")[1])
    got = len(rest)
    while got < length:
        chunk = s.recv(1 << 20)
        assert chunk, "closed before the echo ended"
        got += len(chunk)
    assert got == length == len(BODY)
    return s


def test_large_bodies_on_keep_alive_connections_leave_nothing_behind_when_they_idle():
    # 500 connections each send one 1 MiB body (four at a time), then all idle together. A body
    # buffer kept at its largest size would hold 500 MiB; the budget allows what is in flight and
    # what malloc keeps, not a body per connection.
    with Judge(budget_mib=64) as judge:
        with ThreadPoolExecutor(max_workers=4) as pool:
            held = list(pool.map(post_and_keep, range(500)))
        try:
            time.sleep(0.3)
            growth = judge.sample_rss() / 1024
            assert growth <= 64, f"500 idle connections that each sent 1 MiB hold {growth:.0f} MiB"
            # Still keep-alive, still served.
            held[0].sendall(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n")
            assert read_head(held[0])[0] == 200
        finally:
            for s in held:
                s.close()


CONNECTIONS = 1000
TAIL = 5 * 1024
# A 5 KiB tail needs an 8 KiB block (the next size up); with the connection's own state and the
# page the allocator touches around it, 24 KiB each is what is needed. RSS counts only touched
# pages, so a fresh receive-buffer-sized block (64 KiB) would cost little more until the heap is
# reused: the demo's gauge of input memory says what is really held, and must be what is needed.
BUDGET_MIB = CONNECTIONS * 24 // 1024
INPUT_BYTES_BUDGET = CONNECTIONS * 8 * 1024 + 1024 * 1024  # blocks of 8 KiB, plus the loop's pool


def buffered_input_bytes():
    with connect() as s:
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    for line in data.split(b"\n"):
        if line.startswith(b"reactor_buffered_input_bytes "):
            return int(float(line.split()[1]))
    raise AssertionError("/metrics has no reactor_buffered_input_bytes")


def hold(make, count=CONNECTIONS):
    held = []
    try:
        for _ in range(count):
            held.append(make())
        time.sleep(0.3)  # let the server read them all
        return held
    except BaseException:
        for s in held:
            s.close()
        raise


def test_many_incomplete_request_heads_hold_what_they_sent():
    head = b"GET /plaintext HTTP/1.1\r\nHost: x\r\nX-Filler: " + b"a" * TAIL  # no end: incomplete

    def make():
        s = connect()
        s.sendall(head)
        return s

    with Judge(budget_mib=BUDGET_MIB) as judge:
        held = hold(make)
        try:
            growth = judge.sample_rss() / 1024
            assert growth <= BUDGET_MIB, f"{CONNECTIONS} half heads of 5 KiB hold {growth:.0f} MiB"
            held_bytes = buffered_input_bytes()
            assert CONNECTIONS * TAIL <= held_bytes <= INPUT_BYTES_BUDGET, f"input memory {held_bytes} bytes"
        finally:
            for s in held:
                s.close()


def test_many_incomplete_websocket_frames_hold_what_they_sent():
    # A binary frame announcing 16 KiB, of which 5 KiB arrive: the rest never comes.
    header = struct.pack("!BBH", 0x82, 0x80 | 126, 16 * 1024) + b"\x01\x02\x03\x04"
    partial = header + os.urandom(TAIL)

    def make():
        s, status, _, _ = upgrade("/echo")
        assert status == 101
        s.sendall(partial)
        return s

    with Judge(budget_mib=BUDGET_MIB) as judge:
        held = hold(make)
        try:
            growth = judge.sample_rss() / 1024
            assert growth <= BUDGET_MIB, f"{CONNECTIONS} half frames of 5 KiB hold {growth:.0f} MiB"
            # The WebSocket reader may take a frame's payload as it comes (then the tail is empty);
            # either way no connection may hold more than the next block size up.
            held_bytes = buffered_input_bytes()
            assert held_bytes <= INPUT_BYTES_BUDGET, f"input memory {held_bytes} bytes"
        finally:
            for s in held:
                s.close()
