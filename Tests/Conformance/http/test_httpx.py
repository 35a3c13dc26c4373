"""The high-level path: httpx (with its own HTTP/1.1 stack, httpcore + h11) as a real client."""

import random
from concurrent.futures import ThreadPoolExecutor

import httpx

from support import TIMEOUT


def client(base_url, connections=1):
    return httpx.Client(base_url=base_url, timeout=TIMEOUT,
                        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections))


def test_httpx_get_plaintext(base_url):
    with client(base_url) as c:
        r = c.get("/plaintext")
    assert r.status_code == 200
    assert r.http_version == "HTTP/1.1"
    assert r.content == b"Hello, World!"
    assert r.headers["content-length"] == "13"
    assert r.headers["content-type"] == "text/plain"
    assert "date" in r.headers


def test_httpx_routes(base_url):
    with client(base_url) as c:
        assert c.get("/").status_code == 200
        assert c.head("/plaintext").content == b""
        assert c.get("/nope").status_code == 404
        r = c.put("/plaintext", content=b"x")
        assert r.status_code == 405 and "GET" in r.headers["allow"]


def test_httpx_echo_large_body_and_streamed_upload(base_url):
    payload = random.Random(7).randbytes(1024 * 1024)
    with client(base_url) as c:
        r = c.post("/echo-body", content=payload)
        assert r.status_code == 200 and r.content == payload
        # An iterator body makes httpx send Transfer-Encoding: chunked.
        r = c.post("/echo-body", content=iter([payload[i:i + 65536] for i in range(0, len(payload), 65536)]))
        assert r.status_code == 200 and r.content == payload


def test_httpx_upload_over_the_limit_gets_413(base_url):
    with client(base_url) as c:
        r = c.post("/echo-body", content=b"x" * 2_000_000)
        assert r.status_code == 413
        # The pool notices the closed connection and the next request works on a new one.
        assert c.get("/plaintext").status_code == 200


def test_httpx_200_requests_over_10_concurrent_clients(base_url):
    total, concurrency = 200, 10
    with client(base_url, connections=concurrency) as c:
        def one(i):
            if i % 2:
                body = f"request {i}".encode() * (i % 7 + 1)
                r = c.post("/echo-body", content=body)
                return r.status_code, r.content == body
            r = c.get("/plaintext")
            return r.status_code, r.content == b"Hello, World!"

        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            results = list(pool.map(one, range(total)))
    assert [s for s, _ in results] == [200] * total
    assert all(same for _, same in results), "a response body did not match its request"
