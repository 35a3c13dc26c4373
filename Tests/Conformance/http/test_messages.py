"""Well-formed exchanges: each response is parsed by h11, and its content checked against the
demo's routes (GET /, GET /plaintext, POST /echo-body)."""

import random
import re
import threading
import time
from datetime import datetime, timezone

import h11
import pytest

from support import Client, TIMEOUT, request_events, serialize

HELLO = b"Hello, World!"

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
# RFC 9110 5.6.7: IMF-fixdate = day-name "," SP date1 SP time-of-day SP GMT
IMF_FIXDATE = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) (" + "|".join(MONTHS) + r") (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$")


def parse_imf_fixdate(value: str) -> datetime:
    m = IMF_FIXDATE.match(value)
    assert m, f"Date is not an IMF-fixdate: {value!r}"
    day_name, day, month, year, hh, mm, ss = m.groups()
    when = datetime(int(year), MONTHS.index(month) + 1, int(day), int(hh), int(mm), int(ss), tzinfo=timezone.utc)
    assert DAYS[when.weekday()] == day_name, f"{value!r}: {day_name} is the wrong day name"
    return when


def assert_plaintext(r):
    assert r.status == 200
    assert r.body == HELLO
    assert r.header("content-length") == "13"
    assert r.header("content-type") == "text/plain"


# MARK: GET /plaintext


@pytest.mark.parametrize("path", ["/plaintext", "/plaintext-async"])
def test_get_plaintext_body_and_headers(path):
    with Client() as c:
        r = c.request("GET", path)
    assert r.http_version == b"1.1"
    assert r.reason == b"OK"
    assert_plaintext(r)
    assert r.header("transfer-encoding") is None
    # HTTP/1.1 is persistent by default: no Connection: close on a plain request.
    assert "close" not in r.connection_tokens()


def test_date_header_is_a_current_imf_fixdate():
    before = datetime.now(timezone.utc).replace(microsecond=0)
    with Client() as c:
        r = c.request("GET", "/plaintext")
    after = datetime.now(timezone.utc)
    date = r.header("date")
    assert date is not None, "no Date header (RFC 9110 6.6.1: MUST in a 2xx)"
    when = parse_imf_fixdate(date)
    # The server caches the formatted date per second; allow a little slack for that.
    assert before.timestamp() - 2 <= when.timestamp() <= after.timestamp() + 1, f"Date {date} is not now"


def test_get_root_serves_the_html_page():
    with Client() as c:
        r = c.request("GET", "/")
    assert r.status == 200
    assert r.header("content-type").startswith("text/html")
    assert int(r.header("content-length")) == len(r.body) > 0
    assert b"<html" in r.body.lower()


def test_query_string_is_not_part_of_the_route():
    with Client() as c:
        assert_plaintext(c.request("GET", "/plaintext?x=1&y=%20"))


def test_absolute_form_target_is_accepted():
    # RFC 9112 3.2.2: a server MUST accept the absolute-form in requests.
    with Client() as c:
        assert_plaintext(c.request("GET", f"http://127.0.0.1:{c.port}/plaintext"))


# MARK: persistence and pipelining


def test_keep_alive_serves_100_requests_on_one_connection():
    with Client() as c:
        for i in range(100):
            r = c.request("GET", "/plaintext")
            assert_plaintext(r)
            assert "close" not in r.connection_tokens(), f"request {i}"
        # Still the same, still open connection.
        assert c.h11.our_state is h11.DONE and c.h11.their_state is h11.DONE
        c.next_cycle()
        c.assert_open_and_quiet()


def pipeline_requests():
    """16 mixed requests, each paired with a check of its response."""
    def ok_plain(r):
        assert_plaintext(r)

    def ok_root(r):
        assert r.status == 200 and b"<html" in r.body.lower()

    def ok_head(r):
        assert r.status == 200 and r.body == b"" and r.header("content-length") == "13"

    def echoed(expected):
        def check(r):
            assert r.status == 200 and r.body == expected
        return check

    def status(code):
        def check(r):
            assert r.status == code
        return check

    items = []
    for i in range(16):
        kind = i % 8
        if kind == 0:
            items.append((("GET", "/plaintext"), {}, ok_plain))
        elif kind == 1:
            body = f"body number {i}".encode()
            items.append((("POST", "/echo-body"), {"body": body}, echoed(body)))
        elif kind == 2:
            items.append((("HEAD", "/plaintext"), {}, ok_head))
        elif kind == 3:
            chunks = [b"chunk-", str(i).encode(), b"-end"]
            items.append((("POST", "/echo-body"), {"chunks": chunks}, echoed(b"".join(chunks))))
        elif kind == 4:
            items.append((("GET", "/"), {}, ok_root))
        elif kind == 5:
            items.append((("GET", f"/missing/{i}"), {}, status(404)))
        elif kind == 6:
            items.append((("DELETE", "/plaintext"), {}, status(405)))
        else:
            items.append((("GET", f"/plaintext?n={i}"), {}, ok_plain))
    return items


def run_pipeline(send):
    items = pipeline_requests()
    wire = b"".join(serialize(request_events(m, t, **kw)) for (m, t), kw, _ in items)
    with Client() as c:
        send(c, wire)
        for n, ((method, target), kw, check) in enumerate(items):
            c.send_request(method, target, wire=False, **kw)  # h11 learns which request this answers
            r = c.read_response()
            try:
                check(r)
            except AssertionError as e:
                raise AssertionError(f"response {n} to {method} {target}: {e}") from e
        c.next_cycle()
        c.assert_open_and_quiet()


def test_16_pipelined_requests_in_one_send_are_answered_in_order():
    run_pipeline(lambda c, wire: c.send_raw(wire))


def test_16_pipelined_requests_split_at_random_points():
    rng = random.Random(9112)

    def send(c, wire):
        i = 0
        while i < len(wire):
            n = rng.randint(1, 40)
            c.send_raw(wire[i:i + n])
            i += n
            if rng.random() < 0.2:
                time.sleep(0.002)
    run_pipeline(send)


def test_deep_pipeline_with_slow_reader_survives_backpressure():
    """2,000 pipelined GET / (about 2 MB of answers) while the client does not read at first:
    the server must stop reading, then resume, and lose or reorder nothing."""
    count = 2000
    wire = b"".join(serialize(request_events("GET", f"/?n={i}")) for i in range(count))
    with Client(rcvbuf=16 * 1024) as c:
        failure = []

        def sender():
            try:
                c.send_raw(wire)
            except OSError as e:
                failure.append(e)
        t = threading.Thread(target=sender, daemon=True)
        t.start()
        time.sleep(0.5)  # let the answers back up
        page = None
        for i in range(count):
            c.send_request("GET", f"/?n={i}", wire=False)
            r = c.read_response()
            assert r.status == 200, f"response {i}"
            page = page or r.body
            assert r.body == page, f"response {i} differs"
        t.join(TIMEOUT)
        assert not failure, failure


# MARK: bodies


def test_post_echo_body_with_content_length():
    payload = bytes(range(256)) * 4
    with Client() as c:
        r = c.request("POST", "/echo-body", body=payload)
    assert r.status == 200
    assert r.header("content-type") == "application/octet-stream"
    assert r.header("content-length") == str(len(payload))
    assert r.body == payload


def test_post_echo_body_chunked():
    chunks = [b"a", b"bc" * 100, bytes(range(256)), b"\r\n0\r\n\r\n", b"z" * 5000]
    with Client() as c:
        r = c.request("POST", "/echo-body", chunks=chunks)
        assert r.status == 200
        assert r.body == b"".join(chunks)
        # The connection stays usable after a chunked body.
        assert_plaintext(c.request("GET", "/plaintext"))


def test_chunked_body_with_extensions_and_trailers():
    wire = (b"POST /echo-body HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5;name=value;flag\r\nhello\r\n"
            b"1 ; spaced=\"quoted\"\r\n!\r\n"
            b"0\r\nX-Checksum: 1234\r\nX-Other: yes\r\n\r\n")
    with Client() as c:
        r = c.raw_exchange(wire, method="POST")
        assert r.status == 200 and r.body == b"hello!"
        assert_plaintext(c.request("GET", "/plaintext"))


def test_empty_bodies():
    with Client() as c:
        r = c.request("POST", "/echo-body", body=b"")
        assert r.status == 200 and r.body == b"" and r.header("content-length") == "0"
        r = c.request("POST", "/echo-body", chunks=[])
        assert r.status == 200 and r.body == b"" and r.header("content-length") == "0"


def test_body_of_exactly_the_limit_is_accepted():
    payload = random.Random(1).randbytes(1024 * 1024)
    with Client() as c:
        r = c.request("POST", "/echo-body", body=payload)
        assert r.status == 200 and r.body == payload
        r = c.request("POST", "/echo-body", chunks=[payload[i:i + 100_000] for i in range(0, len(payload), 100_000)])
        assert r.status == 200 and r.body == payload


def test_request_trickled_one_byte_at_a_time():
    get = serialize(request_events("GET", "/plaintext"))
    post = serialize(request_events("POST", "/echo-body", chunks=[b"abc", b"defgh"]))
    with Client() as c:
        for method, wire, check in (("GET", get, assert_plaintext), ("POST", post, None)):
            c.expect(method)
            for i in range(len(wire)):
                c.send_raw(wire[i:i + 1])
                time.sleep(0.001)
            r = c.read_response()
            if check:
                check(r)
            else:
                assert r.status == 200 and r.body == b"abcdefgh"


# MARK: Expect: 100-continue


def test_expect_100_continue():
    payload = b"sent after the 100"
    with Client() as c:
        c.send_events([h11.Request(method="POST", target="/echo-body", headers=[
            ("Host", "127.0.0.1"), ("Content-Length", str(len(payload))), ("Expect", "100-continue")])])
        first = c.next_event()
        assert isinstance(first, h11.InformationalResponse), f"expected 100 Continue first, got {first!r}"
        assert first.status_code == 100
        c.send_events([h11.Data(data=payload), h11.EndOfMessage()])
        r = c.read_response()
        assert r.status == 200 and r.body == payload
        assert_plaintext(c.request("GET", "/plaintext"))


def test_expect_100_continue_with_chunked_body():
    with Client() as c:
        c.send_events([h11.Request(method="POST", target="/echo-body", headers=[
            ("Host", "127.0.0.1"), ("Transfer-Encoding", "chunked"), ("Expect", "100-continue")])])
        first = c.next_event()
        assert isinstance(first, h11.InformationalResponse) and first.status_code == 100, first
        c.send_events([h11.Data(data=b"one"), h11.Data(data=b"two"), h11.EndOfMessage()])
        r = c.read_response()
        assert r.status == 200 and r.body == b"onetwo"


def test_expect_100_continue_on_unknown_route_gets_the_final_status_without_100():
    with Client() as c:
        c.send_events([h11.Request(method="POST", target="/nowhere", headers=[
            ("Host", "127.0.0.1"), ("Content-Length", "10"), ("Expect", "100-continue")])])
        r = c.read_response()  # the body is never sent
        assert r.informational == []
        assert r.status == 404
        # The body may still be on its way, so the server cannot keep the connection.
        c.assert_server_closed()


def test_expect_100_continue_with_too_large_body_gets_413_without_100():
    with Client() as c:
        r = c.raw_exchange(b"POST /echo-body HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n"
                           b"Expect: 100-continue\r\n\r\n", method="POST")
        assert r.informational == []
        assert r.status == 413
        c.assert_server_closed()


def test_expect_is_ignored_for_http_1_0():
    # RFC 9110 10.1.1: a server MUST ignore a 100-continue expectation in an HTTP/1.0 request.
    with Client() as c:
        r = c.raw_exchange(b"POST /echo-body HTTP/1.0\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\nabc",
                           method="POST")
        assert r.informational == []
        assert r.status == 200 and r.body == b"abc"


# MARK: HEAD, OPTIONS, 404, 405


@pytest.mark.parametrize("path", ["/plaintext", "/plaintext-async"])
def test_head_plaintext_has_length_and_no_body(path):
    with Client() as c:
        get = c.request("GET", path)
        head = c.request("HEAD", path)
        assert head.status == 200
        assert head.body == b""  # h11 knows HEAD answers carry none: a stray byte would break the next parse
        assert head.header("content-length") == "13"
        assert head.header("content-type") == get.header("content-type")
        # The connection is still in sync: a body after the HEAD answer would be read here.
        assert_plaintext(c.request("GET", path))


def test_head_root_matches_get_root():
    with Client() as c:
        get = c.request("GET", "/")
        head = c.request("HEAD", "/")
        assert head.status == 200 and head.body == b""
        assert head.header("content-length") == get.header("content-length") == str(len(get.body))


def test_unknown_path_is_404_and_keeps_the_connection():
    with Client() as c:
        r = c.request("GET", "/no/such/page")
        assert r.status == 404
        assert "close" not in r.connection_tokens()
        assert r.header("date") is not None
        r = c.request("HEAD", "/no/such/page")
        assert r.status == 404 and r.body == b""
        assert_plaintext(c.request("GET", "/plaintext"))


@pytest.mark.parametrize("method,target,allowed", [
    ("POST", "/plaintext", {"GET", "HEAD"}),
    ("DELETE", "/plaintext", {"GET", "HEAD"}),
    ("PUT", "/", {"GET", "HEAD"}),
    ("GET", "/echo-body", {"POST"}),
    ("HEAD", "/echo-body", {"POST"}),
])
def test_wrong_method_is_405_with_allow(method, target, allowed):
    with Client() as c:
        r = c.request(method, target, body=b"x" if method in ("POST", "PUT") else None)
        assert r.status == 405
        allow = r.header("allow")
        assert allow is not None, "405 without Allow (RFC 9110 15.5.6: MUST)"
        tokens = {t.strip() for t in allow.split(",")}
        assert allowed <= tokens, f"Allow: {allow}"
        assert method not in tokens
        if method == "HEAD":
            assert r.body == b""
        assert_plaintext(c.request("GET", "/plaintext"))


def test_options_lists_the_allowed_methods():
    with Client() as c:
        r = c.request("OPTIONS", "/plaintext")
        assert r.status in (200, 204)
        assert {"GET", "HEAD"} <= {t.strip() for t in r.header("allow").split(",")}
        assert_plaintext(c.request("GET", "/plaintext"))


# MARK: connection management


def test_connection_close_request_is_answered_then_closed():
    with Client() as c:
        r = c.request("GET", "/plaintext", headers=[("Connection", "close")])
        assert_plaintext(r)
        assert "close" in r.connection_tokens()
        c.assert_server_closed()


def test_http_1_0_without_keep_alive_is_closed_after_the_response():
    with Client() as c:
        r = c.raw_exchange(b"GET /plaintext HTTP/1.0\r\n\r\n")
        assert_plaintext(r)
        c.assert_server_closed()


def test_http_1_0_with_keep_alive_stays_open():
    request = b"GET /plaintext HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
    with Client() as c:
        for _ in range(3):
            r = c.raw_exchange(request)
            assert_plaintext(r)
            # An HTTP/1.0 client only keeps the connection if told so (RFC 9112 9.3).
            assert "keep-alive" in r.connection_tokens()
        c.next_cycle()
        c.assert_open_and_quiet()
        r = c.raw_exchange(b"POST /echo-body HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 4\r\n\r\nbody",
                           method="POST")
        assert r.status == 200 and r.body == b"body"
        c.next_cycle()
        c.assert_open_and_quiet()


def test_http_1_0_body_without_keep_alive():
    with Client() as c:
        r = c.raw_exchange(b"POST /echo-body HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello", method="POST")
        assert r.status == 200 and r.body == b"hello"
        c.assert_server_closed()


def test_many_connections_open_at_once():
    clients = [Client() for _ in range(64)]
    try:
        for i, c in enumerate(clients):
            c.send_request("POST", "/echo-body", body=f"client {i}".encode())
        for i, c in enumerate(reversed(clients)):
            n = len(clients) - 1 - i
            r = c.read_response()
            assert r.status == 200 and r.body == f"client {n}".encode()
    finally:
        for c in clients:
            c.close()

