"""Hostile clients of issue 20's dynamic namespaces and allowRequest callback: peers that ask for
namespace after namespace of the demo's `/dyn-<word>` family (each name a child the server would
keep) are held by `--sio-max-child-namespaces` per loop and `--sio-max-client-namespaces` per
client, and the children go when their clients do; handshakes left waiting on a decision that
never comes are held by `--eio-max-pending-handshakes` and answered 503 at the timeout. Bounded
in count and time, judged by `Judge`."""
import json
import socket
import threading
import time
import uuid

from support import Server, frame, read_head, upgrade
from test_socketio import PATH, read_frame


def ask_for_names(port, count, results):
    """One client asks for `count` fresh dynamic namespaces without waiting, then reads the
    answers: (made, refused, its socket, kept open)."""
    s, status, _, rest = upgrade(PATH, port=port, timeout=10)
    assert status == 101
    prefix = uuid.uuid4().hex[:8]
    s.sendall(b"".join(frame(0x1, f"40/dyn-{prefix}{i}-{'w' * 40},".encode()) for i in range(count)))
    made = refused = 0
    s.settimeout(10)
    while made + refused < count:
        _, _, opcode, payload, rest = read_frame(s, rest)
        assert opcode != 0x8, "closed"
        text = payload.decode()
        if text == "2":
            s.sendall(frame(0x1, b"3"))
        elif text.startswith("40/dyn-"):
            made += 1
        elif text.endswith(',{"message":"Too many namespaces"}'):
            refused += 1
    results.append((made, refused, s))


def children(port):
    s, status, _, rest = upgrade(PATH, port=port)
    try:
        s.sendall(frame(0x1, b"40") + frame(0x1, b'421["namespace-info"]'))
        data = rest
        s.settimeout(5)
        while b'431[' not in data:
            data += s.recv(65536)
        start = data.index(b"431[") + 3
        end = data.index(b"]", start) + 1
        return json.loads(data[start:end])[0]["children"]
    finally:
        s.close()


def test_clients_asking_for_many_namespaces_stay_within_the_bounds():
    # 40 clients ask for 500 names each (20,000 names): at most 100 per client, 1,000 per loop.
    with Server("--sio-max-child-namespaces", "1000", "--sio-max-client-namespaces", "100") as server, server.judge(48):
        results = []
        threads = [threading.Thread(target=ask_for_names, args=(server.port, 500, results)) for _ in range(40)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not any(t.is_alive() for t in threads)
        assert len(results) == 40
        assert all(made <= 100 for made, _, _ in results), "at most 100 namespaces per client"
        assert sum(made for made, _, _ in results) == 1000, "the loop made 1,000 children, no more"
        assert children(server.port) == 1000
        for _, _, s in results:
            s.close()
        deadline = time.time() + 10
        while children(server.port) != 0 and time.time() < deadline:
            time.sleep(0.2)
        assert children(server.port) == 0, "the children went with their clients"


def test_handshakes_waiting_for_a_decision_are_bounded():
    # 3,000 handshakes that are never decided: 500 wait (each until the 2 s timeout), the others
    # get 503 at once.
    with Server("--eio-allow-request-delay", "0", "--eio-max-pending-handshakes", "500",
                "--eio-allow-request-timeout", "2000") as server, server.judge(32):
        held = []
        refused_at_once = 0
        try:
            for _ in range(3000):
                s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
                s.sendall(b"GET /socket.io/?EIO=4&transport=polling&hang=1 HTTP/1.1\r\nHost: x\r\n\r\n")
                held.append(s)
            time.sleep(0.5)
            for s in held:
                s.setblocking(False)
                try:
                    if s.recv(16).startswith(b"HTTP/1.1 503"):
                        refused_at_once += 1
                except BlockingIOError:
                    pass
            assert refused_at_once == 2500
            time.sleep(2)
            for s in held:
                s.setblocking(True)
                s.settimeout(5)
            late = sum(1 for s in held if read_head(s)[0] == 503)
            assert late == 500
        finally:
            for s in held:
                s.close()
