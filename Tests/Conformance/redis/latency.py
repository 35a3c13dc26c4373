"""Publish-to-delivery latency of the chat, with and without the Redis hop.

    python latency.py --echo .build/release/echo [--redis-server redis-server] [-n 2000]

Starts its own redis-server (loopback, free port, no persistence) and echo processes, then, for
each setup, sends N messages one at a time as WebSocket text frames on /chat from one client and
times each until a second client (subscribed to the same room) receives it:

  local            one process without --redis: sender and receiver on it
  redis, 1 process one process with --redis: the message goes to Redis and back
  redis, 2 procs   sender on process A, receiver on process B, both with --redis

Prints p50/p90/p99/max in microseconds. The Python client's own cost is in every figure alike, so
the difference between rows is the Redis hop. Needs the `websockets` package (the suite's venv).
"""
import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from websockets.sync.client import connect


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_accepts(port, seconds=15):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing accepts on port {port}")


class Processes:
    def __init__(self):
        self.children = []
        self.dir = tempfile.mkdtemp(prefix="reactor-latency-")

    def start(self, args, port):
        log = open(os.path.join(self.dir, f"{port}.log"), "w")
        p = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        self.children.append(p)
        wait_accepts(port)
        return p

    def stop(self):
        for p in self.children:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.children:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def measure(sender_port, receiver_port, n, warmup=200):
    room = f"lat-{time.time_ns()}"
    with connect(f"ws://127.0.0.1:{sender_port}/chat?room={room}", compression=None) as sender, \
            connect(f"ws://127.0.0.1:{receiver_port}/chat?room={room}", compression=None) as receiver:
        # The sender is in the room too: drain what it gets back so it never stalls the server.
        stop = threading.Event()

        def drain():
            try:
                while not stop.is_set():
                    sender.recv(timeout=1)
            except TimeoutError:
                drain()
            except Exception:
                pass

        threading.Thread(target=drain, daemon=True).start()
        time.sleep(0.2)
        samples = []
        for i in range(warmup + n):
            text = str(i)
            start = time.perf_counter_ns()
            sender.send(text)
            while receiver.recv(timeout=10) != text:
                pass
            if i >= warmup:
                samples.append((time.perf_counter_ns() - start) / 1000)
        stop.set()
    return samples


def report(name, samples):
    s = sorted(samples)
    q = lambda p: s[min(len(s) - 1, int(p * len(s)))]
    print(f"{name:18} p50 {q(0.50):8.0f} us   p90 {q(0.90):8.0f} us   p99 {q(0.99):8.0f} us   "
          f"max {s[-1]:8.0f} us   mean {statistics.mean(s):8.0f} us   (n={len(s)})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--echo", required=True)
    ap.add_argument("--redis-server", default=shutil.which("redis-server") or "redis-server")
    ap.add_argument("-n", type=int, default=2000)
    args = ap.parse_args()
    procs = Processes()
    try:
        redis_port = free_port()
        procs.start([args.redis_server, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                     "--appendonly", "no", "--daemonize", "no"], redis_port)
        url = f"redis://127.0.0.1:{redis_port}"
        local, a, b = free_port(), free_port(), free_port()
        procs.start([args.echo, "--host", "127.0.0.1", "--port", str(local)], local)
        procs.start([args.echo, "--host", "127.0.0.1", "--port", str(a), "--redis", url], a)
        procs.start([args.echo, "--host", "127.0.0.1", "--port", str(b), "--redis", url], b)
        time.sleep(0.5)  # the relays connect
        report("local", measure(local, local, args.n))
        report("redis, 1 process", measure(a, a, args.n))
        report("redis, 2 procs", measure(a, b, args.n))
    finally:
        procs.stop()


if __name__ == "__main__":
    sys.exit(main())
