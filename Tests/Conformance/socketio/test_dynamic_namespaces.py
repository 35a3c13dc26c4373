"""Dynamic namespaces (the reference's `io.of(/regex/)`): the demo makes a namespace of every name
`/dyn-<word>` on first connect, each with its own sockets and rooms, and the demo's contract on
it. python-socketio clients are the judge; the exact refusals are read over a raw WebSocket. With
--threads 2 (socketio.sh's second run) each loop makes its own children, and a broadcast on a child
reaches its members on the other loop."""
import os
import time
import uuid

import pytest
import socketio
import websocket

from support import PORT, URL, Server, connect

THREADS = int(os.environ.get("REACTOR_SOCKETIO_THREADS", "1"))
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def loop_of(sid):
    return ALPHABET.index(sid[0]) * 64 + ALPHABET.index(sid[1])


def dyn():
    return "/dyn-" + uuid.uuid4().hex[:12]


def raw(url=None):
    ws = websocket.create_connection((url or URL).replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket", timeout=5)
    assert ws.recv()[0] == "0"
    return ws


def recv_skipping_pings(ws):
    """The next packet that is not a ping (answered) or the demo's `auth` emit on connect."""
    while True:
        message = ws.recv()
        if message == "2":
            ws.send("3")
        elif not (message.startswith("42") and '["auth",' in message[:40]):
            return message


def test_a_matching_name_is_a_namespace_with_the_demo_contract():
    ns = dyn()
    client, rec = connect(transports=("websocket",), namespaces=[ns], auth={"k": "v"})
    try:
        assert rec.wait("auth", ns=ns)[0] == ({"k": "v"},)
        assert client.call("echo", {"x": 1}, namespace=ns, timeout=5) == {"x": 1}
        info = client.call("namespace-info", namespace=ns, timeout=5)
        assert info["name"] == ns and info["sockets"] == 1
        assert info["children"] >= 1
    finally:
        client.disconnect()


@pytest.mark.parametrize("name", ["/dyn-", "/dyn-a b", "/dyn-" + "x" * 65, "/dynamic", "/nope"])
def test_a_name_no_rule_accepts_gets_invalid_namespace(name):
    ws = raw()
    try:
        ws.send(f"40{name},")
        assert recv_skipping_pings(ws) == f'44{name},{{"message":"Invalid namespace"}}'
    finally:
        ws.close()
    client = socketio.Client(reconnection=False, request_timeout=5)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(URL, namespaces=[name], wait_timeout=3)
    client.disconnect()


def test_rooms_belong_to_their_child():
    a_ns, b_ns = dyn(), dyn()
    (a1, r1), (a2, r2), (b1, rb) = (connect(namespaces=[a_ns]), connect(namespaces=[a_ns]), connect(namespaces=[b_ns]))
    try:
        for client, ns in ((a1, a_ns), (a2, a_ns), (b1, b_ns)):
            assert client.call("join", {"room": "r"}, namespace=ns, timeout=5)["ok"] is True
        a1.emit("chat", {"room": "r", "text": "hi"}, namespace=a_ns)
        got = r2.wait("chat", ns=a_ns)[0][0]
        assert got["text"] == "hi" and got["room"] == "r"
        # The same room name in another child is another room: b1 hears nothing.
        b1.call("echo", 1, namespace=b_ns, timeout=5)
        assert rb.of("chat", ns=b_ns) == []
        assert r1.of("chat", ns=a_ns) == [], "the sender is left out"
    finally:
        for c in (a1, a2, b1):
            c.disconnect()


def test_a_broadcast_on_the_parent_reaches_every_child():
    a_ns, b_ns = dyn(), dyn()
    client, rec = connect(namespaces=[a_ns, b_ns, "/"])
    try:
        client.emit("shout-all", {"text": "all"}, namespace=a_ns)
        for ns in (a_ns, b_ns):
            assert rec.wait("announcement-all", ns=ns)[0] == ({"text": "all", "from": a_ns},)
        client.call("echo", 1, timeout=5)
        assert rec.of("announcement-all", ns="/") == [], "a static namespace is no child"
    finally:
        client.disconnect()


def test_a_child_broadcast_reaches_its_members_on_every_loop():
    """With --threads 2, clients are added until both loops have a member of the child: each loop
    made the child when its first client came, and a chat in the room crosses to the other."""
    ns = dyn()
    clients = []
    try:
        for _ in range(24):
            clients.append(connect(transports=("websocket",), namespaces=[ns]))
            if len({loop_of(c.eio.sid) for c, _ in clients}) == THREADS and len(clients) >= 2:
                break
        loops = [loop_of(c.eio.sid) for c, _ in clients]
        assert set(loops) == set(range(THREADS))
        for client, _ in clients:
            assert client.call("join", {"room": "r"}, namespace=ns, timeout=5)["ok"] is True
        (sender, _), receivers = clients[0], clients[1:]
        sender.emit("chat", {"room": "r", "text": "across"}, namespace=ns)
        for client, rec in receivers:
            assert rec.wait("chat", ns=ns)[0][0]["text"] == "across"
        # The whole child too (shout: the sender included).
        sender.emit("shout", {"text": "everyone"}, namespace=ns)
        for client, rec in clients:
            assert rec.wait("announcement", ns=ns)[0] == ({"text": "everyone"},)
    finally:
        for client, _ in clients:
            client.disconnect()


def test_children_are_bounded_and_an_empty_one_gives_its_place_back():
    with Server("--sio-max-child-namespaces", "20") as server:
        # Four raw clients each ask for 30 fresh names: only 20 children are made in all.
        sockets, made, refused = [], 0, 0
        checker, _ = connect(url=server.url)
        try:
            for i in range(4):
                ws = raw(server.url)
                sockets.append(ws)
                for j in range(30):
                    ws.send(f"40/dyn-c{i}x{j},")
                for _ in range(30):
                    answer = recv_skipping_pings(ws)
                    if answer.startswith("40/dyn-"):
                        made += 1
                    else:
                        assert answer.endswith(',{"message":"Too many namespaces"}'), answer
                        refused += 1
            assert (made, refused) == (20, 100)
            assert checker.call("namespace-info", timeout=5)["children"] == 20
            for ws in sockets:
                ws.close()
            # Their clients gone, the children are dropped: new names are served again.
            children = None
            for _ in range(50):
                children = checker.call("namespace-info", timeout=5)["children"]
                if children == 0:
                    break
                time.sleep(0.1)
            assert children == 0
            ns = dyn()
            late, _ = connect(url=server.url, namespaces=[ns])
            assert late.call("echo", "ok", namespace=ns, timeout=5) == "ok"
            late.disconnect()
        finally:
            for ws in sockets:
                ws.close()
            checker.disconnect()


def test_namespaces_per_client_are_bounded():
    with Server("--sio-max-client-namespaces", "3") as server:
        ws = raw(server.url)
        try:
            for packet in ("40", "40/dyn-a,", "40/chat,"):
                ws.send(packet)
                assert recv_skipping_pings(ws).startswith(packet + "{" if packet == "40" else packet + '{"sid"')
            for name in ("/dyn-b", "/custom"):
                ws.send(f"40{name},")
                assert recv_skipping_pings(ws) == f'44{name},{{"message":"Too many namespaces"}}'
            # Leaving one frees its place.
            ws.send("41/chat,")
            ws.send("40/custom,")
            assert recv_skipping_pings(ws).startswith('40/custom,{"sid"')
        finally:
            ws.close()
