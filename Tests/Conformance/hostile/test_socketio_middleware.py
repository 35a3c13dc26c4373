"""Hostile clients of issue 20's packet middlewares: events a slow middleware holds (the demo's
`--sio-packet-filter` holds `slow` 300 ms) are bounded per socket (`--sio-pending-packets`), so a
client that sends them faster than they are let go grows nothing past the bound. Bounded in count
and time, judged by `Judge`."""
import json
import struct
import threading
import time

from support import Server
from test_socketio_loops import client


def unmasked_frame(text):
    """A client text frame with the all-zero mask key: masking it is the identity, so Python
    sends at loopback speed instead of masking each byte."""
    payload = text.encode()
    n = len(payload)
    if n < 126:
        head = bytes([0x81, 0x80 | n])
    elif n < 65536:
        head = bytes([0x81, 0x80 | 126]) + struct.pack(">H", n)
    else:
        head = bytes([0x81, 0x80 | 127]) + struct.pack(">Q", n)
    return head + b"\0\0\0\0" + payload


def flood(port, count, size):
    c = client(port)
    frame = unmasked_frame("42" + json.dumps(["slow", "x" * size]))
    for _ in range(count):
        c.s.sendall(frame)
    time.sleep(1)  # the held events are let go (300 ms): `echo` is not dropped by the full bound
    c.emit_with_ack("echo", "done")
    assert c.acks(1, timeout=30) is not None  # the server read everything sent
    c.s.close()


def test_events_held_by_a_slow_packet_middleware_stay_within_the_bound():
    # 4 clients send 8,000 `slow` events of 16 KB each (500 MB asked), each held 300 ms: at the
    # bound of 100 per socket, at most 6.4 MB are held at once. Measured: +6.7 MiB; with the bound
    # lifted (--sio-pending-packets 100000000), +155 MiB, over the budget.
    with Server("--sio-packet-filter", "--sio-pending-packets", "100") as server, server.judge(32):
        threads = [threading.Thread(target=flood, args=(server.port, 8000, 16000)) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not any(t.is_alive() for t in threads)
