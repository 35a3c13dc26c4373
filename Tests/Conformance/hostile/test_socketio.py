"""Hostile Socket.IO clients of the demo: joining rooms without end, long room names, never
reading while being sent to, and joining another socket's private (id) room. Raw Engine.IO over
WebSocket, so each test sees the exact packets."""
import json
import socket
import threading
import time

from support import PORT, Judge, alive, frame, read_head, upgrade
from test_websocket import read_frame

PATH = "/socket.io/?EIO=4&transport=websocket"


class Client:
    """A Socket.IO client on the main namespace, spoken by hand."""

    def __init__(self, rcvbuf=None):
        self.s, status, _, self.rest = upgrade(PATH) if rcvbuf is None else self.upgrade_small(rcvbuf)
        assert status == 101
        assert self.text().startswith("0{")  # Engine.IO open
        self.send("40")
        connected = self.text()
        assert connected.startswith("40{"), connected
        self.sid = json.loads(connected[2:])["sid"]
        self.next_ack = 0

    @staticmethod
    def upgrade_small(rcvbuf):
        """A client that reads slowly: its receive buffer is small from the SYN on (so the window
        stays small), and the server's queue for it fills."""
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.settimeout(5)
        s.connect(("127.0.0.1", PORT))
        s.sendall(b"GET " + PATH.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                  b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                  b"Sec-WebSocket-Version: 13\r\n\r\n")
        status, head, rest = read_head(s)
        return s, status, head, rest

    def send(self, text):
        self.s.sendall(frame(0x1, text.encode()))

    def text(self):
        while True:
            _, _, opcode, payload, self.rest = read_frame(self.s, self.rest)
            if opcode == 0x1:
                return payload.decode()
            if opcode == 0x8:
                raise EOFError("closed")

    def emit_with_ack(self, event, arg):
        ack_id = self.next_ack
        self.next_ack += 1
        self.send("42" + str(ack_id) + json.dumps([event, arg]))
        return ack_id

    def acks(self, count, timeout=10):
        """The next `count` acks, by id (other packets skipped)."""
        self.s.settimeout(timeout)
        got = {}
        while len(got) < count:
            t = self.text()
            if t.startswith("43"):
                body = t[2:]
                i = 0
                while body[i].isdigit():
                    i += 1
                got[int(body[:i])] = json.loads(body[i:])[0]
        return got

    def close(self):
        self.s.close()


def test_joining_rooms_without_end_is_refused_past_the_bound():
    """Five clients each ask to join 1,500 rooms and some 10 KiB room names: the first 999 joins
    (the socket's own id room is the thousandth) are acked ok, the rest and every long name not."""
    clients = []
    with Judge(budget_mib=32):
        try:
            for _ in range(5):
                c = Client()
                clients.append(c)
                for i in range(1500):
                    c.emit_with_ack("join", {"room": f"room-{c.sid[:6]}-{i}"})
                for i in range(20):
                    c.emit_with_ack("join", {"room": f"{i}-" + "x" * 10_000})
            for c in clients:
                acks = c.acks(1520)
                oks = [acks[i]["ok"] for i in range(1520)]
                assert oks[:999] == [True] * 999
                assert not any(oks[999:]), oks[999:1010]
                assert "too many rooms" in acks[1000]["error"]
            assert alive()
        finally:
            for c in clients:
                c.close()


def test_a_client_that_never_reads_is_disconnected_past_its_queue_bound():
    """A client with a small receive buffer never reads while another shouts 64 KiB announcements
    to the whole namespace (16 MiB in all). Its session is closed once 2 MiB wait for it, instead
    of holding up to the connection's 32 MiB; the shouter is not slowed."""
    sleeper = Client(rcvbuf=4096)
    shouter = Client()
    stop = threading.Event()
    received = [0]

    def drain():  # the shouter reads its own announcements, as a well-behaved client does
        shouter.s.settimeout(0.5)
        while not stop.is_set():
            try:
                received[0] += len(shouter.s.recv(1 << 20))
            except socket.timeout:
                pass
            except OSError:
                return

    reader = threading.Thread(target=drain, daemon=True)
    try:
        with Judge(budget_mib=32):
            reader.start()
            text = "s" * (64 * 1024)
            for _ in range(256):
                shouter.send("42" + json.dumps(["shout", {"text": text}]))
            deadline = time.monotonic() + 10
            while received[0] < 256 * 64 * 1024 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert received[0] >= 256 * 64 * 1024, f"the shouter got {received[0]} bytes back"
            # The sleeper's connection was dropped: reading it now ends (EOF or reset) after
            # what the kernel had buffered, not after 16 MiB.
            sleeper.s.settimeout(5)
            total = 0
            ended = False
            give_up = time.monotonic() + 20
            try:
                while time.monotonic() < give_up:
                    chunk = sleeper.s.recv(1 << 20)
                    if not chunk:
                        ended = True
                        break
                    total += len(chunk)
            except ConnectionError:
                ended = True
            assert ended, f"the sleeper's connection is still open after {total} bytes"
            assert total < 12 * 1024 * 1024, f"{total} bytes reached the sleeper"
            print(f"\nslow reader: dropped after {total / 1048576:.1f} MiB of the 16 MiB sent to it")
            assert alive()
    finally:
        stop.set()
        reader.join()
        sleeper.close()
        shouter.close()


def test_joining_another_sockets_id_room_is_refused():
    victim = Client()
    thief = Client()
    try:
        with Judge(budget_mib=16):
            thief.emit_with_ack("join", {"room": victim.sid})
            thief.emit_with_ack("join", victim.sid)  # the bare form too
            thief.emit_with_ack("join", {"room": thief.sid})  # its own: already in it
            acks = thief.acks(3)
            assert acks[0]["ok"] is False and "socket id" in acks[0]["error"], acks
            assert acks[1]["ok"] is False, acks
            assert acks[2]["ok"] is True, acks
    finally:
        victim.close()
        thief.close()
