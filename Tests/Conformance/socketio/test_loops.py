"""Polling on any loop, no sticky sessions inside the process. socketio.sh runs the suite against
the demo with --threads 1 and --threads 2; with 2 the kernel spreads connections (SO_REUSEPORT,
by a hash of the addresses and ports) over both loops, so a session's requests land on either.
Each session id names the loop that holds it (its first two characters, URL-safe base64), which
is how these tests see that both loops were hit."""
import json
import os
import uuid

import pytest
import requests

from support import URL, Recorder, connect

THREADS = int(os.environ.get("REACTOR_SOCKETIO_THREADS", "1"))
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
ENGINE = f"{URL}/engine.io/?EIO=4&transport=polling"
# A fresh connection per request: each is spread on its own, so about half land on the other loop.
FRESH = {"Connection": "close"}


def loop_of(sid):
    return ALPHABET.index(sid[0]) * 64 + ALPHABET.index(sid[1])


def open_session():
    r = requests.get(ENGINE, headers=FRESH, timeout=5)
    assert r.status_code == 200, r.text
    assert r.text.startswith("0")
    return json.loads(r.text[1:])["sid"]


def post(sid, body):
    r = requests.post(f"{ENGINE}&sid={sid}", data=body.encode(), headers=FRESH, timeout=5)
    assert (r.status_code, r.text) == (200, "ok")


def poll_until(sid, wanted):
    """Polls (answering pings) until the packet `wanted` arrives."""
    for _ in range(10):
        r = requests.get(f"{ENGINE}&sid={sid}", headers=FRESH, timeout=5)
        assert r.status_code == 200, r.text
        packets = r.text.split("\x1e")
        if "2" in packets:
            post(sid, "3")
        if wanted in packets:
            return
    pytest.fail(f"{wanted!r} never came")


def test_raw_engineio_sessions_open_on_every_loop_and_answer_on_any():
    sids = [open_session() for _ in range(16)]
    # 16 fresh connections all on one of two loops: 1 chance in 32768.
    assert {loop_of(sid) for sid in sids} == set(range(THREADS))
    for sid in sids:
        for i in range(4):
            post(sid, f"4m{i}")
            poll_until(sid, f"4m{i}")
        post(sid, "1")


def test_forged_loop_index_gets_session_id_unknown():
    sid = open_session()
    for forged in ["__" + sid[2:], "AC" + sid[2:], ("AB" if sid[:2] == "AA" else "AA") + sid[2:]]:
        r = requests.get(f"{ENGINE}&sid={forged}", headers=FRESH, timeout=5)
        assert (r.status_code, r.json()) == (400, {"code": 1, "message": "Session ID unknown"})
    post(sid, "1")


@pytest.mark.parametrize("transports,final", [
    (("polling",), "polling"),
    (("websocket",), "websocket"),
    (("polling", "websocket"), "websocket"),
])
def test_python_socketio_clients_work_whichever_loop_they_land_on(transports, final):
    clients = []
    try:
        for _ in range(16):
            clients.append(connect(transports=transports))
        assert {loop_of(client.eio.sid) for client, _ in clients} == set(range(THREADS))
        r = "r-" + uuid.uuid4().hex[:8]
        for client, rec in clients:
            assert client.transport() == final
            assert client.call("echo", {"n": 1}, timeout=5) == {"n": 1}
            assert client.call("join", {"room": r}, timeout=5) == {"ok": True, "room": r}
        # A room spanning both loops: every other member hears each message once.
        sender, _ = clients[0]
        sender.emit("chat", {"room": r, "text": "hi all"})
        for client, rec in clients[1:]:
            assert rec.wait("chat") == [({"room": r, "text": "hi all", "from": sender.get_sid()},)]
    finally:
        for client, _ in clients:
            client.disconnect()
