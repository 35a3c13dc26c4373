#!/usr/bin/env python3
"""Brings the reports of the latest named runs into the documentation, by program, never by hand.

    python3 Benchmarks/docs.py            # after `swift run -c release --package-path Benchmarks bench ...`

1. Every report the run wrote (`Benchmarks/results/<scenario>.md`) replaces its scenario's section
   of BENCHMARKS.md (`## <scenario>` to the next `## `), verbatim, and its chart is copied to
   `docs/bench/`. A scenario the run did not measure keeps the section of the run that did.
2. README.md's performance table (between `<!-- perf-table:begin -->` and `<!-- perf-table:end -->`)
   is rebuilt from BENCHMARKS.md's sections: each figure is read from a report's table, and each row
   names the run it came from (the report's timestamp). A figure a report does not have is "-".

Standard library only; reads and writes files under the repository root, nothing else.
"""
import os
import re
import shutil
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "Benchmarks", "results")
BENCHMARKS_MD = os.path.join(ROOT, "BENCHMARKS.md")
README = os.path.join(ROOT, "README.md")
CHARTS = os.path.join(ROOT, "docs", "bench")
BEGIN, END = "<!-- perf-table:begin -->", "<!-- perf-table:end -->"

C, NIO, HB = "C epoll (ceiling)", "SwiftNIO (1 thread)", "Hummingbird 2 (1 loop thread)"
REACTOR, ASYNC = "reactor", "reactor async"

