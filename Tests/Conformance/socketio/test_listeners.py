"""Node's listener semantics on the server's sockets, through the demo (SocketIODemo.swift):
several handlers of one event run in order (`multi`), a `once` handler runs once, `off` removes one
(`multi-off`), `onAny` and `onAnyOutgoing` see every event in and out (`stats`), and a socket that
disconnects tells the other members of its rooms from its `disconnecting` handler, while it still
knows its rooms (`member-leaving`), with the reference's reason strings. socketio.sh runs this with
--threads 1 and 2; with 2 the members of a room may live on different loops."""
import json
import uuid

import websocket

from support import PORT, connect


def test_several_handlers_run_in_order_once_runs_once_and_off_removes_one():
    client, _ = connect()
    try:
        assert client.call("multi", timeout=5) == ["on", "once", "last"]
        assert client.call("multi", timeout=5) == ["on", "last"], "the once handler ran a second time"
        assert client.call("multi-off", timeout=5) == {"ok": True}
        assert client.call("multi", timeout=5) == ["last"], "off left the first handler in place"
        assert client.call("multi-off", timeout=5) == {"ok": False}, "a second off found the handler again"
    finally:
        client.disconnect()


def test_catch_all_handlers_count_events_in_and_out():
    client, recorder = connect()
    try:
        recorder.wait("auth")
        # The first `stats` adds the counters (after its own catch-all round: not counted).
        assert client.call("stats", timeout=5) == {"incoming": 0, "outgoing": 0, "last_out": ""}
        client.emit("message", "hi")
        recorder.wait("message-back")
        # In: message, stats. Out: message-back.
        assert client.call("stats", timeout=5) == {"incoming": 2, "outgoing": 1, "last_out": "message-back"}
        client.emit("message", "again")
        recorder.wait("message-back", count=2)
        assert client.call("stats", timeout=5) == {"incoming": 4, "outgoing": 2, "last_out": "message-back"}
    finally:
        client.disconnect()


def raw_member(room):
    """A client spoken by hand over a WebSocket, so the test decides what reaches the server and
    when (python-socketio's disconnect may close the transport before its DISCONNECT is sent)."""
    ws = websocket.create_connection(f"ws://127.0.0.1:{PORT}/socket.io/?EIO=4&transport=websocket", timeout=5)
    assert ws.recv()[0] == "0"
    ws.send("40")
    connected = recv(ws)
    assert connected.startswith("40{"), connected
    sid = json.loads(connected[2:])["sid"]
    assert recv(ws) == '42["auth",{}]'
    ws.send("420" + json.dumps(["join", {"room": room}]))
    assert recv(ws) == '42["joined",{"room":"%s"}]' % room
    assert recv(ws).startswith("430")
    return ws, sid


def recv(ws):
    while True:
        message = ws.recv()
        if message != "2":
            return message
        ws.send("3")


def watcher(room):
    client, recorder = connect()
    assert client.call("join", {"room": room}, timeout=5)["ok"]
    return client, recorder


def leaving_info(recorder, sid, room):
    (event,) = recorder.wait("member-leaving")
    (info,) = event
    assert info["id"] == sid
    assert sorted(info["rooms"]) == sorted([sid, room]), "disconnecting saw the socket's rooms"
    return info["reason"]


def test_disconnecting_sees_the_rooms_then_client_namespace_disconnect():
    room = "r-" + uuid.uuid4().hex
    client, recorder = watcher(room)
    ws, sid = raw_member(room)
    try:
        ws.send("41")  # DISCONNECT from the namespace; the transport stays open
        assert leaving_info(recorder, sid, room) == "client namespace disconnect"
    finally:
        ws.close()
        client.disconnect()


def test_a_closed_transport_gives_transport_close():
    room = "r-" + uuid.uuid4().hex
    client, recorder = watcher(room)
    ws, sid = raw_member(room)
    try:
        ws.close()
        assert leaving_info(recorder, sid, room) == "transport close"
    finally:
        client.disconnect()


def test_server_side_disconnect_gives_server_namespace_disconnect():
    room = "r-" + uuid.uuid4().hex
    client, recorder = watcher(room)
    ws, sid = raw_member(room)
    try:
        ws.send("42" + json.dumps(["disconnect-me"]))
        assert leaving_info(recorder, sid, room) == "server namespace disconnect"
        assert recv(ws) == "41", "the client is told with a DISCONNECT packet"
    finally:
        ws.close()
        client.disconnect()
