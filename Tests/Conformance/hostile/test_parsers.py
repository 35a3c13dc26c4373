"""Hostile input to the parsers behind the demo's routes: transfer codings, query strings and
percent-decoding, Engine.IO and Socket.IO packets with huge numbers and wrong shapes, and peer
text that tries to forge log lines. Each attack is a handful of requests on loopback; each must
get a defined answer (a status, a closed session), never a crash, judged by `Judge`."""
import json
import re

import pytest

from support import Judge, Server, alive, connect, frame, read_head, request, upgrade

HUGE = b"99999999999999999999999999999999"  # beyond 64 bits
BUDGET_MIB = 16


def get(target, headers=b""):
    """A GET on a fresh connection that the server closes after answering; returns (status, body)."""
    status, data = request(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + headers + b"\r\n")
    return status, data.partition(b"\r\n\r\n")[2]


def post(target, body, headers=b""):
    status, data = request(b"POST " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: "
                           + str(len(body)).encode() + b"\r\n" + headers + b"\r\n" + body)
    return status, data.partition(b"\r\n\r\n")[2]


# --- HTTP framing -------------------------------------------------------------------------------

@pytest.mark.parametrize("coding,status", [
    (b"gzip", 400),              # RFC 9112 6.3: the last coding is not chunked: 400 and close
    (b"chunked, gzip", 400),
    (b"chunked, chunked", 400),  # chunked twice (RFC 9112 7: MUST NOT)
    (b"gzip, chunked", 501),     # framed, but a coding the server does not implement
])
def test_transfer_codings_get_their_status_and_a_closed_connection(coding, status):
    with Judge(budget_mib=BUDGET_MIB):
        with connect() as s:
            s.sendall(b"POST /echo-body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " + coding + b"\r\n\r\n"
                      b"5\r\nhello\r\n0\r\n\r\n")
            got, head, rest = read_head(s)
            assert got == status, (coding, head)
            assert re.search(rb"(?i)\r\nconnection: *close", head), head
            # Whatever followed is never read as a request: the server closes.
            data = rest
            while chunk := s.recv(4096):
                data += chunk
            assert b"HTTP/1.1" not in data


# --- query strings and percent-decoding ---------------------------------------------------------

QUERIES = [
    b"/poll?room=lobby&cursor=" + HUGE,
    b"/poll?room=lobby&cursor=-1",
    b"/poll?room=lobby&timeout=1e999",
    b"/poll?room=lobby&timeout=-1",
    b"/poll?room=lobby&timeout=nan",
    b"/poll?room=lobby&timeout=" + HUGE + b"&cursor=18446744073709551616",
    b"/messages?room=lobby&cursor=18446744073709551615",
    b"/messages?room=%&cursor=%",
    b"/messages?room=%zz%4%%C3%28%FF%00&cursor=%3",
    b"/messages?room=" + b"%41" * 200,
    b"/messages?room=%0D%0Aevil&cursor=0",
    b"/messages?=&&&=&room&cursor",
    b"/messages?room=lobby&room=other&cursor=0&cursor=" + HUGE,
    b"/events?room=lobby&lastEventId=" + HUGE,
    b"/%ZZ%?%",
    b"/plaintext?%",
    b"/chat?room=lobby&after=" + HUGE,
]


def test_query_strings_with_huge_numbers_and_broken_escapes_get_answers():
    with Judge(budget_mib=BUDGET_MIB):
        for target in QUERIES:
            if target.startswith(b"/events"):
                # An event stream stays open: only its status line matters here.
                with connect() as s:
                    s.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nLast-Event-ID: " + HUGE + b"\r\n\r\n")
                    status, _, _ = read_head(s)
            elif target.startswith(b"/chat"):
                s, status, _, _ = upgrade(target.decode())
                s.close()
            else:
                status, _ = get(target)
            assert status in (101, 200, 400, 404), (target, status)
            assert alive()


def test_huge_cursor_is_a_400_not_a_crash():
    with Judge(budget_mib=BUDGET_MIB):
        status, body = get(b"/messages?room=hostile-parsers&cursor=" + HUGE)
        assert status == 400, body
        status, body = get(b"/poll?room=hostile-parsers&timeout=1e999")
        assert status == 400, body


# --- Engine.IO and Socket.IO over polling -------------------------------------------------------

def open_polling(prefix=b"/socket.io/"):
    status, body = get(prefix + b"?EIO=4&transport=polling&t=x")
    assert status == 200, body
    assert body.startswith(b"0"), body
    return json.loads(body[1:])["sid"].encode()


@pytest.mark.parametrize("query", [
    b"EIO=" + HUGE + b"&transport=polling",
    b"EIO=&transport=polling",
    b"EIO=4&transport=polling&sid=" + HUGE,
    b"EIO=4&transport=polling&sid=%00%0A",
    b"EIO=4&transport=polling&t=" + HUGE + b"&t=%",
    b"EIO=4&transport=%",
    b"EIO=%34&transport=%70olling&b64=" + HUGE,
    b"EIO=4&EIO=" + HUGE + b"&transport=websocket",
])
def test_engineio_queries_get_protocol_errors(query):
    with Judge(budget_mib=BUDGET_MIB):
        for prefix in (b"/socket.io/", b"/engine.io/"):
            status, body = get(prefix + b"?" + query)
            assert status in (200, 400), (query, status, body)
            if status == 400:
                assert json.loads(body)["code"] in range(6), body


