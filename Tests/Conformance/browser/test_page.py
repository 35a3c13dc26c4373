"""The page at GET /, the notes' browser snippets run on it, the Echo and Server counters panels,
and /metrics as a Prometheus client library parses it."""
import re
import time
import uuid

from prometheus_client.parser import text_string_to_metric_families
from selenium.webdriver.common.by import By
from websocket import create_connection

from helpers import open_page, screenshot, wait_until


def test_the_page_needs_nothing_but_the_server(server):
    """GET / answers HTML whose style sheet and script are served by the binary itself (same-origin
    paths that answer with the right types); nothing comes from another host (no CDN). The markup
    stays small: clients pipeline GET / by the thousand (the HTTP conformance suite does)."""
    status, headers, body = server.get("/")
    text = body.decode()
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert len(body) < 16 * 1024, f"GET / is {len(body)} bytes"
    external = re.findall(r'(?:src|href)="((?:[a-z]+:)?//[^"]*)"', text)
    assert external == [], f"resources from elsewhere: {external}"
    assets = re.findall(r'<(?:script[^>]+src|link[^>]+href)="(/[^"]+)"', text)
    assert sorted(assets) == ["/assets/page.css", "/assets/page.js"], assets
    for path, kind in (("/assets/page.css", "text/css"), ("/assets/page.js", "text/javascript")):
        status, headers, body = server.get(path)
        assert status == 200 and headers["Content-Type"].startswith(kind) and len(body) > 1000, path


def test_the_notes_snippets_work_unchanged(server, browsers):
    """The notes' snippets run in the page's console: `new WebSocket('ws://localhost:PORT/echo')`
    (and the notes' bare `ws://localhost:PORT`) echo the notes' own message back, and
    `new EventSource('/events')` receives a message sent to the default room. The notes say 8000;
    the suite runs the server there when the port is free and substitutes the real port otherwise."""
    d = browsers()
    open_page(d, server)
    for url in (f"ws://localhost:{server.port}/echo", f"ws://localhost:{server.port}"):
        got = d.execute_async_script("""
            const done = arguments[arguments.length - 1];
            const socket = new WebSocket(arguments[0]);
            socket.onopen = (event) => { socket.send("hi hi connectd me "); };
            socket.onmessage = (event) => { done(event.data); socket.close(); };
            socket.onerror = () => done('error');
        """, url)
        assert got == "hi hi connectd me ", url

    marker = "from the notes " + uuid.uuid4().hex[:6]
    got = d.execute_async_script("""
        const [marker, done] = [arguments[0], arguments[arguments.length - 1]];
        const events = new EventSource('/events');
        events.onopen = () => fetch('/send', { method: 'POST', body: marker });
        events.onmessage = (e) => { if (e.data === marker) { done({ id: e.lastEventId, data: e.data }); events.close(); } };
        setTimeout(() => done('timeout'), 10000);
    """, marker)
    assert isinstance(got, dict) and got["data"] == marker and int(got["id"]) >= 1, got


def test_echo_panel_round_trip(server, browsers):
    """Typing in the Echo panel and pressing Send shows the same text back with a measured
    latency, and the round-trip counter moves."""
    d = browsers()
    open_page(d, server)
    wait_until(lambda: d.find_element(By.ID, "echo-status").get_attribute("data-state") == "connected", 10, "echo connected")
    for text in ("hello, reactor", "ünïcödé ✓ 🚀"):
        before = int(d.find_element(By.ID, "echo-count").text)
        d.find_element(By.ID, "echo-input").send_keys(text)
        d.find_element(By.ID, "echo-send").click()
        entry = wait_until(lambda: (lambda e: e if e and e[0].find_element(By.CLASS_NAME, "text").text == text else None)(
            d.find_elements(By.CSS_SELECTOR, "#echo-log li")), 10, f"the echo of {text!r}")[0]
        rtt = float(entry.get_attribute("data-rtt-ms"))
        assert 0 <= rtt < 5000
        assert int(d.find_element(By.ID, "echo-count").text) == before + 1
    screenshot(d, "echo-panel")


def test_counters_panel_follows_the_server(server, browsers):
    """The Server counters panel polls /metrics: it shows live numbers, and an echo round trip
    made on the page shows up in "messages in" within a few polls."""
    d = browsers()
    open_page(d, server)
    wait_until(lambda: d.find_element(By.ID, "counters-status").get_attribute("data-state") == "connected", 10, "counters live")
    before = int(d.find_element(By.ID, "m-messages-in").text.replace(" ", "") or 0)
    d.find_element(By.ID, "echo-input").send_keys("count me")
    d.find_element(By.ID, "echo-send").click()
    wait_until(lambda: int(d.find_element(By.ID, "m-messages-in").text) > before, 5, "messages in to grow")
    assert int(d.find_element(By.ID, "m-connections").text) >= 2  # at least this page's echo and chat
    assert "WS echo" in d.find_element(By.ID, "m-by-transport").text
    assert d.find_element(By.ID, "m-iteration").text.startswith("≤")
    screenshot(d, "page-overview")


