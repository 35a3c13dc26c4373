"""Connection state recovery (Socket.IO 4.6) on the wire, against the demo started with
--sio-recovery: what a client sends and receives, with a dropped connection in the middle and
messages published meanwhile by another client. Spoken by hand over a raw WebSocket, because
python-socketio's client (5.x) does not implement recovery (it sends no pid/offset); its client
is the other member of the room."""
import json
import time
import uuid

import websocket

from support import Server, connect


def recv(ws):
    while True:
        message = ws.recv()
        if message != "2":
            return message
        ws.send("3")


def event(message):
    assert message.startswith("42["), message
    return json.loads(message[2:])


def open_socket(server, connect_packet="40", engine=None):
    ws = websocket.create_connection(f"ws://127.0.0.1:{server.port}/socket.io/?EIO=4&transport=websocket", timeout=5)
    opened = ws.recv()
    assert opened[0] == "0"
    if engine is not None:
        engine.append(json.loads(opened[1:])["sid"])
    ws.send(connect_packet)
    reply = recv(ws)
    assert reply.startswith("40{"), reply
    return ws, json.loads(reply[2:])


def test_a_dropped_client_gets_its_id_rooms_and_missed_packets_back():
    with Server("--sio-recovery", "5000", "--ping-interval", "1000", "--ping-timeout", "1000") as server:
        room = "r-" + uuid.uuid4().hex[:8]
        ws, hello = open_socket(server)
        assert set(hello) == {"sid", "pid"}
        sid, pid = hello["sid"], hello["pid"]
        auth = event(recv(ws))
        assert auth[:2] == ["auth", {}] and isinstance(auth[2], str), "every event carries an offset"
        ws.send("420" + json.dumps(["join", {"room": room}]))
        joined = event(recv(ws))
        assert joined[:2] == ["joined", {"room": room}]
        assert recv(ws) == '430[{"ok":true,"room":"%s"}]' % room, "acks carry no offset"
        last_offset = joined[-1]

        other, rec = connect(url=server.url)
        try:
            assert other.call("join", {"room": room}, timeout=5)["ok"] is True
            ws.close()  # the transport drops; no Socket.IO disconnect
            time.sleep(0.3)
            other.emit("chat", {"room": room, "text": "missed 1"})
            other.emit("shout", {"text": "missed 2"})
            time.sleep(0.3)

            back, again = open_socket(server, "40" + json.dumps({"pid": pid, "offset": last_offset}))
            try:
                assert again == {"sid": sid, "pid": pid}
                missed = [event(recv(back)) for _ in range(2)]
                assert [m[:2] for m in missed] == [
                    ["chat", {"room": room, "text": "missed 1", "from": other.get_sid()}],
                    ["announcement", {"text": "missed 2"}],
                ]
                assert event(recv(back))[:2] == ["recovered", sid]
                assert event(recv(back))[:2] == ["auth", {"pid": pid, "offset": last_offset}]
                # Its room came back with it.
                other.emit("chat", {"room": room, "text": "live"})
                assert event(recv(back))[:2] == ["chat", {"room": room, "text": "live", "from": other.get_sid()}]
            finally:
                back.close()
        finally:
            other.disconnect()


ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def test_a_client_recovers_whichever_loop_it_lands_on():
    # --threads 2: each reconnection is a new connection the kernel puts on either loop; the
    # loops share one recovery store, so it recovers every time (12 times: both loops are hit).
    with Server("--threads", "2", "--sio-recovery", "5000") as server:
        room = "r-" + uuid.uuid4().hex[:8]
        engine_sids = []
        ws, hello = open_socket(server, engine=engine_sids)
        sid, pid = hello["sid"], hello["pid"]
        recv(ws)  # auth
        ws.send("420" + json.dumps(["join", {"room": room}]))
        offset = event(recv(ws))[-1]
        recv(ws)  # the join's ack
        other, _ = connect(url=server.url)
        try:
            for cycle in range(12):
                ws.close()
                time.sleep(0.2)
                other.emit("chat", {"room": room, "text": f"missed {cycle}"})
                time.sleep(0.2)
                ws, again = open_socket(server, "40" + json.dumps({"pid": pid, "offset": offset}), engine=engine_sids)
                assert again == {"sid": sid, "pid": pid}, f"cycle {cycle}"
                missed = event(recv(ws))
                assert missed[:2] == ["chat", {"room": room, "text": f"missed {cycle}", "from": other.get_sid()}]
                assert event(recv(ws))[:2] == ["recovered", sid]
                offset = event(recv(ws))[-1]  # auth's: the last offset seen
            loops = {ALPHABET.index(s[0]) * 64 + ALPHABET.index(s[1]) for s in engine_sids}
            assert loops == {0, 1}, "the sessions landed on both loops"
        finally:
            ws.close()
            other.disconnect()


def test_outside_the_window_the_client_gets_a_fresh_socket():
    with Server("--sio-recovery", "300") as server:
        ws, hello = open_socket(server)
        offset = event(recv(ws))[-1]
        ws.close()
        time.sleep(0.8)
        back, again = open_socket(server, "40" + json.dumps({"pid": hello["pid"], "offset": offset}))
        try:
            assert again["sid"] != hello["sid"] and again["pid"] != hello["pid"]
            assert event(recv(back))[0] == "auth", "not recovered"
        finally:
            back.close()


def test_without_recovery_the_connect_answer_has_no_pid_and_events_no_offset():
    with Server() as server:
        ws, hello = open_socket(server)
        try:
            assert list(hello) == ["sid"]
            assert recv(ws) == '42["auth",{}]'
        finally:
            ws.close()
