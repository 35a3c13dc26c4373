"""Emit modifiers on the wire: `compress(false)` seen by a raw WebSocket client that negotiated
permessage-deflate (the frame comes without RSV1, where the same packet with compression has it),
and a volatile broadcast to a client that does not read (it misses packets instead of being
queued for, so it stays connected, the server's memory stays flat, and a reading client gets
its own)."""
import base64
import json
import os
import socket
import struct
import time
import zlib

import socketio

from support import Server, connect


class RawWebSocket:
    """A client WebSocket by hand, offering permessage-deflate, reading frames with their RSV1 bit."""

    def __init__(self, port, receive_buffer=None):
        self.sock = socket.socket()
        if receive_buffer:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.sock.settimeout(5)
        self.sock.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n").encode())
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self.sock.recv(4096)
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101"), head
        self.deflate = b"permessage-deflate" in head.lower()
        self.inflater = zlib.decompressobj(-15)

    def _read(self, n):
        while len(self.buffer) < n:
            chunk = self.sock.recv(65536)
            assert chunk, "connection closed"
            self.buffer += chunk
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    def frame(self):
        """(rsv1, opcode, payload as sent), or raises on a close frame."""
        b0, b1 = self._read(2)
        length = b1 & 0x7F
        if length == 126:
            length = struct.unpack("!H", self._read(2))[0]
        elif length == 127:
            length = struct.unpack("!Q", self._read(8))[0]
        payload = self._read(length)
        return bool(b0 & 0x40), b0 & 0x0F, payload

    def text(self, payload, rsv1):
        if rsv1:
            # Context takeover may be on: one inflater for the whole connection.
            payload = self.inflater.decompress(payload + b"\x00\x00\xff\xff")
        return payload.decode()

    def message(self):
        """The next text message that is not a ping (answered), with whether it was compressed."""
        while True:
            rsv1, opcode, payload = self.frame()
            assert opcode != 8, f"closed: {payload!r}"
            if opcode != 1:
                continue
            text = self.text(payload, rsv1)
            if text == "2":
                self.send("3")
                continue
            return rsv1, text

    def send(self, text):
        data = text.encode()
        mask = os.urandom(4)
        header = bytes([0x81])
        if len(data) < 126:
            header += bytes([0x80 | len(data)])
        else:
            header += bytes([0x80 | 126]) + struct.pack("!H", len(data))
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def close(self):
        self.sock.close()


def test_compress_false_sends_the_frame_without_rsv1():
    with Server("--eio-permessage-deflate") as server:
        ws = RawWebSocket(server.port)
        try:
            assert ws.deflate, "the server agreed permessage-deflate"
            assert ws.message()[1].startswith("0{")
            ws.send("40")
            assert ws.message()[1].startswith("40{")
            assert ws.message()[1].startswith('42["auth"')
            for compress in (False, True, False):
                ws.send("42" + json.dumps(["big", {"size": 4000, "compress": compress}]))
                rsv1, text = ws.message()
                assert text == "42" + json.dumps(["big", "x" * 4000], separators=(",", ":"))
                assert rsv1 == compress, f"compress({compress}) but RSV1 {rsv1}"
        finally:
            ws.close()


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_a_volatile_broadcast_skips_a_client_that_does_not_read():
    count, size = 2000, 8192  # 16 MiB of ticks, eight times the session queue bound
    with Server("--max-session-queue", "2097152") as server:
        stalled = RawWebSocket(server.port, receive_buffer=4096)
        try:
            assert stalled.message()[1].startswith("0{")
            stalled.send("40")
            assert stalled.message()[1].startswith("40{")
            # From now on `stalled` reads nothing until the ticks are over.
            reader, rec = connect(url=server.url, transports=("websocket",))
            try:
                before = rss_kib(server.proc.pid)
                answer = reader.call("volatile-ticks", {"count": count, "size": size}, timeout=30)
                assert answer == {"ok": True, "count": count}
                rec.wait("ticks-done", timeout=10)
                got = len(rec.of("tick"))
                grown = rss_kib(server.proc.pid) - before
                assert got > count // 4, f"the reading client got {got} of {count} ticks"
                assert grown < 32 * 1024, f"RSS grew {grown} KiB"
            finally:
                reader.disconnect()
            # The stalled client was not closed as a slow consumer: it reads what the kernel
            # held for it (fewer ticks than were sent), then `ticks-done`, and its session answers.
            ticks = 0
            while True:
                _, text = stalled.message()
                if text.startswith('42["tick"'):
                    ticks += 1
                elif text.startswith('42["ticks-done"'):
                    break
            assert ticks < count, "some ticks were dropped for it, not queued"
            stalled.send('421["echo","alive"]')
            assert stalled.message()[1] == '431["alive"]'
        finally:
            stalled.close()
