"""Raw Engine.IO v4 on /engine.io/ (an echo: text as text, binary as binary), spoken by hand with
requests and websocket-client: the handshake, the polling payload, heartbeats, the upgrade, the
protocol's errors with their HTTP codes. The same rules hold under /socket.io/."""
import json
import threading
import time

import pytest
import requests
import websocket

from support import MAX_PAYLOAD, PING_INTERVAL_MS, PING_TIMEOUT_MS, PORT, Server

HTTP = f"http://127.0.0.1:{PORT}"
WS = f"ws://127.0.0.1:{PORT}"
RS = "\x1e"


def url(path="/engine.io/", **query):
    params = {"EIO": "4", "transport": "polling", **query}
    return HTTP + path + "?" + "&".join(f"{k}={v}" for k, v in params.items() if v is not None)


def ws_url(path="/engine.io/", **query):
    params = {"EIO": "4", "transport": "websocket", **query}
    return WS + path + "?" + "&".join(f"{k}={v}" for k, v in params.items() if v is not None)


def handshake(path="/engine.io/", base=HTTP):
    r = requests.get(base + path + "?EIO=4&transport=polling", timeout=5)
    assert r.status_code == 200
    assert r.headers["content-type"].lower().startswith("text/plain")
    assert r.text[0] == "0"
    return json.loads(r.text[1:])


def poll(sid, path="/engine.io/", timeout=5):
    return requests.get(url(path, sid=sid), timeout=timeout)


def post(sid, body, path="/engine.io/"):
    return requests.post(url(path, sid=sid), data=body.encode() if isinstance(body, str) else body, timeout=5)


def error_code(response):
    assert response.headers["content-type"].startswith("application/json")
    return response.json()["code"]


@pytest.mark.parametrize("path", ["/engine.io/", "/socket.io/"])
def test_polling_handshake(path):
    data = handshake(path)
    assert sorted(data) == ["maxPayload", "pingInterval", "pingTimeout", "sid", "upgrades"]
    assert isinstance(data["sid"], str) and len(data["sid"]) == 20
    assert data["upgrades"] == ["websocket"]
    assert data["pingInterval"] == PING_INTERVAL_MS
    assert data["pingTimeout"] == PING_TIMEOUT_MS
    assert data["maxPayload"] == MAX_PAYLOAD


@pytest.mark.parametrize("path", ["/engine.io/", "/socket.io/"])
def test_websocket_handshake(path):
    ws = websocket.create_connection(ws_url(path), timeout=5)
    try:
        message = ws.recv()
        assert message[0] == "0"
        data = json.loads(message[1:])
        assert data["upgrades"] == [] and data["pingInterval"] == PING_INTERVAL_MS and len(data["sid"]) == 20
    finally:
        ws.close()


@pytest.mark.parametrize("query,method,code", [
    ({"transport": None}, "GET", 0),
    ({"transport": "abc"}, "GET", 0),
    ({"EIO": None}, "GET", 5),
    ({"EIO": "abc"}, "GET", 5),
    ({"EIO": "3"}, "GET", 5),
    ({}, "POST", 2),
    ({}, "PUT", 2),
    ({"sid": "nope"}, "GET", 1),
    ({"sid": "nope"}, "POST", 1),
    ({"transport": "websocket"}, "GET", 3),
])
def test_request_errors(query, method, code):
    r = requests.request(method, url(**query), timeout=5)
    assert r.status_code == 400
    assert error_code(r) == code


def test_websocket_errors_refuse_the_handshake():
    for bad in [ws_url(EIO=None), ws_url(EIO="abc"), ws_url(transport="abc"), ws_url(sid="unknown")]:
        with pytest.raises(websocket.WebSocketBadStatusException) as e:
            websocket.create_connection(bad, timeout=5)
        assert e.value.status_code == 400


def test_polling_echo_text_and_binary():
    sid = handshake()["sid"]
    r = post(sid, "4hello" + RS + "bAQIDBA==" + RS + "4" + RS + "4é☃")
    assert (r.status_code, r.text) == (200, "ok")
    r = poll(sid)
    assert r.status_code == 200
    assert r.content.decode() == "4hello" + RS + "bAQIDBA==" + RS + "4" + RS + "4é☃"


