"""Cross-origin browsers: the demo's WebSocket routes, POST /send and Socket.IO/Engine.IO refuse a
browser Origin that is not the server's own (403), accept requests without Origin, and
`--allow-origin` widens the rule (CORS answers and preflights only for allowed origins)."""
import pytest

from support import PORT, Judge, Server, request, upgrade

WS_PATHS = ["/", "/echo", "/chat", "/socket.io/?EIO=4&transport=websocket", "/engine.io/?EIO=4&transport=websocket"]
EVIL = b"Origin: http://evil.example\r\n"


def own(port):
    return f"Origin: http://127.0.0.1:{port}\r\n".encode()


@pytest.mark.parametrize("path", WS_PATHS)
def test_websocket_upgrades_from_another_origin_get_403(path):
    with Judge(budget_mib=8):
        for origin, expected in ((EVIL, 403), (b"Origin: null\r\n", 403), (own(PORT), 101),
                                 (f"Origin: http://localhost:{PORT}\r\n".encode(), 101), (b"", 101)):
            s, status, _, _ = upgrade(path, origin)
            s.close()
            assert status == expected, (path, origin, status)


def post_send(origin, port=PORT):
    body = b"hello from some page"
    return request(b"POST /send?room=origins HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%sContent-Length: %d\r\n"
                   b"Connection: close\r\n\r\n%s" % (port, origin, len(body), body), port)


def test_post_send_from_another_origin_gets_403():
    assert post_send(EVIL)[0] == 403
    assert post_send(own(PORT))[0] == 200
    assert post_send(b"")[0] == 200


def polling(method, origin, port=PORT, extra=b""):
    return request(method + b" /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s%s"
                   b"Connection: close\r\n\r\n" % (port, origin, extra), port)


def test_socketio_polling_from_another_origin_gets_403_and_no_cors():
    status, data = polling(b"GET", EVIL)
    assert status == 403 and b"access-control-allow-origin" not in data.lower()
    status, data = polling(b"OPTIONS", EVIL, extra=b"Access-Control-Request-Method: POST\r\n")
    assert status == 403 and b"access-control-allow-origin" not in data.lower()
    status, data = polling(b"GET", own(PORT))
    assert status == 200 and data.split(b"\r\n\r\n", 1)[1].startswith(b"0{")


def test_allow_origin_widens_the_rule_with_cors_answers():
    with Server("--allow-origin", "https://app.example") as server:
        app = b"Origin: https://app.example\r\n"
        status, data = polling(b"OPTIONS", app, server.port,
                               b"Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type\r\n")
        head = data.split(b"\r\n\r\n", 1)[0].lower()
        assert status == 204, data
        assert b"access-control-allow-origin: https://app.example" in head
        assert b"access-control-allow-credentials: true" in head
        assert b"access-control-allow-headers: content-type" in head
        status, data = polling(b"GET", app, server.port)
        assert status == 200 and b"access-control-allow-origin: https://app.example" in data.lower()
        s, status, _, _ = upgrade("/echo", app, port=server.port)
        s.close()
        assert status == 101
        assert post_send(app, server.port)[0] == 200
        assert polling(b"GET", EVIL, server.port)[0] == 403
        assert post_send(EVIL, server.port)[0] == 403
    with Server("--allow-origin", "*") as server:
        s, status, _, _ = upgrade("/chat", EVIL, port=server.port)
        s.close()
        assert status == 101


def test_a_preflight_echoes_requested_headers_only_as_a_well_formed_line():
    """The preflight answer repeats Access-Control-Request-Headers: whatever a peer puts there
    (long, odd bytes, many fields) comes back as one header line or the request is refused."""
    with Server("--allow-origin", "https://app.example") as server, server.judge(budget_mib=8):
        app = b"Origin: https://app.example\r\n"
        for asked in (b"x-a, x-b" * 1000, b"\x01\x7f\xff", b"a" * 15000, b""):
            status, data = polling(b"OPTIONS", app, server.port, b"Access-Control-Request-Headers: " + asked + b"\r\n")
            assert status in (204, 400, 431), status
            if status == 204:
                head = data.split(b"\r\n\r\n", 1)[0]
                assert all(b"\x00" not in line and b"\r" not in line for line in head.split(b"\r\n"))
