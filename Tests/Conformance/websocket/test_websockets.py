"""The echo demo's WebSocket endpoints, driven by the Python `websockets` library (sync client)."""
import os
import socket
import threading

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

PORT = int(os.environ["REACTOR_PORT"])
BASE = f"ws://127.0.0.1:{PORT}"


# /echo-async is the same echo written with async/await: held to the same contract.
ECHO_PATHS = ["/echo", "/echo-async"]


@pytest.mark.parametrize("path", ["/echo", "/", "/echo-async"])
def test_text_and_binary_echo(path):
    with connect(BASE + path, compression=None) as ws:
        ws.send("hello")
        assert ws.recv() == "hello"
        ws.send(b"\x00\x01\xff")
        assert ws.recv() == b"\x00\x01\xff"
        ws.send("ünïcödé ✓ 🎉")
        assert ws.recv() == "ünïcödé ✓ 🎉"


@pytest.mark.parametrize("path", ECHO_PATHS)
@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536, 1 << 20])
def test_sizes_across_length_encodings(size, path):
    payload = bytes(i * 7 & 0xFF for i in range(size))
    with connect(BASE + path, compression=None, max_size=None) as ws:
        ws.send(payload)
        assert ws.recv() == payload


@pytest.mark.parametrize("path", ECHO_PATHS)
def test_fragmented_message_is_reassembled(path):
    with connect(BASE + path, compression=None) as ws:
        ws.send(["frag", "men", "ted"])
        assert ws.recv() == "fragmented"
        ws.send([b"a", b"b"])
        assert ws.recv() == b"ab"


@pytest.mark.parametrize("path", ECHO_PATHS)
def test_permessage_deflate_is_negotiated_and_works(path):
    with connect(BASE + path, max_size=None) as ws:  # websockets offers deflate by default
        extensions = [e.name for e in ws.protocol.extensions]
        assert "permessage-deflate" in extensions
        text = "compressible " * 10_000
        ws.send(text)
        assert ws.recv() == text
        ws.send("small")
        assert ws.recv() == "small"


def test_ping_is_answered():
    with connect(BASE + "/echo") as ws:
        assert ws.ping(b"are you there").wait(5)


@pytest.mark.parametrize("path", ECHO_PATHS)
def test_many_messages_in_order(path):
    with connect(BASE + path, compression=None) as ws:
        for i in range(1000):
            ws.send(f"message {i}")
        for i in range(1000):
            assert ws.recv() == f"message {i}"


@pytest.mark.parametrize("path", ECHO_PATHS)
def test_close_handshake_echoes_the_code(path):
    with connect(BASE + path) as ws:
        ws.close(code=4001, reason="bye")
        assert ws.protocol.close_rcvd is not None
        assert ws.protocol.close_rcvd.code == 4001


def test_concurrent_clients():
    errors = []

    def client(n):
        try:
            with connect(BASE + "/echo", compression=None) as ws:
                for i in range(50):
                    ws.send(f"{n}:{i}")
                    assert ws.recv() == f"{n}:{i}"
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_oversized_message_closes_with_1009():
    # The server under test runs with --max-message-size 2000000 (see websocket.sh).
    with connect(BASE + "/echo", compression=None, max_size=None) as ws:
        ws.send(b"x" * 2_000_001)
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv()
        assert closed.value.rcvd.code == 1009


def test_invalid_utf8_closes_with_1007():
    # websockets will not send invalid text, so write the frame by hand after its handshake.
    with connect(BASE + "/echo", compression=None) as ws:
        frame = bytes([0x81, 0x80 | 2, 0, 0, 0, 0, 0xC3, 0x28])  # masked with a zero key
        ws.socket.sendall(frame)
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv()
        assert closed.value.rcvd.code == 1007


def test_unmasked_client_frame_closes_with_1002():
    with connect(BASE + "/echo", compression=None) as ws:
        ws.socket.sendall(bytes([0x81, 0x02]) + b"hi")
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv()
        assert closed.value.rcvd.code == 1002


def test_raw_wrong_version_answers_426_with_supported_version():
    s = socket.create_connection(("127.0.0.1", PORT), timeout=5)
    s.sendall(b"GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n")
    answer = s.recv(4096).decode()
    s.close()
    assert answer.startswith("HTTP/1.1 426")
    assert "Sec-WebSocket-Version: 13" in answer


def test_plain_get_on_root_is_still_the_page():
    s = socket.create_connection(("127.0.0.1", PORT), timeout=5)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = b""
    while chunk := s.recv(65536):
        data += chunk
    s.close()
    assert data.startswith(b"HTTP/1.1 200")
    assert b"<html" in data
