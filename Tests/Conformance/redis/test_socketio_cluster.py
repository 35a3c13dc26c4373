"""Counted cluster requests across processes: a broadcast asking every client for an ack (the
demo's `ask {room, question}` in /chat: `io.to(room).timeout(2 s).emitWithAck("question", …)`,
its answers acked to the asker) reaches the clients of server A (one loop) and of server C (two
loops, `--threads 2`), both on one Redis. Each server answers with how many clients it asked,
naming its process and that process's loop count; the PUBLISH's answer tells the asker how many
other processes got the question. So the asker knows when every answer is in and answers at once,
not at the timeout; a client that never answers still ends it at the timeout, with the others'
answers."""
import json
import time
import uuid

import pytest
import websocket

from conftest import REDIS_URL, Echo
from test_redis import A
from test_socketio_redis import NS, Client


@pytest.fixture(scope="module")
def server_c():
    c = Echo("--redis", REDIS_URL, "--threads", "2")
    yield c
    c.stop()


def room():
    return "cl-" + uuid.uuid4().hex[:8]


def recv(ws):
    while True:
        message = ws.recv()
        if message != "2":
            return message
        ws.send("3")


def raw_member(port, r):
    """A client in /chat, in room `r`, that reads the question and never answers it."""
    ws = websocket.create_connection(f"ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket", timeout=5)
    assert ws.recv()[0] == "0"
    ws.send(f"40{NS},")
    assert recv(ws).startswith(f"40{NS},{{")
    assert recv(ws) == f'42{NS},["auth",{{}}]'
    ws.send(f"42{NS},0" + json.dumps(["join", {"room": r}]))
    assert recv(ws) == f'42{NS},["joined",{{"room":"{r}"}}]'
    assert recv(ws).startswith(f"43{NS},0")
    return ws


def answering(port, r, name):
    c = Client(port)
    c.sio.on("question", lambda q: name, namespace=NS)
    c.join(r)
    return c


def ask(asker, r, timeout=6):
    started = time.time()
    reply = asker.sio.call("ask", {"room": r, "question": "q?"}, namespace=NS, timeout=timeout)
    return reply, time.time() - started


def test_broadcast_acks_across_processes_complete_when_every_answer_is_in(server_c):
    r = room()
    members = [answering(A, r, f"a{i}") for i in range(2)] + [answering(server_c.port, r, f"c{i}") for i in range(4)]
    askers = [Client(A), Client(server_c.port)]
    try:
        time.sleep(0.2)
        for asker in askers:
            reply, took = ask(asker, r)
            assert reply["ok"] is True, reply
            assert sorted(a[0] for a in reply["answers"]) == ["a0", "a1", "c0", "c1", "c2", "c3"]
            assert took < 1.5, f"complete when all answered, not at the 2 s timeout ({took:.2f} s)"
        # A room with members on one process only: the other process answers "none here".
        lonely = room()
        only = answering(server_c.port, lonely, "only")
        try:
            reply, took = ask(askers[0], lonely)
            assert reply == {"ok": True, "answers": [["only"]]}
            assert took < 1.5, took
            reply, took = ask(askers[0], room())
            assert reply == {"ok": True, "answers": []} and took < 1.5, (reply, took)
        finally:
            only.close()
    finally:
        for c in members + askers:
            c.close()


def test_a_silent_client_on_another_process_ends_it_at_the_timeout_with_the_others_answers(server_c):
    r = room()
    members = [answering(A, r, "a"), answering(server_c.port, r, "c")]
    silent = raw_member(server_c.port, r)
    asker = Client(A)
    try:
        time.sleep(0.2)
        reply, took = ask(asker, r)
        assert reply["ok"] is False and reply["error"] == "timeout", reply
        assert sorted(a[0] for a in reply["answers"]) == ["a", "c"]
        assert 1.9 < took < 4, took
        question = recv(silent)
        assert question.startswith(f"42{NS},") and question.endswith('["question","q?"]'), question
    finally:
        for c in members + [asker]:
            c.close()
        silent.close()


# Cluster-wide socket operations and server-side events across the processes: A (one loop), B
# (one loop, the suite's second server) and C (two loops).


