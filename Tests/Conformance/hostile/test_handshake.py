"""Hostile WebSocket handshakes: header values the upgrade reads, on every path that upgrades."""
import pytest

from support import Judge, alive, upgrade

UPGRADE_PATHS = ["/", "/echo", "/chat", "/socket.io/?EIO=4&transport=websocket", "/engine.io/?EIO=4&transport=websocket"]

EXTENSIONS = [
    b"permessage-deflate;=",
    b"permessage-deflate; ;x",
    b"permessage-deflate;;",
    b"permessage-deflate; =x",
    b"permessage-deflate; server_max_window_bits=",
    b"permessage-deflate; server_max_window_bits=99999999999999999999999",
    b"permessage-deflate; client_max_window_bits=\"",
    b"permessage-deflate; client_max_window_bits=\"\"",
    b",,,;;;===",
    b"permessage-deflate; server_max_window_bits=-1",
    b"\xff\xfe; =",
]


@pytest.mark.parametrize("path", UPGRADE_PATHS)
def test_bad_extension_offers_get_an_answer_not_a_crash(path):
    with Judge(budget_mib=16):
        for ext in EXTENSIONS:
            s, status, head, _ = upgrade(path, b"Sec-WebSocket-Extensions: " + ext + b"\r\n")
            s.close()
            # Declined offers still upgrade (RFC 7692 5: a server declines by not answering it).
            assert status in (101, 400), (ext, status)
            if status == 101:
                assert b"permessage-deflate" not in head.lower() or ext.startswith(b"permessage-deflate;")
            assert alive()


@pytest.mark.parametrize("header", [
    b"Sec-WebSocket-Protocol: ,,, ,\r\n",
    b"Sec-WebSocket-Protocol: \xff\xfe\r\n",
    b"Origin: \r\n",
    b"Cookie: ;;;=;=\r\n",
    b"Sec-WebSocket-Version: 99999999999999999999\r\n",
])
def test_other_upgrade_headers_get_an_answer(header):
    with Judge(budget_mib=16):
        for path in UPGRADE_PATHS:
            s, status, _, _ = upgrade(path, header)
            s.close()
            assert status in (101, 400, 403, 426), (path, header, status)