# README rows: (label, section, which table (a column it has), row filter, {column of the README:
# (server, template)}). A template names the report's columns in braces.
ROWS = [
    ("TCP echo, 64 conns x 8 in flight, 32 B", "tcp-echo", "msgs/s", {},
     {REACTOR: "{msgs/s} msgs/s, {CPU ns/msg} ns CPU/msg, {allocs/msg} allocs", C: "{msgs/s} msgs/s, {CPU ns/msg} ns"}),
    ("HTTP `GET /plaintext`, wrk 64 conns", "http-plaintext", "requests/s", {"load": "no pipelining"},
     {REACTOR: "{requests/s} req/s, {CPU ns/request} ns CPU/req, {allocs/request} allocs",
      ASYNC: "{requests/s} req/s, {CPU ns/request} ns, {allocs/request} allocs",
      C: "{requests/s} req/s, {CPU ns/request} ns", NIO: "{requests/s} req/s, {CPU ns/request} ns",
      HB: "{requests/s} req/s, {CPU ns/request} ns"}),
    ("HTTP, 16-deep pipelining", "http-plaintext", "requests/s", {"load": "16-deep pipelining"},
     {REACTOR: "{requests/s} req/s, {CPU ns/request} ns CPU/req, {allocs/request} allocs",
      ASYNC: "{requests/s} req/s, {CPU ns/request} ns, {allocs/request} allocs",
      C: "{requests/s} req/s, {CPU ns/request} ns", NIO: "{requests/s} req/s, {CPU ns/request} ns",
      HB: "{requests/s} req/s, {CPU ns/request} ns"}),
    ("WebSocket echo, 64 conns x 16 in flight, 32 B", "websocket-echo", "msgs/s", {"load": "32 B*"},
     {REACTOR: "{CPU ns/msg} ns CPU/msg, {allocs/msg} allocs", ASYNC: "{CPU ns/msg} ns, {allocs/msg} allocs",
      C: "{CPU ns/msg} ns", NIO: "{CPU ns/msg} ns", HB: "{CPU ns/msg} ns"}),
    ("WebSocket echo, 16 conns x 4 in flight, 16 KiB", "websocket-echo", "msgs/s", {"load": "16 KiB*"},
     {REACTOR: "{CPU ns/msg} ns CPU/msg, {allocs/msg} allocs", ASYNC: "{CPU ns/msg} ns, {allocs/msg} allocs",
      C: "{CPU ns/msg} ns", NIO: "{CPU ns/msg} ns", HB: "{CPU ns/msg} ns"}),
    ("WebSocket round trip, 1 connection, p99", "websocket-echo", "round trips/s", {},
     {REACTOR: "{p99 us} us", C: "{p99 us} us", NIO: "{p99 us} us"}),
    ("RSS per idle WebSocket connection (10,000)", "idle-memory", "bytes/conn", {"connections": "10,000"},
     {REACTOR: "{bytes/conn} bytes", ASYNC: "{bytes/conn} bytes", C: "{bytes/conn} bytes",
      NIO: "{bytes/conn} bytes", HB: "{bytes/conn} bytes"}),
    ("Broadcast, 1 publisher -> 10,000 WebSocket subscribers, 32 B", "broadcast", "RSS B/idle sub", {"subscribers": "WebSocket"},
     {REACTOR: "{deliveries/s} deliveries/s, {CPU ns/delivery} ns CPU/delivery", NIO: "{deliveries/s} deliveries/s, {CPU ns/delivery} ns"}),
    ("Broadcast -> 10,000 SSE subscribers", "broadcast", "RSS B/idle sub", {"subscribers": "SSE"},
     {REACTOR: "{deliveries/s} deliveries/s, {CPU ns/delivery} ns", NIO: "{deliveries/s} deliveries/s, {CPU ns/delivery} ns"}),
    ("RSS per idle broadcast subscriber (10,000), WebSocket / SSE", "broadcast", "RSS B/idle sub", {},
     {REACTOR: "{RSS B/idle sub} bytes", NIO: "{RSS B/idle sub} bytes"}),
    ("Socket.IO, 1,000 clients in a room, flat out", "socketio-broadcast", "Socket.IO deliveries/s", {"load": "flat out*"},
     {REACTOR: "{Socket.IO deliveries/s} deliveries/s, {CPU ns/delivery} ns CPU/delivery (raw WebSocket: {raw WS deliveries/s}, {CPU ns/delivery #2} ns)"}),
    ("Socket.IO set-up p50, websocket only / polling then upgrade", "socketio-broadcast", "kind", {},
     {REACTOR: "{p50 us} us"}),
    # The tls report names its servers itself: which of its rows stands in each README column.
    ("TLS WebSocket echo, 64 conns x 16 in flight, 32 B", "tls", "per second", {"load": "WebSocket echo, 32 B x 64*"},
     {REACTOR: "{server CPU ns/item} ns CPU/msg, {allocs/item} allocs", NIO: "{server CPU ns/item} ns, {allocs/item} allocs"},
     {REACTOR: "reactor TLS", NIO: "SwiftNIO + NIOSSL (1 thread)"}),
    ("HTTPS `GET /plaintext`, 16-deep pipelining", "tls", "per second", {"load": "HTTP GET /plaintext, 16-deep*"},
     {REACTOR: "{per second} req/s, {server CPU ns/item} ns CPU/req", NIO: "{per second} req/s, {server CPU ns/item} ns"},
     {REACTOR: "reactor TLS", NIO: "SwiftNIO + NIOSSL (1 thread)"}),
    ("TLS handshakes, full, ECDSA P-256", "tls", "handshakes/s", {"handshake": "full, ECDSA P-256"},
     {REACTOR: "{handshakes/s}/s, {server CPU us/handshake} us CPU", NIO: "{handshakes/s}/s, {server CPU us/handshake} us CPU"},
     {REACTOR: "reactor TLS", NIO: "SwiftNIO + NIOSSL (1 thread)"}),
    ("RSS per idle TLS WebSocket connection (10,000)", "tls", "bytes/conn", {"connections": "10,000"},
     {REACTOR: "{bytes/conn} bytes", NIO: "{bytes/conn} bytes"},
     {REACTOR: "reactor TLS", NIO: "SwiftNIO + NIOSSL (1 thread)"}),
]
SERVERS = [REACTOR, ASYNC, C, NIO, HB]


