"""The chat panel in real browsers: two tabs (two headless Chromium instances) in one room on
different transports, transports chosen by hand and by "auto" fallback, and resume after a
connection breaks while the server stays up. The restart of the server itself is in
test_restart.py (it runs last: it replaces the shared server)."""
import uuid

import pytest

from helpers import (assert_clean_history, chat_state, open_page, screenshot, send_chat, wait_chat,
                     wait_texts, wait_until)


def room():
    return "room-" + uuid.uuid4().hex[:8]


def test_two_tabs_on_websocket_and_sse_see_each_other(server, browsers):
    """Tab A on WebSocket and tab B on SSE + POST (both picked by hand) in one room: what each
    sends, the other shows, with the same ids in both, each message once, and the transport badge
    names the transport in use."""
    r = room()
    a, b = browsers(), browsers()
    open_page(a, server, r, "websocket")
    open_page(b, server, r, "sse")
    assert chat_state(a)["kind"] == "websocket" and chat_state(b)["kind"] == "sse"
    assert a.find_element("id", "chat-transport").text == "WebSocket"
    assert b.find_element("id", "chat-transport").text == "SSE + POST"

    send_chat(a, "hello from A (WebSocket)")
    wait_texts(b, ["hello from A (WebSocket)"])
    send_chat(b, "hello from B (SSE + POST)")
    wait_texts(a, ["hello from A (WebSocket)", "hello from B (SSE + POST)"])
    for i in range(3):
        send_chat(a if i % 2 else b, f"ping {i}")
    wanted = ["hello from A (WebSocket)", "hello from B (SSE + POST)", "ping 0", "ping 1", "ping 2"]
    ma, mb = wait_texts(a, wanted), wait_texts(b, wanted)
    assert ma == mb, "both tabs show the same messages with the same ids"
    assert [m["id"] for m in ma] == [1, 2, 3, 4, 5]
    screenshot(a, "two-tabs-A-websocket")
    screenshot(b, "two-tabs-B-sse")


@pytest.mark.parametrize("victim", ["websocket", "sse", "longpoll"])
def test_a_broken_connection_resumes_without_loss(server, browsers, victim):
    """Server up throughout. Tab A's transport (`victim`) is broken from the page
    (`demo.chat.dropConnection(60000)`: closes it as a network failure would and holds the page's
    reconnection until `demo.chat.release()`). While A is verifiably not connected, tab B sends
    three messages. Once released, A reconnects by itself and shows exactly B's history: every
    message, once, same ids, in order (WebSocket resumes with `after=<last id>`, SSE with
    `lastEventId`, long polling with its cursor)."""
    r = room()
    a, b = browsers(), browsers()
    other = "sse" if victim == "websocket" else "websocket"
    open_page(a, server, r, victim)
    open_page(b, server, r, other)
    send_chat(b, "before the break")
    wait_texts(a, ["before the break"])

    a.execute_script("window.demo.chat.dropConnection(60000)")
    wait_until(lambda: chat_state(a)["status"] != "connected", 3, "A to notice the break")
    during = [f"while A was away {i}" for i in range(3)]
    for text in during:
        send_chat(b, text)
    wait_texts(b, during)
    assert chat_state(a)["status"] != "connected", "the messages must be sent while A is disconnected"
    assert not {m["text"] for m in chat_state(a)["messages"]} & set(during)

    a.execute_script("window.demo.chat.release()")
    state = wait_chat(a, "connected", 15)
    assert state["reconnects"] >= 1
    ma = wait_texts(a, during)
    mb = chat_state(b)["messages"]
    assert_clean_history(ma)
    assert ma == mb, f"A after resume: {ma}\nB: {mb}"
    screenshot(a, f"resume-{victim}-A")


def test_transport_switched_by_hand_keeps_the_history(server, browsers):
    """One tab switches WebSocket -> SSE -> long polling -> WebSocket with the radio buttons while
    another tab keeps sending: the badge follows the choice, every message arrives once, in id order."""
    r = room()
    a, b = browsers(), browsers()
    open_page(a, server, r, "auto")
    open_page(b, server, r, "websocket")
    assert chat_state(a)["kind"] == "websocket", "auto starts with WebSocket"
    sent = []
    for kind in ("sse", "longpoll", "websocket"):
        a.find_element("id", f"transport-{kind}").click()
        wait_until(lambda: chat_state(a)["kind"] == kind and chat_state(a)["status"] == "connected", 10, f"A on {kind}")
        badge = a.find_element("id", "chat-transport")
        assert badge.get_attribute("data-transport") == kind
        text = f"to A on {kind}"
        send_chat(b, text)
        sent.append(text)
        send_chat(a, f"from A on {kind}")
        sent.append(f"from A on {kind}")
        wait_texts(a, sent)
        if kind == "longpoll":
            screenshot(a, "switch-longpoll")
    ma = wait_texts(a, sent)
    assert_clean_history(ma)
    assert ma == wait_texts(b, sent)


NO_WEBSOCKET = "delete window.WebSocket;"
NO_EVENTSOURCE = "delete window.EventSource;"
# A WebSocket that never opens, as behind a proxy that refuses upgrades: plain HTTP still works.
BLOCKED_WEBSOCKET = """
window.WebSocket = class {
  constructor(url) {
    this.url = url;
    this.readyState = 0;
    setTimeout(() => { this.readyState = 3; if (this.onclose) this.onclose({ code: 1006, reason: '' }); }, 30);
  }
  send() { throw new Error('not open'); }
  close() { this.readyState = 3; }
};
window.WebSocket.OPEN = 1;
"""


@pytest.mark.parametrize("removed, expected", [
    (NO_WEBSOCKET, "sse"),
    (NO_WEBSOCKET + NO_EVENTSOURCE, "longpoll"),
    (BLOCKED_WEBSOCKET, "sse"),
], ids=["without-websocket", "without-websocket-and-eventsource", "websocket-blocked"])
def test_auto_falls_back_when_a_transport_is_missing(server, browsers, removed, expected):
    """In "auto", a browser without WebSocket chats over SSE + POST, and one without EventSource
    too over long polling; a WebSocket that never opens while the server answers plain HTTP
    (a proxy that blocks upgrades) is given up after two tries, for SSE + POST, and the page says
    so. In each case messages flow both ways with a tab on WebSocket."""
    r = room()
    a = browsers(init_script=removed)
    b = browsers()
    open_page(a, server, r, "auto")
    open_page(b, server, r, "websocket")
    assert chat_state(a)["kind"] == expected
    if removed == BLOCKED_WEBSOCKET:
        assert "does not get through" in a.find_element("id", "chat-notice").text
    send_chat(a, f"from a tab on {expected}")
    send_chat(b, "from a tab on WebSocket")
    wanted = [f"from a tab on {expected}", "from a tab on WebSocket"]
    assert wait_texts(a, wanted) == wait_texts(b, wanted)
