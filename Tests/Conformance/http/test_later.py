"""GET /later?ms=N: a deferred answer that reads the request it was given when it answers.

Issue 21's leak: a handler that kept its request and read it from a timer used to read the loop's
shared receive buffer, which by then held another client's request. Here 50 clients at once, each
on its own connection with its own User-Agent and its own random delays, several requests each:
every answer must name its own request and nobody else's. h11 judges every byte.
"""

import random
import threading
import time

import pytest

from support import Client

BAD_MS = b"ms must be an integer from 0 to 1000"


def later(client, ms, agent):
    return client.request("GET", f"/later?ms={ms}", headers=[("User-Agent", agent)])


def test_concurrent_deferred_answers_each_name_their_own_request():
    clients, rounds = 50, 3
    rng = random.Random(21)
    plans = [[(rng.randrange(0, 301), f"later-{i}-{r}-{rng.getrandbits(32):08x}") for r in range(rounds)] for i in range(clients)]
    start = threading.Barrier(clients, timeout=10)
    answers = [[] for _ in range(clients)]
    errors = []

    def run(i):
        try:
            with Client() as c:
                start.wait()
                for ms, agent in plans[i]:
                    r = later(c, ms, agent)
                    answers[i].append((r.status, r.header("content-type"), r.body))
        except Exception as e:  # reported below, with the client it happened to
            errors.append(f"client {i}: {e!r}")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert not any(t.is_alive() for t in threads), "a client did not finish in 20 s"
    assert errors == []
    wrong = []
    for i in range(clients):
        expected = [(200, "text/plain; charset=utf-8", f"path=/later ua={agent}".encode()) for _, agent in plans[i]]
        if answers[i] != expected:
            wrong.append((i, answers[i], expected))
    assert wrong == [], f"{len(wrong)} of {clients} clients got an answer that is not theirs: {wrong[:3]}"


def test_answer_comes_after_the_delay_and_names_the_request():
    with Client() as c:
        t0 = time.monotonic()
        r = later(c, 300, "patient")
        elapsed = time.monotonic() - t0
    assert r.status == 200
    assert r.body == b"path=/later ua=patient"
    assert 0.28 <= elapsed < 3, f"answered after {elapsed:.3f} s"


def test_bounds_are_inclusive():
    with Client() as c:
        assert later(c, 0, "zero").body == b"path=/later ua=zero"
        t0 = time.monotonic()
        assert later(c, 1000, "max").body == b"path=/later ua=max"
        assert time.monotonic() - t0 >= 0.98


@pytest.mark.parametrize("query", ["", "?ms=", "?ms=abc", "?ms=-1", "?ms=1001", "?ms=1.5", "?ms=99999999999999999999999"])
def test_a_delay_that_is_not_an_integer_from_0_to_1000_is_a_400_that_says_so(query):
    with Client() as c:
        r = c.request("GET", f"/later{query}")
        assert r.status == 400
        assert BAD_MS in r.body
        # The connection stays usable.
        assert later(c, 0, "after-400").body == b"path=/later ua=after-400"


def test_without_a_user_agent_the_answer_names_none():
    with Client() as c:
        r = c.request("GET", "/later?ms=5")
    assert r.body == b"path=/later ua="
