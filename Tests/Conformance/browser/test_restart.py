"""The server is killed (SIGKILL, as in a crash) and started again on the same port, with two
tabs open. Named to run after the other page tests, since it replaces the shared server."""
import uuid

from selenium.webdriver.common.by import By

from helpers import (assert_clean_history, chat_state, open_page, screenshot, send_chat, wait_chat,
                     wait_texts, wait_until)


def test_pages_reconnect_by_themselves_after_a_server_restart(server, browsers):
    """Tab A (WebSocket) and tab B (SSE + POST) share a room. The server is killed: both show
    that they are not connected, and a message typed in B meanwhile waits in B's outbox. The
    server starts again (empty: its rooms are in memory). A's page is kept from reconnecting
    (`demo.chat.hold`, set before the kill) so that B, whose EventSource reconnects by itself, is
    back first and sends three messages while A is verifiably still disconnected; then A is let go
    (`demo.chat.release()`). Then:
    - both pages reconnect by themselves (status chips "connected"), echo panels included;
    - both notice the reset (a divider: the server's ids begin again) and keep nothing twice;
    - A shows every message the new server has, including the three sent while A was away and
      the one typed while the server was down, with the same ids as B;
    - and the two go on talking."""
    r = "restart-" + uuid.uuid4().hex[:6]
    a, b = browsers(), browsers()
    open_page(a, server, r, "websocket")
    open_page(b, server, r, "sse")
    send_chat(a, "before the crash")
    wait_texts(b, ["before the crash"])

    a.execute_script("window.demo.chat.hold(60000)")
    server.kill()
    for d in (a, b):
        wait_until(lambda: chat_state(d)["status"] != "connected", 5, "the page to notice the server is gone")
    send_chat(b, "typed while the server was down")
    wait_until(lambda: chat_state(b)["outbox"] == 1, 5, "the message to wait in the outbox")
    screenshot(b, "restart-1-server-down-B")

    server.start()
    wait_chat(b, "connected", 15)
    wait_until(lambda: chat_state(b)["outbox"] == 0, 10, "B's outbox to be sent")
    during = [f"while A was reconnecting {i}" for i in range(3)]
    for text in during:
        send_chat(b, text)
    wait_texts(b, during)
    assert chat_state(a)["status"] != "connected", "A must still be away when B sends"

    a.execute_script("window.demo.chat.release()")
    wait_chat(a, "connected", 15)
    wanted = ["typed while the server was down"] + during
    ma, mb = wait_texts(a, wanted), wait_texts(b, wanted)
    assert_clean_history(ma)
    assert ma == mb, f"A: {ma}\nB: {mb}"
    assert "before the crash" not in {m["text"] for m in ma}, "the new server's history starts empty"
    for d in (a, b):
        assert d.find_elements(By.CSS_SELECTOR, "#chat-messages li.divider"), "a reset divider"
        wait_until(lambda: d.find_element(By.ID, "echo-status").get_attribute("data-state") == "connected",
                   15, "the echo panel to reconnect")

    send_chat(a, "A is back")
    wait_texts(b, ["A is back"])
    assert wait_texts(a, ["A is back"]) == chat_state(b)["messages"]
    screenshot(a, "restart-2-after-A")
    screenshot(b, "restart-2-after-B")
