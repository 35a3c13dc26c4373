"""The demo served over TLS, judged by clients nobody here wrote: Python's ssl (http.client),
websockets over wss://, httpx and httpx-sse over https, python-socketio over https (polling and
the upgrade to wss). And the peers a TLS server must survive:
plaintext instead of a ClientHello, a handshake that never finishes, a reset mid-handshake. Each
must close that connection only: the server answers the next client at once. Last, SIGHUP reloads
renewed certificate files."""
import http.client
import os
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import threading
import time
import uuid

import pytest

import httpx
import requests
import socketio
from httpx_sse import connect_sse
from websockets.sync.client import connect

PORT = int(os.environ["REACTOR_PORT"])
CERT = os.environ["REACTOR_TLS_CERT"]
HANDSHAKE_MS = int(os.environ["REACTOR_TLS_HANDSHAKE_MS"])
HTTPS = f"https://localhost:{PORT}"
WSS = f"wss://localhost:{PORT}"


def context(**versions):
    ctx = ssl.create_default_context(cafile=CERT)
    ctx.set_alpn_protocols(["http/1.1"])
    for name, value in versions.items():
        setattr(ctx, name, value)
    return ctx


def get_plaintext(ctx=None):
    conn = http.client.HTTPSConnection("localhost", PORT, context=ctx or context(), timeout=5)
    try:
        conn.request("GET", "/plaintext")
        resp = conn.getresponse()
        return resp.status, resp.read(), conn.sock.version(), conn.sock.selected_alpn_protocol()
    finally:
        conn.close()


def test_https_get_over_tls13_with_alpn():
    status, body, version, alpn = get_plaintext()
    assert (status, body) == (200, b"Hello, World!")
    assert version == "TLSv1.3"
    assert alpn == "http/1.1"


def test_https_get_over_tls12():
    status, body, version, _ = get_plaintext(context(maximum_version=ssl.TLSVersion.TLSv1_2))
    assert (status, body, version) == (200, b"Hello, World!", "TLSv1.2")


