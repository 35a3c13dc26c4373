#!/usr/bin/env python3
"""The fixed loads of `bench gate` (see Benchmarks/README.md, "The gate").

One path per run, against the reactor's `echo` demo on 127.0.0.1:PORT. The client opens its
connections, runs WARMUP operations, marks the start of the window, runs OPS operations, marks
its end, and prints one line: `ops=N` (the operations the window holds, the figure the gate
divides by). Everything is strictly one step at a time: the next request, message or publish
leaves only when every answer to the last one has come back and been checked, so the server
sees the same reads of the same sizes on every run, and its instruction count does not depend
on how fast the machine is. A wrong answer exits with status 2; a broken server must not look
cheap.

The marks: `--marks callgrind` runs `callgrind_control --zero PID` and `--dump PID` (the server
runs under valgrind's callgrind), `--marks signals` sends SIGUSR1 and SIGUSR2 (the malloc
counter's reset and report, C/malloc_counter.c). Connection set-up and warm-up stay outside.

Bounded: every socket read times out after 60 s and the whole run after --deadline seconds
(SIGALRM); nothing but 127.0.0.1 is ever dialled.

usage: client.py PATH --port P --pid PID --marks callgrind|signals --ops N --warmup W
paths: http-get, http-pipelined, ws-echo-32, ws-echo-16k, ws-burst-32, the same four (not 16k) on the async API (-async),
sse, broadcast, socketio,
socketio-recovery (the demo started with --sio-recovery: each reply carries its offset)
"""
import argparse
import os
import signal
import socket
import subprocess
import sys
import time

HOST = "127.0.0.1"
# What every fan-out path (sse, broadcast) delivers to: subscribers per published message.
FANOUT = 16
# The fixed key and mask: nothing random, so every run sends the same bytes.
WS_KEY = "dGhlIHNhbXBsZSBub25jZQ=="
MASK = b"\x37\xfa\x21\x3d"


def fail(why):
    sys.stderr.write("gate client: %s\n" % why)
    sys.exit(2)


class Conn:
    """A blocking TCP connection with its own receive buffer."""

    def __init__(self, port):
        self.s = socket.create_connection((HOST, port), timeout=60)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()

    def send(self, data):
        self.s.sendall(data)

    def fill(self):
        chunk = self.s.recv(1 << 20)
        if not chunk:
            fail("connection closed by the server (received so far: %r)" % bytes(self.buf[:200]))
        self.buf += chunk

    def take(self, n):
        while len(self.buf) < n:
            self.fill()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def take_until(self, marker):
        """Everything up to and including `marker`."""
        while True:
            i = self.buf.find(marker)
            if i >= 0:
                out = bytes(self.buf[: i + len(marker)])
                del self.buf[: i + len(marker)]
                return out
            self.fill()

    def head(self, status):
        h = self.take_until(b"\r\n\r\n")
        if not h.startswith(status):
            fail("expected %r, got %r" % (status, h[:200]))
        return h


def content_length(head):
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    fail("response without Content-Length: %r" % head[:200])