def test_held_poll_is_answered_when_data_arrives():
    sid = handshake()["sid"]
    result = {}

    def long_poll():
        result["r"] = poll(sid)

    t = threading.Thread(target=long_poll)
    t.start()
    time.sleep(0.2)
    assert t.is_alive(), "the poll was answered with nothing to say"
    assert post(sid, "4late").text == "ok"
    t.join(5)
    assert result["r"].text == "4late"


def test_polling_heartbeat_and_ping_timeout():
    sid = handshake()["sid"]
    for _ in range(2):
        started = time.time()
        assert poll(sid).text == "2"
        assert 0.5 <= time.time() - started <= 1.8
        assert post(sid, "3").status_code == 200
    # No pong this time: the session ends one ping timeout after the ping.
    assert poll(sid).text == "2"
    time.sleep((PING_TIMEOUT_MS + 300) / 1000)
    r = poll(sid)
    assert r.status_code == 400 and error_code(r) == 1


def test_duplicate_polls_close_the_session():
    sid = handshake()["sid"]
    first = {}
    t = threading.Thread(target=lambda: first.setdefault("r", poll(sid)))
    t.start()
    time.sleep(0.2)
    second = poll(sid)
    t.join(5)
    assert first["r"].status_code == 200 and first["r"].text == "1"
    assert second.status_code == 400
    assert poll(sid).status_code == 400


def test_client_close_ends_the_held_poll_with_noop():
    sid = handshake()["sid"]
    held = {}
    t = threading.Thread(target=lambda: held.setdefault("r", poll(sid)))
    t.start()
    time.sleep(0.2)
    post(sid, "1")
    t.join(5)
    assert held["r"].text == "6"
    assert poll(sid).status_code == 400


def test_abandoned_poll_closes_the_session():
    sid = handshake()["sid"]
    with pytest.raises(requests.exceptions.ReadTimeout):
        poll(sid, timeout=0.3)
    time.sleep(0.2)
    assert poll(sid).status_code == 400


def test_bad_payload_closes_the_session():
    sid = handshake()["sid"]
    r = post(sid, "abc")
    assert r.status_code == 400 and error_code(r) == 3
    assert poll(sid).status_code == 400


def test_payload_over_max_payload_is_413_and_closes():
    sid = handshake()["sid"]
    assert post(sid, "4" + "x" * (MAX_PAYLOAD - 1)).text == "ok"
    assert poll(sid).text == "4" + "x" * (MAX_PAYLOAD - 1)
    r = post(sid, "4" + "x" * MAX_PAYLOAD)
    assert r.status_code == 413
    assert poll(sid).status_code == 400


def test_websocket_echo_and_heartbeat():
    ws = websocket.create_connection(ws_url(), timeout=5)
    try:
        ws.recv()  # open
        ws.send("4hello")
        assert ws.recv() == "4hello"
        ws.send_binary(bytes([1, 2, 3, 4]))
        op, data = ws.recv_data()
        assert (op, data) == (websocket.ABNF.OPCODE_BINARY, bytes([1, 2, 3, 4]))
        for _ in range(2):
            assert ws.recv() == "2"
            ws.send("3")
    finally:
        ws.close()


def test_websocket_ping_timeout_closes():
    ws = websocket.create_connection(ws_url(), timeout=5)
    try:
        ws.recv()
        assert ws.recv() == "2"
        started = time.time()
        with pytest.raises(websocket.WebSocketConnectionClosedException):
            while True:
                ws.recv()
        assert time.time() - started < 3
    finally:
        ws.close()


@pytest.mark.parametrize("packet", ["abc", "", "9"])
def test_websocket_bad_packet_closes(packet):
    ws = websocket.create_connection(ws_url(), timeout=5)
    try:
        ws.recv()
        ws.send(packet)
        with pytest.raises(websocket.WebSocketConnectionClosedException):
            while True:
                ws.recv()
    finally:
        ws.close()


def test_websocket_close_packet_closes():
    ws = websocket.create_connection(ws_url(), timeout=5)
    ws.recv()
    ws.send("1")
    with pytest.raises(websocket.WebSocketConnectionClosedException):
        while True:
            ws.recv()
    ws.close()


