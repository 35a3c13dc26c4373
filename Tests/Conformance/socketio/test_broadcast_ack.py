"""Broadcast acks (the reference's `io.to(room).timeout(ms).emitWithAck`), through the demo's `ask`
event: the server asks every client of a room and acks the asker with one answer per client, or
with a timeout and the answers that came (2 s). Clients that answer (python-socketio), answer late
and never answer (raw WebSockets). socketio.sh runs this with --threads 1 and 2; with 2 the room's
clients are spread over both loops, and the count of expected answers crosses with the question."""
import json
import time
import uuid

import websocket

from support import PORT, connect


def raw_member(room):
    ws = websocket.create_connection(f"ws://127.0.0.1:{PORT}/socket.io/?EIO=4&transport=websocket", timeout=5)
    assert ws.recv()[0] == "0"
    ws.send("40")
    assert recv(ws).startswith("40{")
    assert recv(ws) == '42["auth",{}]'
    ws.send("420" + json.dumps(["join", {"room": room}]))
    assert recv(ws) == '42["joined",{"room":"%s"}]' % room
    assert recv(ws).startswith("430")
    return ws


def recv(ws):
    while True:
        message = ws.recv()
        if message != "2":
            return message
        ws.send("3")


def question_id(ws):
    packet = recv(ws)
    assert packet.startswith("42"), packet
    rest = packet[2:]
    digits = rest[:len(rest) - len(rest.lstrip("0123456789"))]
    assert digits, f"the question asks for an ack: {packet}"
    assert json.loads(rest[len(digits):]) == ["question", "q?"]
    return digits


def answering_member(room, name):
    client, rec = connect()
    client.on("question", lambda q: name)
    assert client.call("join", {"room": room}, timeout=5)["ok"] is True
    return client


def test_every_member_answers_once():
    room = "r-" + uuid.uuid4().hex[:8]
    members = [answering_member(room, f"m{i}") for i in range(6)]
    asker, _ = connect()
    try:
        started = time.time()
        reply = asker.call("ask", {"room": room, "question": "q?"}, timeout=5)
        assert reply["ok"] is True, reply
        assert sorted(a[0] for a in reply["answers"]) == [f"m{i}" for i in range(6)]
        assert time.time() - started < 1.5, "complete when all answered, not at the timeout"
    finally:
        for c in members + [asker]:
            c.disconnect()


def test_late_and_silent_members_end_it_at_the_timeout():
    room = "r-" + uuid.uuid4().hex[:8]
    prompt = answering_member(room, "prompt")
    late, silent = raw_member(room), raw_member(room)
    asker, _ = connect()
    try:
        started = time.time()
        results = []
        asker.emit("ask", {"room": room, "question": "q?"}, callback=lambda r: results.append(r))
        late_id = question_id(late)
        question_id(silent)
        deadline = time.time() + 5
        while not results and time.time() < deadline:
            time.sleep(0.05)
        late.send(f"43{late_id}" + json.dumps(["too late"]))
        assert results, "the ask was answered"
        reply = results[0]
        assert reply["ok"] is False and reply["error"] == "timeout", reply
        assert reply["answers"] == [["prompt"]]
        assert 1.9 < time.time() - started < 4
    finally:
        prompt.disconnect()
        asker.disconnect()
        late.close()
        silent.close()