def masked_frame(opcode, payload):
    n = len(payload)
    if n < 126:
        header = bytes([0x80 | opcode, 0x80 | n])
    elif n < 65536:
        header = bytes([0x80 | opcode, 0x80 | 126]) + n.to_bytes(2, "big")
    else:
        header = bytes([0x80 | opcode, 0x80 | 127]) + n.to_bytes(8, "big")
    key = int.from_bytes(MASK * ((n + 3) // 4), "big") >> (8 * ((4 - n % 4) % 4))
    body = (int.from_bytes(payload, "big") ^ key).to_bytes(n, "big") if n else b""
    return header + MASK + body


def server_frame(opcode, payload):
    """A frame as the server must send it: unmasked, FIN, minimal length."""
    n = len(payload)
    if n < 126:
        return bytes([0x80 | opcode, n]) + payload
    if n < 65536:
        return bytes([0x80 | opcode, 126]) + n.to_bytes(2, "big") + payload
    return bytes([0x80 | opcode, 127]) + n.to_bytes(8, "big") + payload


def read_frame(c):
    """One whole server frame: (opcode, payload). The server never masks."""
    b0, b1 = c.take(2)
    n = b1 & 0x7F
    if n == 126:
        n = int.from_bytes(c.take(2), "big")
    elif n == 127:
        n = int.from_bytes(c.take(8), "big")
    if b1 & 0x80:
        fail("masked frame from the server")
    return b0 & 0x0F, c.take(n)


def upgrade(port, target):
    c = Conn(port)
    c.send(("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (target, HOST, port, WS_KEY)).encode())
    c.head(b"HTTP/1.1 101")
    return c


# Each path: set up, then `step(i)` is one operation (or one publish of FANOUT deliveries).
# Returns (step, operations per step).

def http_path(port, depth, target="/plaintext"):
    c = Conn(port)
    batch = ("GET %s HTTP/1.1\r\nHost: %s:%d\r\n\r\n" % (target, HOST, port)).encode() * depth

    def step(_):
        c.send(batch)
        for _ in range(depth):
            body = c.take(content_length(c.head(b"HTTP/1.1 200 ")))
            if body != b"Hello, World!":
                fail("body %r" % body)
    return step, depth


def ws_echo_path(port, size, target="/echo"):
    c = upgrade(port, target)
    payload = bytes((i * 7 + 1) & 0xFF for i in range(size))
    frame = masked_frame(0x2, payload)
    want = server_frame(0x2, payload)

    def step(_):
        c.send(frame)
        got = c.take(len(want))
        if got != want:
            fail("echo differs: %r" % got[:40])
    return step, 1


def ws_burst_path(port, size, target="/echo", burst=16):
    """BURST messages in one write, then all BURST echoes: the load of the named benchmark
    (16 in flight per connection), where a reader usually finds messages already waiting."""
    c = upgrade(port, target)
    payload = bytes((i * 7 + 1) & 0xFF for i in range(size))
    frames = masked_frame(0x2, payload) * burst
    want = server_frame(0x2, payload) * burst

    def step(_):
        c.send(frames)
        got = c.take(len(want))
        if got != want:
            fail("burst echo differs: %r" % got[:40])
    return step, burst


def text32(i):
    """Message i: 32 bytes of text, the same length for every i."""
    return ("gate %010d abcdefghijklmnop" % i).encode()


def sse_path(port):
    subs = []
    for _ in range(FANOUT):
        s = Conn(port)
        s.send(("GET /events?room=gate-sse HTTP/1.1\r\nHost: %s:%d\r\n\r\n" % (HOST, port)).encode())
        s.head(b"HTTP/1.1 200 ")
        subs.append(s)
    pub = Conn(port)

    def step(i):
        text = text32(i)
        pub.send(("POST /send?room=gate-sse HTTP/1.1\r\nHost: %s:%d\r\nContent-Length: %d\r\n\r\n"
                  % (HOST, port, len(text))).encode() + text)
        pub.take(content_length(pub.head(b"HTTP/1.1 200 ")))
        want = b"data: " + text + b"\n"
        for s in subs:
            s.take_until(want)
    return step, FANOUT


def broadcast_path(port):
    # Every socket is in the room, the publisher too (it gets its own message back, as every
    # chat socket does): FANOUT deliveries per message.
    subs = [upgrade(port, "/chat?room=gate-room") for _ in range(FANOUT)]

    def step(i):
        text = text32(i)
        subs[0].send(masked_frame(0x1, text))
        for s in subs:
            opcode, payload = read_frame(s)
            if opcode != 0x1 or payload != text:
                fail("broadcast: got %r %r" % (opcode, payload[:40]))
    return step, FANOUT


def socketio_path(port, recovery=False):
    c = upgrade(port, "/socket.io/?EIO=4&transport=websocket")
    opcode, payload = read_frame(c)
    if not payload.startswith(b"0{"):
        fail("no Engine.IO open packet: %r" % payload[:80])
    c.send(masked_frame(0x1, b"40"))
    for _ in range(2):  # the CONNECT answer and the demo's `auth` emit, in either order
        opcode, payload = read_frame(c)
        if not (payload.startswith(b"40{") or payload.startswith(b'42["auth"')):
            fail("unexpected Socket.IO packet: %r" % payload[:80])
        if payload.startswith(b"40{") and recovery != (b'"pid":' in payload):
            fail("recovery %s but the CONNECT answer is %r" % ("on" if recovery else "off", payload[:80]))
    last_offset = [None]

    def step(i):
        text = text32(i).decode()
        c.send(masked_frame(0x1, ('42["message","%s"]' % text).encode()))
        opcode, payload = read_frame(c)
        expected = ('42["message-back","%s"' % text).encode()
        if not recovery:
            if payload != expected + b"]":
                fail("socketio: got %r" % payload[:80])
            return
        # With recovery on, the offset comes last, a string, and never repeats.
        if not (payload.startswith(expected + b',"') and payload.endswith(b'"]')):
            fail("socketio-recovery: got %r" % payload[:80])
        offset = payload[len(expected) + 2:-2]
        if not offset or b'"' in offset or offset == last_offset[0]:
            fail("socketio-recovery: bad offset in %r" % payload[:80])
        last_offset[0] = offset
    return step, 1


PATHS = {
    "http-get": lambda port: http_path(port, 1),
    "http-pipelined": lambda port: http_path(port, 16),
    "ws-echo-32": lambda port: ws_echo_path(port, 32),
    "ws-echo-16k": lambda port: ws_echo_path(port, 16384),
    "http-get-async": lambda port: http_path(port, 1, "/plaintext-async"),
    "http-pipelined-async": lambda port: http_path(port, 16, "/plaintext-async"),
    "ws-echo-32-async": lambda port: ws_echo_path(port, 32, "/echo-async"),
    "ws-burst-32": lambda port: ws_burst_path(port, 32),
    "ws-burst-32-async": lambda port: ws_burst_path(port, 32, "/echo-async"),
    "sse": sse_path,
    "broadcast": broadcast_path,
    "socketio": socketio_path,
    "socketio-recovery": lambda port: socketio_path(port, recovery=True),
}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("path", choices=sorted(PATHS))
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--marks", choices=["callgrind", "signals"], required=True)
    p.add_argument("--ops", type=int, required=True, help="steps in the window")
    p.add_argument("--warmup", type=int, required=True, help="steps before it")
    p.add_argument("--deadline", type=int, default=600, help="seconds before the client gives up")
    a = p.parse_args()
    signal.signal(signal.SIGALRM, lambda *_: fail("the run took longer than %d s" % a.deadline))
    signal.alarm(a.deadline)

    def mark(start):
        # Let the server finish the turn that answered the last step before the edge.
        time.sleep(0.1)
        if a.marks == "callgrind":
            subprocess.run(["callgrind_control", "--zero" if start else "--dump", str(a.pid)],
                           check=True, stdout=subprocess.DEVNULL)
        else:
            os.kill(a.pid, signal.SIGUSR1 if start else signal.SIGUSR2)
            time.sleep(0.1)

    step, per_step = PATHS[a.path](a.port)
    for i in range(a.warmup):
        step(i)
    mark(True)
    for i in range(a.warmup, a.warmup + a.ops):
        step(i)
    mark(False)
    print("ops=%d" % (a.ops * per_step))


if __name__ == "__main__":
    main()