def test_keep_alive_and_pipelined_requests_on_one_connection():
    with socket.create_connection(("127.0.0.1", PORT), timeout=5) as raw:
        with context().wrap_socket(raw, server_hostname="localhost") as s:
            s.sendall(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n" * 16)
            data = b""
            while data.count(b"Hello, World!") < 16:
                chunk = s.recv(65536)
                assert chunk, "closed early"
                data += chunk
            assert data.count(b"HTTP/1.1 200 OK") == 16


def test_session_ticket_resumption():
    ctx = context()
    with socket.create_connection(("127.0.0.1", PORT), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            s.sendall(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n")
            s.recv(4096)  # TLS 1.3 tickets arrive after the handshake, with the first records
            session = s.session
    with socket.create_connection(("127.0.0.1", PORT), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost", session=session) as s:
            assert s.session_reused


def test_wss_echo_text_and_binary_up_to_a_megabyte():
    with connect(f"{WSS}/echo", ssl=context(), max_size=None, open_timeout=5) as ws:
        ws.send("hello over tls")
        assert ws.recv(timeout=5) == "hello over tls"
        for size in (1, 125, 126, 16384, 65536, 1 << 20):
            payload = bytes((i * 7 + size) & 0xFF for i in range(size))
            ws.send(payload)
            assert ws.recv(timeout=10) == payload


def test_sse_and_send_over_https():
    room = "tls-" + uuid.uuid4().hex[:8]
    got, ready = [], threading.Event()

    def read():
        with httpx.Client(verify=context(), timeout=10) as c:
            with connect_sse(c, "GET", f"{HTTPS}/events", params={"room": room}) as source:
                assert source.response.headers["content-type"].startswith("text/event-stream")
                ready.set()
                for sse in source.iter_sse():
                    if sse.event == "message":
                        got.append(sse.data)
                        return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert ready.wait(5)
    time.sleep(0.2)
    with httpx.Client(verify=context(), timeout=5) as c:
        assert c.post(f"{HTTPS}/send", params={"room": room}, content=b"over tls").status_code == 200
    reader.join(5)
    assert got == ["over tls"]


def test_long_poll_over_https():
    room = "tls-" + uuid.uuid4().hex[:8]
    with httpx.Client(verify=context(), timeout=10) as c:
        assert c.post(f"{HTTPS}/send", params={"room": room}, content=b"polled").status_code == 200
        body = c.get(f"{HTTPS}/poll", params={"room": room, "cursor": 0, "timeout": 1}).json()
        assert "polled" in str(body)


@pytest.mark.parametrize("transports", [("polling",), ("polling", "websocket")])
def test_python_socketio_over_https(transports):
    # engine.io takes the CA from its requests session (for polling and for websocket-client).
    # trust_env off: a REQUESTS_CA_BUNDLE in the environment would override the session's CA.
    session = requests.Session()
    session.verify = CERT
    session.trust_env = False
    client = socketio.Client(reconnection=False, request_timeout=5, http_session=session)
    client.connect(HTTPS, transports=list(transports), wait_timeout=5)
    try:
        assert client.transport() == transports[-1]
        assert client.call("echo", {"over": "tls", "n": [1, 2.5, None]}, timeout=5) == {"over": "tls", "n": [1, 2.5, None]}
    finally:
        client.disconnect()


def closed_within(sock, seconds):
    """True if the server closes (EOF or reset) within `seconds`, reading and dropping its bytes."""
    sock.settimeout(seconds)
    deadline = time.time() + seconds
    try:
        while time.time() < deadline:
            if not sock.recv(4096):
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False
    return False


def test_plaintext_http_instead_of_a_client_hello_closes_that_connection_only():
    with socket.create_connection(("127.0.0.1", PORT), timeout=5) as plain:
        plain.sendall(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n")
        assert closed_within(plain, 3)
    assert get_plaintext()[0] == 200


def test_random_bytes_instead_of_a_client_hello():
    for i in range(20):
        with socket.create_connection(("127.0.0.1", PORT), timeout=5) as s:
            s.sendall(os.urandom(100 + i * 50))
            assert closed_within(s, 3)
    assert get_plaintext()[0] == 200


def test_a_handshake_that_never_finishes_is_closed_at_the_deadline():
    started = time.time()
    with socket.create_connection(("127.0.0.1", PORT), timeout=5) as silent:
        # Meanwhile other clients are served at once.
        assert get_plaintext()[0] == 200
        assert closed_within(silent, HANDSHAKE_MS / 1000 + 3)
    assert time.time() - started < HANDSHAKE_MS / 1000 + 3


def client_hello():
    """The first flight of a real client (Python's ssl over memory BIOs)."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = context().wrap_bio(incoming, outgoing, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def test_a_peer_resetting_mid_handshake_closes_that_connection_only():
    hello = client_hello()
    assert hello[0] == 0x16  # a handshake record
    for cut in (1, 5, len(hello) // 2, len(hello)):
        s = socket.create_connection(("127.0.0.1", PORT), timeout=5)
        s.sendall(hello[:cut])
        time.sleep(0.05)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()  # RST
    assert get_plaintext()[0] == 200


def test_a_truncated_record_after_the_handshake_waits_then_the_connection_goes_on():
    """Half a record is held (not an error) until the rest comes."""
    with socket.create_connection(("127.0.0.1", PORT), timeout=5) as raw:
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        obj = context().wrap_bio(incoming, outgoing, server_hostname="localhost")
        while True:
            try:
                obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                raw.sendall(outgoing.read())
                incoming.write(raw.recv(65536))
        raw.sendall(outgoing.read())
        obj.write(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n")
        record = outgoing.read()
        raw.sendall(record[:len(record) - 3])
        time.sleep(0.3)
        raw.sendall(record[len(record) - 3:])
        answer = b""
        while b"Hello, World!" not in answer:
            incoming.write(raw.recv(65536))
            try:
                answer += obj.read(65536)
            except ssl.SSLWantReadError:
                pass
        assert answer.startswith(b"HTTP/1.1 200 OK")


def test_zz_sighup_reloads_renewed_certificate_files_and_keeps_open_connections(tmp_path):
    """Runs last: it renews the suite's certificate files (the same names, a new key)."""
    pid, key = int(os.environ["REACTOR_SERVER_PID"]), os.environ["REACTOR_TLS_KEY"]
    raw = socket.create_connection(("127.0.0.1", PORT), timeout=5)
    before = context().wrap_socket(raw, server_hostname="localhost")
    old_certificate = open(CERT, "rb").read()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                    "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")],
                   check=True, capture_output=True)
    shutil.copyfile(tmp_path / "key.pem", key)
    shutil.copyfile(tmp_path / "cert.pem", CERT)
    assert open(CERT, "rb").read() != old_certificate
    os.kill(pid, signal.SIGHUP)
    deadline = time.time() + 5
    while True:  # the reload happens on the server's loop, soon after the signal
        try:
            status, body, _, _ = get_plaintext(context())  # trusts the renewed file only
            break
        except ssl.SSLCertVerificationError:
            assert time.time() < deadline, "the renewed certificate was never served"
            time.sleep(0.1)
    assert (status, body) == (200, b"Hello, World!")
    before.sendall(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n")
    assert before.recv(4096).startswith(b"HTTP/1.1 200 OK"), "the connection made before the reload goes on"
    before.close()