def sections(text):
    """BENCHMARKS.md's `## name` sections: name -> (start, end) offsets."""
    marks = [(m.group(1), m.start()) for m in re.finditer(r"^## (\S+)", text, re.M)]
    out = {}
    for i, (name, start) in enumerate(marks):
        out[name] = (start, marks[i + 1][1] if i + 1 < len(marks) else len(text))
    return out


def tables(section_text):
    """The markdown tables of a section, each a list of {header: cell} rows."""
    found, lines, i = [], section_text.splitlines(), 0
    while i < len(lines):
        if lines[i].startswith("| ") and i + 1 < len(lines) and lines[i + 1].startswith("| :--"):
            header = []
            for c in (c.strip() for c in lines[i].strip().strip("|").split("|")):
                # A repeated header (two servers' columns side by side) is told apart: "x #2".
                header.append(c if c not in header else "%s #%d" % (c, header.count(c) + 1))
            rows, i = [], i + 2
            while i < len(lines) and lines[i].startswith("| "):
                cells = [c.strip() for c in lines[i].strip().strip("|").split("|")]
                rows.append(dict(zip(header, cells)))
                i += 1
            found.append(rows)
        else:
            i += 1
    return found


def matches(row, wanted):
    for key, value in wanted.items():
        cell = row.get(key, "")
        if value.endswith("*") and not cell.startswith(value[:-1]):
            return False
        if not value.endswith("*") and cell != value:
            return False
    return True


def sync_sections():
    if not os.path.isdir(RESULTS):
        return []
    text = open(BENCHMARKS_MD).read()
    replaced = []
    for name in sorted(os.listdir(RESULTS)):
        if not name.endswith(".md"):
            continue
        scenario = name[:-3]
        report = open(os.path.join(RESULTS, name)).read().rstrip() + "\n\n"
        report = report.replace("](%s.svg)" % scenario, "](docs/bench/%s.svg)" % scenario)
        spans = sections(text)
        if scenario in spans:
            start, end = spans[scenario]
            text = text[:start] + report + text[end:]
        else:
            text = text.rstrip() + "\n\n" + report
        svg = os.path.join(RESULTS, scenario + ".svg")
        if os.path.exists(svg):
            os.makedirs(CHARTS, exist_ok=True)
            shutil.copyfile(svg, os.path.join(CHARTS, scenario + ".svg"))
        replaced.append(scenario)
    open(BENCHMARKS_MD, "w").write(text)
    return replaced


def readme_table():
    text = open(BENCHMARKS_MD).read()
    spans = sections(text)
    out = ["| scenario | " + " | ".join(SERVERS) + " | run |", "| --- |" + " --- |" * (len(SERVERS) + 1)]
    for label, section, needs, wanted, cells, *named in ROWS:
        names = named[0] if named else {}
        if section not in spans:
            continue
        body = text[spans[section][0]:spans[section][1]]
        stamp = re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", body)
        table = next((t for t in tables(body) if t and needs in t[0]), [])
        rows = [r for r in table if matches(r, wanted)]
        figures = []
        for server in SERVERS:
            # A report without a server column measures the reactor alone.
            picked = [r for r in rows if r.get("server", REACTOR) == names.get(server, server)]
            if server not in cells or not picked:
                figures.append("-")
                continue
            figures.append(" / ".join(re.sub(r"\{([^}]+)\}", lambda m: r.get(m.group(1), "?"), cells[server]) for r in picked))
        if all(f == "-" for f in figures):
            continue
        run = "[%s](BENCHMARKS.md#%s)" % (stamp.group(0) if stamp else "undated", section)
        out.append("| %s | %s | %s |" % (label, " | ".join(figures), run))
    return "\n".join(out)


def main():
    replaced = sync_sections()
    readme = open(README).read()
    if BEGIN not in readme or END not in readme:
        sys.exit("README.md has no %s ... %s markers" % (BEGIN, END))
    head, rest = readme.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    open(README, "w").write(head + BEGIN + "\n" + readme_table() + "\n" + END + tail)
    print("docs.py: BENCHMARKS.md sections from this run: %s; README table rebuilt" % (", ".join(replaced) or "none"))


if __name__ == "__main__":
    main()
