"""Cluster-wide operations across the loops of one process (socketio.sh runs this with --threads 1
and 2; with 2, the clients are opened until both loops hold some, each Engine.IO session id naming
its loop), through the demo's events: `set-data`, `fetch` (fetchSockets), `sockets-join`,
`sockets-leave`, `disconnect-sockets`, and `server-emit` (serverSideEmitWithAck, answered by every
other loop's `whoami` handler with its loop; `note` makes the other loops emit `server-note` to
their own sockets). The same across processes: Tests/Conformance/redis/test_socketio_cluster.py."""
import os
import time
import uuid

from support import connect
from test_loops import loop_of

THREADS = int(os.environ.get("REACTOR_SOCKETIO_THREADS", "1"))


def room():
    return "cl-" + uuid.uuid4().hex[:8]


def spread_clients(per_loop=2, tries=24):
    """Clients (WebSocket only: the session stays where it opened) until every loop holds
    `per_loop` of them; those beyond are closed."""
    kept, by_loop = [], {}
    for _ in range(tries):
        client, rec = connect(transports=("websocket",))
        loop = loop_of(client.eio.sid)
        if len(by_loop.get(loop, [])) >= per_loop:
            client.disconnect()
            continue
        by_loop.setdefault(loop, []).append(client)
        kept.append((client, rec))
        if len(by_loop) == THREADS and all(len(v) >= per_loop for v in by_loop.values()):
            break
    assert len(by_loop) == THREADS, f"clients on loops {sorted(by_loop)} only"
    return kept


def call(client, event, data):
    return client.call(event, data, timeout=5)


def fetch(client, data):
    started = time.time()
    reply = call(client, "fetch", data)
    return reply, time.time() - started


def test_fetch_sockets_sees_every_loops_sockets_with_their_rooms_and_data():
    r = room()
    members = spread_clients()
    asker, _ = connect()
    try:
        expected = {}
        for i, (c, _) in enumerate(members):
            assert call(c, "join", {"room": r})["ok"] is True
            assert call(c, "set-data", {"name": f"m{i}", "n": i}) == {"ok": True}
            expected[c.get_sid("/")] = {"name": f"m{i}", "n": i}
        reply, took = fetch(asker, {"room": r})
        assert reply["ok"] is True, reply
        assert {s["id"]: s["data"] for s in reply["sockets"]} == expected
        for s in reply["sockets"]:
            assert sorted(s["rooms"]) == sorted([s["id"], r])
        assert took < 1.5, f"every loop answered: no wait for the timeout ({took:.2f} s)"
        # The whole namespace: the asker (no data set: null) too.
        reply, _ = fetch(asker, {})
        everyone = {s["id"]: s["data"] for s in reply["sockets"]}
        assert everyone[asker.get_sid("/")] is None
        assert set(expected) <= set(everyone)
    finally:
        for c, _ in members:
            c.disconnect()
        asker.disconnect()


def test_sockets_join_leave_and_disconnect_reach_every_loop():
    r, r2 = room(), room()
    members = spread_clients()
    outsider, outsider_rec = connect(transports=("websocket",))
    asker, _ = connect()
    try:
        for c, _ in members:
            assert call(c, "join", {"room": r})["ok"] is True
        ids = sorted(c.get_sid("/") for c, _ in members)
        assert call(asker, "sockets-join", {"room": r, "rooms": [r2]}) == {"ok": True}
        # The fetch follows the join through each loop's queue: it sees it done.
        reply, _ = fetch(asker, {"room": r2})
        assert sorted(s["id"] for s in reply["sockets"]) == ids
        assert call(asker, "sockets-leave", {"room": r, "rooms": [r2]}) == {"ok": True}
        reply, _ = fetch(asker, {"room": r2})
        assert reply == {"ok": True, "sockets": []}

        assert call(asker, "disconnect-sockets", {"room": r}) == {"ok": True}
        for _, rec in members:
            rec.wait("disconnect")
        time.sleep(0.2)
        assert outsider_rec.of("disconnect") == [], "a socket outside the room was disconnected"
        assert call(outsider, "echo", "still here") == "still here"
        reply, _ = fetch(asker, {"room": r})
        assert reply == {"ok": True, "sockets": []}
    finally:
        for c, _ in members:
            c.disconnect()
        outsider.disconnect()
        asker.disconnect()


def test_server_side_emit_with_ack_reaches_every_other_loop_not_its_own():
    clients = spread_clients(per_loop=1)
    try:
        for c, _ in clients:
            own = loop_of(c.eio.sid)
            started = time.time()
            reply = call(c, "server-emit", {"event": "whoami"})
            assert reply["ok"] is True, reply
            assert sorted(a[0]["loop"] for a in reply["answers"]) == [i for i in range(THREADS) if i != own]
            assert len({a[0]["process"] for a in reply["answers"]}) <= 1, "one process"
            assert time.time() - started < 1.5
            # An event no server handles: every other loop says it has nothing to answer.
            reply = call(c, "server-emit", {"event": "nobody-handles-this"})
            assert reply == {"ok": True, "answers": []}
        # Without an ack answer from the handler (`note` answers with nothing): the other loops'
        # sockets get `server-note`, the sender's loop's do not.
        sender, _ = clients[0]
        reply = call(sender, "server-emit", {"event": "note", "args": [{"text": "hi"}]})
        assert reply["ok"] is True and len(reply["answers"]) == THREADS - 1, reply
        for c, rec in clients:
            if loop_of(c.eio.sid) != loop_of(sender.eio.sid):
                assert rec.wait("server-note") == [({"text": "hi"},)]
        time.sleep(0.2)
        for c, rec in clients:
            if loop_of(c.eio.sid) == loop_of(sender.eio.sid):
                assert rec.of("server-note") == []
    finally:
        for c, _ in clients:
            c.disconnect()