def test_metrics_parse_as_prometheus_text(server):
    """GET /metrics is the Prometheus text format as prometheus_client parses it: the families
    the issue asks for, with their types; connections and messages by transport; a consistent
    histogram of loop iteration time (cumulative buckets, +Inf equal to _count, bounds in seconds);
    and counters that move with traffic sent here (an echo, a POST /send, a poll)."""
    def scrape():
        status, headers, body = server.get("/metrics")
        assert status == 200 and headers["Content-Type"].startswith("text/plain")
        return {f.name: f for f in text_string_to_metric_families(body.decode())}

    def value(families, name, **labels):
        for s in families[name].samples:
            if s.name in (name, name + "_total") and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
        raise AssertionError(f"no sample {name} {labels}")

    first = scrape()
    expected = {
        "reactor_connections": "gauge", "reactor_connections_opened": "counter",
        "reactor_messages_received": "counter", "reactor_messages_sent": "counter",
        "reactor_received_bytes": "counter", "reactor_sent_bytes": "counter",
        "reactor_broadcasts": "counter", "reactor_broadcast_deliveries": "counter",
        "reactor_broadcast_encodings": "counter", "reactor_pending_write_bytes": "gauge",
        "reactor_timers_armed": "gauge", "reactor_loop_iteration_seconds": "histogram",
        "process_start_time_seconds": "gauge",
    }
    for name, kind in expected.items():
        assert name in first, f"missing {name}"
        assert first[name].type == kind, f"{name} is {first[name].type}, not {kind}"
    transports = {s.labels["transport"] for s in first["reactor_connections"].samples}
    assert {"websocket_echo", "websocket_chat", "sse", "long_poll", "http"} <= transports

    ws = create_connection(f"ws://127.0.0.1:{server.port}/echo", timeout=5)
    ws.send("metric me")
    assert ws.recv() == "metric me"
    room = "metrics-" + uuid.uuid4().hex[:6]
    server.get(f"/send?room={room}", data=b"hello")
    server.get(f"/messages?room={room}&cursor=0")
    during = scrape()
    assert value(during, "reactor_connections", transport="websocket_echo") >= 1
    ws.close()

    assert value(during, "reactor_messages_received", transport="websocket_echo") >= value(first, "reactor_messages_received", transport="websocket_echo") + 1
    assert value(during, "reactor_messages_sent", transport="websocket_echo") >= value(first, "reactor_messages_sent", transport="websocket_echo") + 1
    assert value(during, "reactor_messages_received", transport="http_send") >= value(first, "reactor_messages_received", transport="http_send") + 1
    assert value(during, "reactor_messages_sent", transport="polling") >= value(first, "reactor_messages_sent", transport="polling") + 1
    assert value(during, "reactor_broadcasts") >= value(first, "reactor_broadcasts") + 1
    assert value(during, "reactor_received_bytes") > value(first, "reactor_received_bytes")
    assert value(during, "reactor_sent_bytes") > value(first, "reactor_sent_bytes")
    assert value(during, "reactor_pending_write_bytes") >= 0
    assert value(during, "reactor_timers_armed") >= 1  # at least the HTTP date timer

    hist = during["reactor_loop_iteration_seconds"].samples
    buckets = [(s.labels["le"], s.value) for s in hist if s.name.endswith("_bucket")]
    count = next(s.value for s in hist if s.name.endswith("_count"))
    total = next(s.value for s in hist if s.name.endswith("_sum"))
    bounds = [float(le) for le, _ in buckets]
    assert bounds == sorted(bounds) and bounds[0] == 1e-6 and bounds[-1] == float("inf")
    values = [v for _, v in buckets]
    assert values == sorted(values), "buckets must be cumulative"
    assert values[-1] == count > 0 and total > 0
    assert abs(during["process_start_time_seconds"].samples[0].value - time.time()) < 24 * 3600


def test_the_page_fits_a_phone_screen(server, browsers):
    """At 390 px wide (a phone) nothing overflows sideways and the panels stack, chat included."""
    d = browsers()
    d.set_window_size(390, 844)
    open_page(d, server)
    width = d.execute_script("return document.documentElement.clientWidth")
    assert d.execute_script("return document.documentElement.scrollWidth") <= width
    for panel in ("echo-panel", "chat-panel", "counters-panel"):
        rect = d.find_element(By.ID, panel).rect
        assert rect["x"] >= 0 and rect["x"] + rect["width"] <= width, panel
    screenshot(d, "page-phone")