def test_upgrade_drains_the_poll_and_moves_the_session():
    sid = handshake()["sid"]
    assert post(sid, "4queued before upgrade").text == "ok"
    ws = websocket.create_connection(ws_url(sid=sid), timeout=5)
    try:
        ws.send("2probe")
        assert ws.recv() == "3probe"
        # While upgrading a poll ends at once with a noop; the queued message waits for the new transport.
        assert poll(sid).text == "6"
        ws.send("5")
        assert ws.recv() == "4queued before upgrade"
        ws.send("4hello")
        assert ws.recv() == "4hello"
        # The session is on the WebSocket now: polling for it is a bad request, and so is a second upgrade.
        r = poll(sid)
        assert r.status_code == 400 and error_code(r) == 3
        with pytest.raises(websocket.WebSocketBadStatusException):
            websocket.create_connection(ws_url(sid=sid), timeout=5)
        ws.send("4still")
        assert ws.recv() == "4still"
    finally:
        ws.close()


def test_upgrade_ends_a_held_poll_with_noop():
    sid = handshake()["sid"]
    held = {}
    t = threading.Thread(target=lambda: held.setdefault("r", poll(sid)))
    t.start()
    time.sleep(0.2)
    ws = websocket.create_connection(ws_url(sid=sid), timeout=5)
    try:
        ws.send("2probe")
        assert ws.recv() == "3probe"
        t.join(5)
        assert held["r"].text == "6"
        ws.send("5")
        ws.send("4after")
        assert ws.recv() == "4after"
    finally:
        ws.close()


def test_failed_probe_leaves_the_session_on_polling():
    sid = handshake()["sid"]
    ws = websocket.create_connection(ws_url(sid=sid), timeout=5)
    ws.send("4not a probe")
    with pytest.raises(websocket.WebSocketConnectionClosedException):
        while True:
            ws.recv()
    ws.close()
    assert post(sid, "4polling").text == "ok"
    assert poll(sid).text == "4polling"


def test_defaults_and_connect_timeout():
    # Without flags the server uses Socket.IO's own defaults.
    with Server() as server:
        data = handshake("/socket.io/", base=server.url)
        assert (data["pingInterval"], data["pingTimeout"], data["maxPayload"]) == (25000, 20000, 1000000)
    # A Socket.IO client that joins no namespace in time is closed (the close packet ends its poll).
    with Server("--connect-timeout", "500") as server:
        sid = handshake("/socket.io/", base=server.url)["sid"]
        started = time.time()
        r = requests.get(f"{server.url}/socket.io/?EIO=4&transport=polling&sid={sid}", timeout=5)
        assert r.text == "1" and time.time() - started < 2
        assert requests.get(f"{server.url}/socket.io/?EIO=4&transport=polling&sid={sid}", timeout=5).status_code == 400


def test_large_poll_answers_are_compressed_small_ones_not():
    # httpCompression, on by default as in the reference: requests accepts gzip and deflate.
    sid = handshake()["sid"]
    big = "4" + "compress me, I repeat myself. " * 200
    assert post(sid, big).text == "ok"
    r = poll(sid)
    assert r.headers.get("content-encoding") == "gzip" and r.text == big
    assert int(r.headers["content-length"]) < len(big) // 4
    assert post(sid, "4small").text == "ok"
    r = poll(sid)
    assert "content-encoding" not in r.headers and r.text == "4small"
    assert post(sid, big).text == "ok"
    r = requests.get(url(sid=sid), headers={"Accept-Encoding": "identity"}, timeout=5)
    assert "content-encoding" not in r.headers and r.text == big
    with Server("--eio-no-http-compression") as server:
        sid = handshake(base=server.url)["sid"]
        requests.post(f"{server.url}/engine.io/?EIO=4&transport=polling&sid={sid}", data=big.encode(), timeout=5)
        r = requests.get(f"{server.url}/engine.io/?EIO=4&transport=polling&sid={sid}", timeout=5)
        assert "content-encoding" not in r.headers and r.text == big


@pytest.mark.parametrize("path", ["/engine.io/", "/socket.io/"])
def test_websocket_deflate_is_declined_unless_turned_on(path):
    # perMessageDeflate, off by default as in the reference.
    offer = ["Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"]
    ws = websocket.create_connection(ws_url(path), header=offer, timeout=5)
    try:
        assert "sec-websocket-extensions" not in (ws.getheaders() or {})
        assert ws.recv()[0] == "0"
    finally:
        ws.close()
    with Server("--eio-permessage-deflate") as server:
        ws = websocket.create_connection(server.url.replace("http", "ws") + path + "?EIO=4&transport=websocket",
                                         header=offer, timeout=5)
        try:
            assert ws.getheaders()["sec-websocket-extensions"].startswith("permessage-deflate")
        finally:
            ws.close()