def test_fetch_sockets_join_leave_and_disconnect_across_processes(server_b, server_c):
    r, r2 = room(), room()
    members = [Client(A), Client(server_b.port), Client(server_c.port), Client(server_c.port)]
    asker = Client(server_c.port)
    try:
        expected = {}
        for i, c in enumerate(members):
            c.join(r)
            assert c.sio.call("set-data", {"i": i}, namespace=NS, timeout=5) == {"ok": True}
            expected[c.sid] = {"i": i}
        started = time.time()
        reply = asker.sio.call("fetch", {"room": r}, namespace=NS, timeout=5)
        assert reply["ok"] is True, reply
        assert {s["id"]: s["data"] for s in reply["sockets"]} == expected
        assert all(sorted(s["rooms"]) == sorted([s["id"], r]) for s in reply["sockets"])
        assert time.time() - started < 1.5, "every process answered: no wait for the timeout"

        assert asker.sio.call("sockets-join", {"room": r, "rooms": [r2]}, namespace=NS, timeout=5) == {"ok": True}
        # Another process applies it when the message arrives: ask until it shows (bounded).
        deadline = time.time() + 5
        while time.time() < deadline:
            reply = asker.sio.call("fetch", {"room": r2}, namespace=NS, timeout=5)
            if len(reply["sockets"]) == len(members):
                break
            time.sleep(0.05)
        assert sorted(s["id"] for s in reply["sockets"]) == sorted(expected)
        assert asker.sio.call("sockets-leave", {"rooms": [r2]}, namespace=NS, timeout=5) == {"ok": True}
        deadline = time.time() + 5
        while time.time() < deadline and asker.sio.call("fetch", {"room": r2}, namespace=NS, timeout=5)["sockets"]:
            time.sleep(0.05)
        assert asker.sio.call("fetch", {"room": r2}, namespace=NS, timeout=5) == {"ok": True, "sockets": []}

        assert asker.sio.call("disconnect-sockets", {"room": r}, namespace=NS, timeout=5) == {"ok": True}
        deadline = time.time() + 5
        while time.time() < deadline and any(c.sio.namespaces.get(NS) for c in members):
            time.sleep(0.05)
        assert not any(c.sio.namespaces.get(NS) for c in members), "a member on some process is still connected"
        assert asker.sio.call("echo", "still here", namespace=NS, timeout=5) == "still here"
    finally:
        for c in members + [asker]:
            c.close()


def test_server_side_emit_with_ack_reaches_every_other_server_and_a_silent_one_ends_at_the_timeout(server_b, server_c):
    on_a, on_c = Client(A), Client(server_c.port)
    try:
        started = time.time()
        reply = on_a.sio.call("server-emit", {"event": "whoami"}, namespace=NS, timeout=5)
        assert reply["ok"] is True, reply
        # B's one loop and C's two; not A itself.
        answers = [a[0] for a in reply["answers"]]
        assert len(answers) == 3, answers
        by_process = {}
        for a in answers:
            by_process.setdefault(a["process"], []).append(a["loop"])
        assert sorted(sorted(v) for v in by_process.values()) == [[0], [0, 1]], answers
        assert time.time() - started < 1.5

        reply = on_c.sio.call("server-emit", {"event": "whoami"}, namespace=NS, timeout=5)
        assert reply["ok"] is True and len(reply["answers"]) == 3, reply  # A, B, and C's other loop

        silent = Echo("--redis", REDIS_URL, "--sio-silent-server")
        try:
            time.sleep(0.3)  # its subscriptions
            started = time.time()
            reply = on_a.sio.call("server-emit", {"event": "whoami"}, namespace=NS, timeout=6)
            took = time.time() - started
            assert reply["ok"] is False and reply["error"] == "timeout", reply
            assert len(reply["answers"]) == 3, "the others' answers came"
            assert 1.9 < took < 4, took
            # A handler-less event: the silent server says it has nothing, so no timeout.
            reply = on_a.sio.call("server-emit", {"event": "nobody-handles-this"}, namespace=NS, timeout=5)
            assert reply == {"ok": True, "answers": []}
        finally:
            silent.stop()
    finally:
        on_a.close()
        on_c.close()


def test_a_process_that_dies_mid_way_leaves_the_broadcast_ack_to_its_timeout(server_b, server_c):
    """Server D gets the question (its client reads it) and dies before the answer: D was counted
    by the PUBLISH and announced its client, so the asker waits for the timeout, and answers with
    what came from A and C."""
    r = room()
    dying = Echo("--redis", REDIS_URL)
    members = [answering(A, r, "a"), answering(server_c.port, r, "c")]
    on_d = raw_member(dying.port, r)
    asker = Client(A)
    try:
        time.sleep(0.3)
        results = []
        started = time.time()
        asker.sio.emit("ask", {"room": r, "question": "q?"}, namespace=NS, callback=lambda reply: results.append(reply))
        question = recv(on_d)
        assert question.endswith('["question","q?"]'), question
        dying.process.kill()
        dying.process.wait()
        deadline = time.time() + 5
        while not results and time.time() < deadline:
            time.sleep(0.05)
        took = time.time() - started
        assert results, "the ask was answered"
        reply = results[0]
        assert reply["ok"] is False and reply["error"] == "timeout", reply
        assert sorted(a[0] for a in reply["answers"]) == ["a", "c"]
        assert 1.9 < took < 4, took
    finally:
        for c in members + [asker]:
            c.close()
        on_d.close()
        dying.stop()
