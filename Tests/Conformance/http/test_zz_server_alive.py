"""Runs last (pytest takes files in name order): after every bad input above, the server still serves."""

from support import Client


def test_server_still_serves_after_the_whole_suite():
    with Client() as c:
        r = c.request("GET", "/plaintext")
        assert r.status == 200 and r.body == b"Hello, World!"
