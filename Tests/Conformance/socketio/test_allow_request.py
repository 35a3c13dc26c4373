"""`allowRequest` in its callback form (`allowRequestLater`): the demo's, with
--eio-allow-request-delay, decides each handshake later, refusing those whose query has
`deny=REASON` (403, the reference's error body) and never deciding `hang=1`; waiting handshakes are
bounded (--eio-max-pending-handshakes: 503 at once past it) and time out (503)."""
import socket
import time

import pytest
import requests
import socketio

from support import Server, connect


def test_a_later_decision_accepts_or_refuses():
    with Server("--eio-allow-request-delay", "150") as server:
        for transports in (("polling",), ("websocket",), ("polling", "websocket")):
            start = time.time()
            client, rec = connect(url=server.url, transports=transports)
            try:
                assert time.time() - start >= 0.14
                assert client.call("echo", "in", timeout=5) == "in"
            finally:
                client.disconnect()
        start = time.time()
        r = requests.get(f"{server.url}/socket.io/?EIO=4&transport=polling&deny=banned", timeout=5)
        assert time.time() - start >= 0.14
        assert (r.status_code, r.json()) == (403, {"code": 4, "message": "banned"})
        for transports in (("polling",), ("websocket",)):
            client = socketio.Client(reconnection=False, request_timeout=5)
            with pytest.raises(socketio.exceptions.ConnectionError):
                client.connect(server.url + "?deny=no", transports=list(transports), wait_timeout=3)
            client.disconnect()


def test_waiting_handshakes_are_bounded_and_time_out():
    with Server("--eio-allow-request-delay", "0", "--eio-max-pending-handshakes", "2",
                "--eio-allow-request-timeout", "700") as server:
        held = []
        try:
            for _ in range(2):
                s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
                s.sendall(b"GET /socket.io/?EIO=4&transport=polling&hang=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                held.append(s)
            time.sleep(0.2)
            r = requests.get(f"{server.url}/socket.io/?EIO=4&transport=polling", timeout=5)
            assert (r.status_code, r.json()) == (503, {"code": 4, "message": "too many handshakes pending"})
            for s in held:
                answer = b""
                while chunk := s.recv(4096):
                    answer += chunk
                assert answer.startswith(b"HTTP/1.1 503"), answer
                assert answer.endswith(b'"message":"allowRequest timed out"}'), answer
            # Their places are free again.
            assert requests.get(f"{server.url}/socket.io/?EIO=4&transport=polling", timeout=5).status_code == 200
        finally:
            for s in held:
                s.close()