SOCKETIO_PACKETS = [
    b"4" + b"5" + HUGE + b"-[\"message\",{\"_placeholder\":true,\"num\":0}]",  # attachment count
    b"4" + b"2" + HUGE + b"[\"echo\",1]",                                      # ack id over 64 bits
    b"42" + b"18446744073709551615" + b"[\"echo\",1]",                         # the largest ack id
    b"4" + b"51-[\"message\",{\"_placeholder\":true,\"num\":" + HUGE + b"}]",  # placeholder num
    b"4" + b"51-[\"message\",{\"_placeholder\":true,\"num\":-1}]",
    b"4" + b"51-[\"message\",{\"_placeholder\":true,\"num\":1e999}]",
    b"42[\"join\"]",                                                           # no arguments at all
    b"42[\"leave\"]",
    b"42[\"chat\"]",
    b"42[\"shout\"]",
    b"42[\"join\",{\"room\":" + HUGE + b"}]",
    b"42[" + HUGE + b",1]",                                                    # a number as event name
    b"42[1e999]",
    b"43" + HUGE + b"[]",                                                      # an ack nobody asked for
    b"4" + b"0/" + b"%" * 100 + b",{}",
    b"6" + HUGE,                                                               # noop with data
    b"2" + HUGE,                                                               # ping with data
]


@pytest.mark.parametrize("packet", SOCKETIO_PACKETS, ids=range(len(SOCKETIO_PACKETS)))
def test_socketio_packets_with_huge_numbers_end_in_a_defined_state(packet):
    with Judge(budget_mib=BUDGET_MIB):
        sid = open_polling()
        status, body = post(b"/socket.io/?EIO=4&transport=polling&sid=" + sid, b"40")
        assert status == 200, body
        status, body = post(b"/socket.io/?EIO=4&transport=polling&sid=" + sid, packet)
        # A packet the session accepts gets "ok"; a broken one closes the session (400).
        assert status in (200, 400), (packet, status, body)
        status, body = get(b"/socket.io/?EIO=4&transport=polling&sid=" + sid)
        assert status in (200, 400), (packet, status, body)
        assert alive()


def test_engineio_payload_with_huge_and_broken_packets():
    with Judge(budget_mib=BUDGET_MIB):
        for body in [b"4" + HUGE, b"b" + b"=" * 9, b"\x1e\x1e", b"9" + HUGE, b"4\xff\xfe", b"b" + HUGE + b"\x1e4x"]:
            sid = open_polling(b"/engine.io/")
            status, answer = post(b"/engine.io/?EIO=4&transport=polling&sid=" + sid, body)
            assert status in (200, 400), (body, status, answer)


# --- peer text in the log -----------------------------------------------------------------------

def test_peer_text_cannot_forge_log_lines():
    """A close reason, a path and a query with line breaks and escape sequences: the server's log
    must show each on its own line, escaped, and never hold a raw ESC or a forged line."""
    marker = b"[error] FORGED"
    with Server("--log-level", "debug") as server:
        with server.judge(budget_mib=BUDGET_MIB):
            # A WebSocket the peer closes with an error code and a reason holding a line break.
            s, status, _, _ = upgrade("/echo", port=server.port)
            assert status == 101
            s.sendall(frame(0x8, b"\x03\xea" + b"bye\n" + marker + b"\x1b[31m"))
            s.settimeout(2)
            try:
                while s.recv(4096):
                    pass
            except OSError:
                pass
            s.close()
            # A request whose bad target is logged as a 400, and queries with encoded line breaks.
            for raw in [b"GET /%0A" + marker.replace(b" ", b"%20") + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                        b"GET /\x1b[2J HTTP/1.1\r\nHost: x\r\n\r\n",
                        b"GET /messages?room=%0A" + marker.replace(b" ", b"%20") + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"]:
                request(raw, port=server.port)
            # A Socket.IO session broken by a packet with a line break inside its JSON.
            sid_status, data = request(b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                                       port=server.port)
            sid = json.loads(data.partition(b"\r\n\r\n")[2][1:])["sid"].encode()
            body = b"42[\"x\n" + marker + b"\"]"
            request(b"POST /socket.io/?EIO=4&transport=polling&sid=" + sid + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                    b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body, port=server.port)
    log = server.output
    assert b"WebSocket closed 1002" in log or b"WebSocket " in log, log[-2000:]
    assert b"\x1b" not in log, "a raw ESC reached the log"
    for line in log.split(b"\n"):
        assert not line.startswith(marker), f"forged line in the log: {line!r}"
    assert b"bye\\n[error] FORGED\\x1B[31m" in log, log[-2000:]
