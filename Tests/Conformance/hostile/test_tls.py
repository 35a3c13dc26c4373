"""Hostile TLS peers against a server of the test's own (`--tls-cert`, a 1 s handshake deadline),
judged as every attack here: the server lives, its RSS stays within the budget, and a fresh HTTPS
GET /plaintext (TLS handshake included) is answered within 200 ms during and after."""
import os
import socket
import ssl
import struct
import subprocess
import time

import pytest

from support import PROBE_DEADLINE, Server, alive

HANDSHAKE_MS = 1000


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    ctx = ssl.create_default_context(cafile=str(cert))
    with Server("--tls-cert", str(cert), "--tls-key", str(key), "--tls-handshake-timeout", str(HANDSHAKE_MS)) as server:
        yield server, ctx


def https_probe(ctx):
    def seconds(port, timeout=2.0):
        start = time.monotonic()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw:
                with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                    s.sendall(b"GET /plaintext HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    data = b""
                    while chunk := s.recv(4096):
                        data += chunk
            if data.startswith(b"HTTP/1.1 200") and data.endswith(b"Hello, World!"):
                return time.monotonic() - start
        except (OSError, ssl.SSLError):
            pass
        return None
    return seconds


def client_hello(ctx):
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def closed(s, seconds):
    s.settimeout(seconds)
    try:
        while True:
            if not s.recv(4096):
                return True
    except ConnectionResetError:
        return True
    except (socket.timeout, OSError):
        return False


def test_garbage_instead_of_client_hellos(tls):
    server, ctx = tls
    with server.judge(budget_mib=16, probe=https_probe(ctx)):
        for i in range(200):
            with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
                s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" if i % 2 else os.urandom(64 + i))
                assert closed(s, 3)
    assert alive(server.pid)


def test_many_stalled_handshakes_are_closed_at_the_deadline(tls):
    server, ctx = tls
    hello = client_hello(ctx)
    with server.judge(budget_mib=32, probe=https_probe(ctx)) as judge:
        held = []
        for i in range(300):
            s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            s.sendall(hello[: (i % (len(hello) - 1)) + 1] if i % 3 else b"")  # nothing, or part of a hello
            held.append(s)
        judge.sample_rss()
        deadline = time.time() + HANDSHAKE_MS / 1000 + 3
        for s in held:
            assert closed(s, max(0.1, deadline - time.time())), "a stalled handshake outlived the deadline"
            s.close()


def test_resets_mid_handshake(tls):
    server, ctx = tls
    hello = client_hello(ctx)
    with server.judge(budget_mib=16, probe=https_probe(ctx)):
        for i in range(200):
            s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            s.sendall(hello[: 1 + i % len(hello)])
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()


def test_bad_records_after_the_handshake(tls):
    server, ctx = tls
    with server.judge(budget_mib=16, probe=https_probe(ctx)):
        for i in range(100):
            raw = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            s = ctx.wrap_socket(raw, server_hostname="localhost")
            # An application-data record that cannot decrypt, straight on the TCP socket.
            body = os.urandom(32 + i)
            raw_fd = socket.socket(fileno=os.dup(s.fileno()))
            raw_fd.sendall(b"\x17\x03\x03" + len(body).to_bytes(2, "big") + body)
            assert closed(raw_fd, 3)
            raw_fd.close()
            s.close()


def test_full_handshakes_in_a_row_leave_the_others_served(tls):
    server, ctx = tls
    with server.judge(budget_mib=16, probe=https_probe(ctx)):
        for _ in range(300):
            with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
                with ctx.wrap_socket(raw, server_hostname="localhost"):
                    pass
