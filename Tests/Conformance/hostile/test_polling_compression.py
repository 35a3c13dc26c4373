"""Engine.IO long polls asking for compressed answers (httpCompression, on by default as in the
reference server): many sessions with large compressible and incompressible answers, and odd
Accept-Encoding values. The zlib state is one per loop and the output never outgrows the plain
answer, so memory stays within the sessions' own queues; every answer decodes to what was sent."""
import json
import os
import zlib

from support import PORT, Judge, connect, read_head

PATH = b"/engine.io/?EIO=4&transport=polling"


def exchange(s, method, target, extra=b"", body=b""):
    """One request on a kept-alive connection; returns (status, headers (lowercased), body)."""
    s.sendall(method + b" " + target + b" HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%sContent-Length: %d\r\n\r\n%s"
              % (PORT, extra, len(body), body))
    status, head, rest = read_head(s)
    headers = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get(b"content-length", b"0"))
    while len(rest) < length:
        chunk = s.recv(65536)
        assert chunk, "closed mid-body"
        rest += chunk
    return status, headers, rest[:length]


def decoded(headers, body):
    coding = headers.get(b"content-encoding")
    if coding is None:
        return body
    assert coding in (b"gzip", b"deflate"), coding
    return zlib.decompress(body, 16 + 15 if coding == b"gzip" else 15)


def open_session(s):
    status, _, body = exchange(s, b"GET", PATH)
    assert status == 200 and body.startswith(b"0{"), body[:80]
    return json.loads(body[1:])["sid"].encode()


def test_many_sessions_get_large_answers_compressed_within_budget():
    """60 sessions each echo 200 KB messages (half compressible, half random) and poll them back
    with Accept-Encoding: gzip, deflate; compressible answers come back coded and smaller, random
    ones plain; all decode to the message sent."""
    text = (b"polling answers compress well when they repeat themselves. " * 4000)[:200_000]
    with Judge(budget_mib=32):
        for i in range(60):
            with connect() as s:
                sid = open_session(s)
                message = text if i % 2 == 0 else os.urandom(100_000).hex().encode()[:200_000]
                status, _, body = exchange(s, b"POST", PATH + b"&sid=" + sid, body=b"4" + message)
                assert status == 200 and body == b"ok", (status, body)
                status, headers, body = exchange(s, b"GET", PATH + b"&sid=" + sid,
                                                 b"Accept-Encoding: gzip, deflate\r\n")
                assert status == 200
                assert decoded(headers, body) == b"4" + message
                if i % 2 == 0:
                    assert headers.get(b"content-encoding") == b"gzip" and len(body) < len(message) // 10
                exchange(s, b"POST", PATH + b"&sid=" + sid, body=b"1")  # close the session


def test_odd_accept_encodings_get_a_plain_or_valid_answer():
    """Malformed weights, refusals, long lists, unknown codings: each answer is 200 and decodes."""
    message = b"4" + b"x" * 5000
    for value in (b"gzip;q=abc", b"gzip;q=", b"*;q=0", b"br", b"gzip;q=0, deflate;q=0",
                  b"identity", b"deflate;q=0.001", b",,,;;;", b"gzip;" * 1000, b"x-gzip", b"\xff\xfe"):
        with Judge(budget_mib=8), connect() as s:
            sid = open_session(s)
            assert exchange(s, b"POST", PATH + b"&sid=" + sid, body=message)[0] == 200
            status, headers, body = exchange(s, b"GET", PATH + b"&sid=" + sid, b"Accept-Encoding: " + value + b"\r\n")
            assert status == 200, (value, status)
            assert decoded(headers, body) == message, value
            if value in (b"gzip;q=abc", b"gzip;q=", b"*;q=0", b"br", b"gzip;q=0, deflate;q=0", b"identity"):
                assert b"content-encoding" not in headers, value
