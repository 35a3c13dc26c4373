"""Packet middlewares (the reference's `socket.use`) through the demo started with
`--sio-packet-filter --sio-pending-packets 3`: `forbidden` fails and the server-side error
handler tells the client (`packet-refused`), `dropped` never reaches its handler, `slow` is held
300 ms and passes, and past three held events the next ones are dropped."""
import time

import pytest

from support import Server, connect


@pytest.fixture(scope="module")
def filtered():
    with Server("--sio-packet-filter", "--sio-pending-packets", "3") as server:
        yield server


@pytest.mark.parametrize("transports", [("polling",), ("websocket",)])
def test_a_failed_event_reaches_the_error_handler_not_the_event_handler(filtered, transports):
    client, recorder = connect(transports=transports, url=filtered.url)
    try:
        client.emit("forbidden", {"x": 1})
        assert recorder.wait("packet-refused")[0] == ({"message": "forbidden event"},)
        assert client.call("echo", "still here", timeout=5) == "still here"
    finally:
        client.disconnect()


def test_a_dropped_event_never_reaches_its_handler(filtered):
    client, recorder = connect(url=filtered.url)
    try:
        client.emit("dropped")
        assert client.call("echo", 1, timeout=5) == 1  # sent after, answered: the drop came first
        time.sleep(0.1)
        assert recorder.of("not-dropped") == []
    finally:
        client.disconnect()


def test_held_events_pass_later_and_the_bound_drops_the_rest(filtered):
    client, recorder = connect(transports=("websocket",), url=filtered.url)
    try:
        for _ in range(5):
            client.emit("slow")
        recorder.wait("slow-done", count=3, timeout=5)
        time.sleep(0.6)  # a fourth or fifth would have come by now
        assert len(recorder.of("slow-done")) == 3
        client.emit("slow")  # the held ones are let go: one more is held and passes
        recorder.wait("slow-done", count=4, timeout=5)
    finally:
        client.disconnect()
