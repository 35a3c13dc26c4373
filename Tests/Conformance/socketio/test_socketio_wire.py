"""Socket.IO v5 packets byte for byte, spoken by hand over a raw WebSocket (websocket-client), as
the protocol's reference test suite does: what the real client never shows, such as the exact
encoding of acks and binary packets, and the errors that close the session."""
import json

import pytest
import websocket

from support import PORT

WS = f"ws://127.0.0.1:{PORT}/socket.io/?EIO=4&transport=websocket"


def recv_skipping_pings(ws):
    while True:
        message = ws.recv()
        if message != "2":
            return message
        ws.send("3")


def connected(namespace_packet="40"):
    ws = websocket.create_connection(WS, timeout=5)
    assert ws.recv()[0] == "0"
    ws.send(namespace_packet)
    return ws


def test_connect_main_namespace():
    ws = connected()
    try:
        reply = recv_skipping_pings(ws)
        assert reply.startswith("40{")
        assert list(json.loads(reply[2:])) == ["sid"]
        assert recv_skipping_pings(ws) == '42["auth",{}]'
    finally:
        ws.close()


@pytest.mark.parametrize("packet,prefix,auth", [
    ('40{"token":"123"}', "40", '42["auth",{"token":"123"}]'),
    ("40/custom,", "40/custom,", '42/custom,["auth",{}]'),
    ('40/custom,{"token":"abc"}', "40/custom,", '42/custom,["auth",{"token":"abc"}]'),
    ("40/chat", "40/chat,", '42/chat,["auth",{}]'),
])
def test_connect_with_payload_and_namespace(packet, prefix, auth):
    ws = connected(packet)
    try:
        reply = recv_skipping_pings(ws)
        assert reply.startswith(prefix + "{")
        assert list(json.loads(reply[len(prefix):])) == ["sid"]
        assert recv_skipping_pings(ws) == auth
    finally:
        ws.close()


def test_unknown_namespace():
    ws = connected("40/random")
    try:
        assert recv_skipping_pings(ws) == '44/random,{"message":"Invalid namespace"}'
    finally:
        ws.close()


def main():
    ws = connected()
    recv_skipping_pings(ws)
    recv_skipping_pings(ws)
    return ws


def test_plain_event_and_ack():
    ws = main()
    try:
        ws.send('42["message",1,"2",{"3":[true]}]')
        assert recv_skipping_pings(ws) == '42["message-back",1,"2",{"3":[true]}]'
        ws.send('42456["message-with-ack",1,"2",{"3":[false]}]')
        assert recv_skipping_pings(ws) == '43456[1,"2",{"3":[false]}]'
    finally:
        ws.close()


def test_binary_event_and_binary_ack():
    ws = main()
    try:
        ws.send('452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]')
        ws.send_binary(bytes([1, 2, 3]))
        ws.send_binary(bytes([4, 5, 6]))
        assert recv_skipping_pings(ws) == '452-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]'
        assert ws.recv_data() == (websocket.ABNF.OPCODE_BINARY, bytes([1, 2, 3]))
        assert ws.recv_data() == (websocket.ABNF.OPCODE_BINARY, bytes([4, 5, 6]))
        ws.send('452-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]')
        ws.send_binary(bytes([7]))
        ws.send_binary(bytes([8]))
        assert recv_skipping_pings(ws) == '462-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]'
        assert ws.recv_data() == (websocket.ABNF.OPCODE_BINARY, bytes([7]))
        assert ws.recv_data() == (websocket.ABNF.OPCODE_BINARY, bytes([8]))
    finally:
        ws.close()


def test_disconnect_from_a_custom_namespace_keeps_the_main_one():
    ws = main()
    try:
        ws.send("40/custom")
        assert recv_skipping_pings(ws).startswith("40/custom,")
        recv_skipping_pings(ws)
        ws.send("41/custom")
        ws.send('42["message","to main"]')
        assert recv_skipping_pings(ws) == '42["message-back","to main"]'
        ws.send('42/custom,["message","to custom"]')
        ws.send('42["message","main again"]')
        assert recv_skipping_pings(ws) == '42["message-back","main again"]'
    finally:
        ws.close()


@pytest.mark.parametrize("bad", ["4abc", '42{}', '42abc["message-with-ack",1]', "49", '42["disconnect"]', "4" + "51-[\"x\"]" + "x",
                                 '451-["message",{"_placeholder":true,"num":3}]'])
def test_invalid_packets_close_the_session(bad):
    ws = main()
    try:
        ws.send(bad)
        if bad.startswith("451-"):
            ws.send_binary(b"\x00")
        with pytest.raises(websocket.WebSocketConnectionClosedException):
            while True:
                message = ws.recv()
                assert message in ("2", ""), f"got {message!r} after {bad!r}"
    finally:
        ws.close()
