"""The server side of the page's resume, without a browser: what Chat.swift's wire contract adds
for it (`after=N` on the chat WebSocket, `instance=X` on /chat and /events, the
`X-Reactor-Instance` header), checked with websocket-client and plain HTTP."""
import socket
import uuid

import pytest
from websocket import create_connection


def room():
    return "contract-" + uuid.uuid4().hex[:8]


def send(server, r, text):
    _, _, body = server.get(f"/send?room={r}", data=text.encode())
    return body


def recv_close(ws):
    """The first frame must be the server's close: returns its code and reason."""
    opcode, data = ws.recv_data(control_frame=True)
    assert opcode == 8, f"expected a close frame, got opcode {opcode}: {data!r}"
    return int.from_bytes(data[:2], "big"), data[2:].decode()


def test_after_replays_the_gap_then_goes_live(server):
    """`/chat?room=R&after=N`: first the room's messages after N, in order, then live ones, so the
    k-th frame is message N+k."""
    r = room()
    for i in range(1, 6):
        send(server, r, f"m{i}")
    ws = create_connection(f"ws://127.0.0.1:{server.port}/chat?room={r}&after=2", timeout=5)
    try:
        assert [ws.recv() for _ in range(3)] == ["m3", "m4", "m5"]
        send(server, r, "m6")
        assert ws.recv() == "m6"
    finally:
        ws.close()


def test_the_instance_header_names_the_process(server):
    _, h1, _ = server.get(f"/messages?room={room()}")
    _, h2, _ = server.get(f"/messages?room={room()}")
    assert h1["X-Reactor-Instance"] and h1["X-Reactor-Instance"] == h2["X-Reactor-Instance"]


@pytest.mark.parametrize("query", ["after=9", "after=0&instance=not-this-one"],
                         ids=["id-from-the-future", "another-instance"])
def test_a_resume_the_room_cannot_give_is_closed_with_4000(server, query):
    """An `after` beyond the room (a restarted server that has not caught up) or another server
    instance: the socket opens, then closes with 4000 at once, sending no message."""
    r = room()
    send(server, r, "only one")
    ws = create_connection(f"ws://127.0.0.1:{server.port}/chat?room={r}&{query}", timeout=5)
    code, reason = recv_close(ws)
    assert code == 4000 and reason


def test_an_event_stream_from_another_instance_is_reset(server):
    """`/events?lastEventId=1&instance=X` with X not this process: `event: reset` first, then every
    message the room holds, even though id 1 exists here too."""
    r = room()
    send(server, r, "a")
    send(server, r, "b")
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as c:
        c.sendall(f"GET /events?room={r}&lastEventId=1&instance=elsewhere HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        data = b""
        while data.count(b"\n\n") < 3:
            data += c.recv(4096)
    text = data.decode()
    body = text[text.index("\r\n\r\n") + 4:]
    assert body.index("event: reset") < body.index("data: a") < body.index("data: b"), body
