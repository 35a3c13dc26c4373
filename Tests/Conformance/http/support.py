"""A raw-socket HTTP/1.1 client whose every received byte is judged by h11.

The tests never parse the server's output themselves: h11 (an independent, strict HTTP/1.1
implementation) turns the bytes into events and raises RemoteProtocolError on anything
malformed. Requests go out either through h11 (well-formed ones) or as raw bytes (the bad
inputs, HTTP/1.0, pipelines); for raw ones the h11 connection is told which request it was
(`wire=False`) so it frames the answer correctly (a HEAD answer has no body, and so on).
"""

import os
import socket
from dataclasses import dataclass, field

import h11

HOST = "127.0.0.1"
#: Bound on every socket operation: a test that waits longer has failed.
TIMEOUT = 5.0


def server_port() -> int:
    value = os.environ.get("REACTOR_HTTP_PORT")
    if not value:
        raise RuntimeError("REACTOR_HTTP_PORT is not set: run Tests/Conformance/http.sh, which starts the server")
    return int(value)


@dataclass
class Response:
    status: int
    reason: bytes
    http_version: bytes
    headers: list  # [(lowercase name, value)] as bytes, in wire order
    body: bytes
    informational: list = field(default_factory=list)  # h11.InformationalResponse events before it

    def header_values(self, name: str) -> list:
        key = name.lower().encode()
        return [v.decode("latin-1") for (n, v) in self.headers if n == key]

    def header(self, name: str):
        """The one value of `name`, or None; fails if the field appears more than once."""
        values = self.header_values(name)
        assert len(values) <= 1, f"{name} appears {len(values)} times: {values}"
        return values[0] if values else None

    def connection_tokens(self) -> set:
        return {t.strip().lower() for v in self.header_values("connection") for t in v.split(",") if t.strip()}


def request_events(method, target, headers=(), body=None, chunks=None, host=True):
    """h11 events for one request. `body` is sent with Content-Length; `chunks` (a list of
    byte strings) with Transfer-Encoding: chunked, one chunk each."""
    hs = list(headers)
    names = {n.lower() for n, _ in hs}
    if host and "host" not in names:
        hs.insert(0, ("Host", f"{HOST}:{server_port()}"))
    pieces = []
    if chunks is not None:
        if "transfer-encoding" not in names:
            hs.append(("Transfer-Encoding", "chunked"))
        pieces = [c for c in chunks if c]
    elif body is not None:
        if "content-length" not in names:
            hs.append(("Content-Length", str(len(body))))
        pieces = [body] if body else []
    return [h11.Request(method=method, target=target, headers=hs)] + [h11.Data(data=p) for p in pieces] + [h11.EndOfMessage()]


def serialize(events) -> bytes:
    """The bytes h11 would send for `events` on a fresh connection (used to build pipelines)."""
    conn = h11.Connection(our_role=h11.CLIENT)
    return b"".join(conn.send(e) or b"" for e in events)


class Client:
    """One TCP connection to the server, with h11 judging what comes back."""

    def __init__(self, port=None, timeout=TIMEOUT, rcvbuf=None):
        self.port = port or server_port()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect((HOST, self.port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.h11 = h11.Connection(our_role=h11.CLIENT)
        self.eof = False

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # Sending

    def send_events(self, events, wire=True):
        """Feeds `events` to h11; with wire=False the bytes are not sent (they already were, raw)."""
        for e in events:
            data = self.h11.send(e)
            if wire and data:
                self.sock.sendall(data)

    def send_request(self, method, target, headers=(), body=None, chunks=None, wire=True):
        self.next_cycle()
        self.send_events(request_events(method, target, headers, body, chunks), wire=wire)

    def send_raw(self, data: bytes):
        self.sock.sendall(data)

    def expect(self, method="GET", target="/"):
        """Tells h11 that a request of `method` went out as raw bytes, so it can frame the answer."""
        self.next_cycle()
        self.send_events([h11.Request(method=method, target=target, headers=[("Host", HOST)]), h11.EndOfMessage()], wire=False)

    def next_cycle(self):
        if self.h11.our_state is h11.DONE and self.h11.their_state is h11.DONE:
            self.h11.start_next_cycle()

    # Receiving

    def next_event(self):
        while True:
            event = self.h11.next_event()
            if event is h11.NEED_DATA:
                data = self.sock.recv(65536)
                if not data:
                    self.eof = True
                self.h11.receive_data(data)
                continue
            return event

    def read_response(self) -> Response:
        informational = []
        while True:
            event = self.next_event()
            if isinstance(event, h11.InformationalResponse):
                informational.append(event)
                continue
            if isinstance(event, h11.Response):
                break
            raise AssertionError(f"expected a response, got {event!r}")
        body = bytearray()
        while True:
            e = self.next_event()
            if isinstance(e, h11.Data):
                body += e.data
                continue
            if isinstance(e, h11.EndOfMessage):
                break
            raise AssertionError(f"expected body data or its end, got {e!r}")
        return Response(event.status_code, event.reason, event.http_version, list(event.headers), bytes(body), informational)

    def request(self, method, target, headers=(), body=None, chunks=None) -> Response:
        self.send_request(method, target, headers, body, chunks)
        return self.read_response()

    def raw_exchange(self, data: bytes, method="GET") -> Response:
        """Sends raw bytes for one request and reads the one response h11 parses from the reply."""
        self.expect(method)
        self.send_raw(data)
        return self.read_response()

    def assert_server_closed(self):
        """The server's next move after the response is to close: no further bytes, then a clean
        FIN (recv returns b''), neither a reset nor silence until the timeout."""
        leftover, closed = self.h11.trailing_data
        assert leftover == b"", f"bytes after the response: {leftover[:200]!r}"
        if closed or self.eof:
            return
        data = self.sock.recv(65536)
        assert data == b"", f"expected the server to close, got more bytes: {data[:200]!r}"
        self.eof = True

    def assert_open_and_quiet(self, wait=0.3):
        """Nothing arrives within `wait` seconds and the connection is not closed."""
        leftover, closed = self.h11.trailing_data
        assert leftover == b"" and not closed and not self.eof
        self.sock.settimeout(wait)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return
        finally:
            self.sock.settimeout(TIMEOUT)
        raise AssertionError(f"expected an open, quiet connection, got {data[:200]!r}")
