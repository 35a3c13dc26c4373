"""Bad input, sent as raw bytes: each gets its status, a response h11 accepts, and then the
connection closes (the framing can no longer be trusted). Other clients are unaffected."""

import pytest

from support import Client

GOOD = b"GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

# (id, raw request, expected status)
BAD_REQUESTS = [
    # 400: syntax of the request line
    ("request-line-without-version", b"GET /plaintext\r\nHost: x\r\n\r\n", 400),
    ("request-line-two-spaces", b"GET  /plaintext HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    ("request-line-trailing-space", b"GET /plaintext HTTP/1.1 \r\nHost: x\r\n\r\n", 400),
    ("lowercase-version", b"GET /plaintext http/1.1\r\nHost: x\r\n\r\n", 400),
    ("control-byte-in-target", b"GET /plain\x01text HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    ("not-http-at-all", b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03tls-client-hello", 400),
    # 400: header section
    ("missing-host-http-1.1", b"GET /plaintext HTTP/1.1\r\n\r\n", 400),
    ("two-host-fields", b"GET /plaintext HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
    ("bare-cr-in-header-value", b"GET /plaintext HTTP/1.1\r\nHost: x\r\nX-A: one\rtwo\r\n\r\n", 400),
    ("bare-cr-ends-a-line", b"GET /plaintext HTTP/1.1\rHost: x\r\n\r\n", 400),
    ("obs-fold", b"GET /plaintext HTTP/1.1\r\nHost: x\r\nX-A: one\r\n two\r\n\r\n", 400),
    ("obs-fold-with-tab", b"GET /plaintext HTTP/1.1\r\nHost: x\r\nX-A: one\r\n\ttwo\r\n\r\n", 400),
    ("space-before-colon", b"GET /plaintext HTTP/1.1\r\nHost : x\r\n\r\n", 400),
    ("header-line-without-colon", b"GET /plaintext HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n", 400),
    ("empty-header-name", b"GET /plaintext HTTP/1.1\r\nHost: x\r\n: value\r\n\r\n", 400),
    ("nul-in-header-value", b"GET /plaintext HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", 400),
    # 400: body framing (request smuggling vectors, RFC 9112 6.1 and 6.3)
    ("content-length-and-transfer-encoding",
     b"POST /echo-body HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("transfer-encoding-and-content-length",
     b"POST /echo-body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400),
    ("content-length-not-a-number", b"POST /echo-body HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400),
    ("content-length-negative", b"POST /echo-body HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400),
    ("content-length-plus-sign", b"POST /echo-body HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\nabc", 400),
    ("content-length-conflicting",
     b"POST /echo-body HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400),
    ("chunk-size-not-hex", b"POST /echo-body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
    ("chunk-size-0x-prefix", b"POST /echo-body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0x3\r\nabc\r\n0\r\n\r\n", 400),
    ("chunk-size-empty", b"POST /echo-body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", 400),
    ("chunk-data-without-crlf",
     b"POST /echo-body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n", 400),
    # 413: body over 1 MiB, announced up front or by a chunk size
    ("content-length-over-limit", b"POST /echo-body HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n", 413),
    ("content-length-overflowing-64-bits",
     b"POST /echo-body HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999999\r\n\r\n", 413),
    ("chunk-over-limit", b"POST /echo-body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n100001\r\n", 413),
    ("chunk-size-overflowing-64-bits",
     b"POST /echo-body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffffffff\r\n", 413),
    # 414: request line over 8 KiB
    ("request-line-over-8k", b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    # 431: head over 16 KiB, or more than 100 fields
    ("head-over-16k", b"GET /plaintext HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 17000 + b"\r\n\r\n", 431),
    ("head-over-16k-in-many-fields",
     b"GET /plaintext HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-F%d: %s\r\n" % (i, b"v" * 250) for i in range(70)) + b"\r\n", 431),
    ("101-fields", b"GET /plaintext HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-F%d: v\r\n" % i for i in range(100)) + b"\r\n", 431),
    # 400: a final transfer coding other than chunked leaves the body unframed (RFC 9112 6.3)
    ("transfer-encoding-gzip", b"POST /echo-body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
    ("transfer-encoding-chunked-then-gzip",
     b"POST /echo-body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400),
    # 501: a transfer coding the server does not implement, before a final chunked
    ("transfer-encoding-gzip-then-chunked",
     b"POST /echo-body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
    # 505: a version the server does not implement
    ("http-3.0", b"GET /plaintext HTTP/3.0\r\nHost: x\r\n\r\n", 505),
    ("http-2.0", b"GET /plaintext HTTP/2.0\r\nHost: x\r\n\r\n", 505),
]


@pytest.mark.parametrize("raw,status", [pytest.param(r, s, id=i) for i, r, s in BAD_REQUESTS])
def test_bad_request_gets_its_status_then_the_connection_closes(raw, status):
    with Client() as c:
        r = c.raw_exchange(raw)
        assert r.status == status, f"expected {status}, got {r.status} {r.reason!r}: {r.body[:100]!r}"
        assert "close" in r.connection_tokens(), "an error that ends the connection should say Connection: close"
        c.assert_server_closed()


@pytest.mark.parametrize("raw,status", [pytest.param(r, s, id=i) for i, r, s in BAD_REQUESTS
                                        if i in ("missing-host-http-1.1", "obs-fold", "request-line-over-8k",
                                                 "101-fields", "transfer-encoding-gzip")])
def test_bad_request_after_good_ones_on_the_same_connection(raw, status):
    """Two good pipelined requests, a bad one, then a good one: two answers, the error, and
    nothing for the request behind the error."""
    with Client() as c:
        c.send_raw(GOOD + GOOD + raw + GOOD)
        for _ in range(2):
            c.expect("GET")
            r = c.read_response()
            assert r.status == 200 and r.body == b"Hello, World!"
        c.expect("GET")
        r = c.read_response()
        assert r.status == status
        c.assert_server_closed()


def test_error_arriving_slowly_after_a_good_head():
    """The bad byte comes in a later packet than the start of the head."""
    with Client() as c:
        c.expect("GET")
        c.send_raw(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n")
        c.send_raw(b"X-A: one\r\n")
        c.send_raw(b" folded\r\n\r\n")
        r = c.read_response()
        assert r.status == 400
        c.assert_server_closed()


def test_healthy_clients_are_served_while_and_after_a_bad_one_is_rejected():
    with Client() as healthy:
        r = healthy.request("GET", "/plaintext")
        assert r.status == 200
        for raw, status in ((b"GET /plaintext HTTP/1.1\r\n\r\n", 400),
                            (b"GET /plaintext HTTP/3.0\r\nHost: x\r\n\r\n", 505),
                            (b"POST /echo-body HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n", 413)):
            with Client() as bad:
                assert bad.raw_exchange(raw).status == status
                bad.assert_server_closed()
            # The keep-alive connection opened before is still served ...
            r = healthy.request("POST", "/echo-body", body=b"still here")
            assert r.status == 200 and r.body == b"still here"
        # ... and so is a new one.
        with Client() as fresh:
            r = fresh.request("GET", "/plaintext")
            assert r.status == 200 and r.body == b"Hello, World!"


def test_413_when_the_client_keeps_sending_the_body():
    """A real upload over the limit: the 413 must reach the client even though it was still
    sending (h11 reads the answer whatever happens to the rest of the upload)."""
    with Client() as c:
        c.expect("POST")
        c.send_raw(b"POST /echo-body HTTP/1.1\r\nHost: x\r\nContent-Length: 1100000\r\n\r\n")
        try:
            c.send_raw(b"u" * 1_100_000)
        except OSError:
            pass  # the server may close before taking it all
        r = c.read_response()
        assert r.status == 413


def test_chunked_body_crossing_the_limit_is_413():
    with Client() as c:
        c.expect("POST")
        c.send_raw(b"POST /echo-body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        try:
            for _ in range(4):
                c.send_raw(b"40000\r\n" + b"c" * 0x40000 + b"\r\n")  # 4 x 256 KiB: exactly 1 MiB so far
            c.send_raw(b"1\r\n!\r\n0\r\n\r\n")  # one byte over
        except OSError:
            pass
        r = c.read_response()
        assert r.status == 413


@pytest.mark.parametrize("line_length,status", [(8192, 200), (8193, 414)])
def test_request_line_limit_boundary(line_length, status):
    prefix, suffix = b"GET /plaintext?q=", b" HTTP/1.1"
    line = prefix + b"a" * (line_length - len(prefix) - len(suffix)) + suffix
    assert len(line) == line_length
    with Client() as c:
        assert c.raw_exchange(line + b"\r\nHost: x\r\n\r\n").status == status


@pytest.mark.parametrize("head_length,status", [(16384, 200), (16385, 431)])
def test_head_limit_boundary(head_length, status):
    start, end = b"GET /plaintext HTTP/1.1\r\nHost: x\r\nX-Pad: ", b"\r\n\r\n"
    head = start + b"p" * (head_length - len(start) - len(end)) + end
    assert len(head) == head_length
    with Client() as c:
        assert c.raw_exchange(head).status == status


@pytest.mark.parametrize("fields,status", [(100, 200), (101, 431)])
def test_field_count_boundary(fields, status):
    head = b"GET /plaintext HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-F%d: v\r\n" % i for i in range(fields - 1)) + b"\r\n"
    with Client() as c:
        assert c.raw_exchange(head).status == status


@pytest.mark.parametrize("size,status", [(1024 * 1024, 200), (1024 * 1024 + 1, 413)])
def test_body_limit_boundary(size, status):
    with Client() as c:
        c.expect("POST")
        try:
            c.send_raw(b"POST /echo-body HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % size + b"b" * size)
        except OSError:
            pass  # over the limit the server answers and closes without reading the body
        r = c.read_response()
        assert r.status == status
        if status == 200:
            assert len(r.body) == size


@pytest.mark.parametrize("raw", [pytest.param(r, id=i) for i, r, s in BAD_REQUESTS
                                 if i in ("missing-host-http-1.1", "content-length-over-limit",
                                          "request-line-over-8k", "101-fields")])
def test_4xx_error_responses_carry_a_date(raw):
    with Client() as c:
        r = c.raw_exchange(raw)
        assert 400 <= r.status < 500
        assert r.header("date") is not None, f"{r.status} without Date"
