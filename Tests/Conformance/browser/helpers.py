"""Shared by the browser tests: the echo server process, waiting, screenshots, and the page's
own handles (`window.demo`) read through selenium."""
import os
import signal
import socket
import subprocess
import time
import urllib.request

ECHO_BIN = os.environ["REACTOR_ECHO_BIN"]
ARTIFACTS = os.environ.get("REACTOR_BROWSER_ARTIFACTS") or os.path.join(
    os.environ.get("TMPDIR", "/tmp"), "reactor-browser-artifacts", "manual")
os.makedirs(ARTIFACTS, exist_ok=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def port_accepts(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def wait_until(predicate, timeout, what, interval=0.05):
    """Polls `predicate` until it returns something truthy, which it returns; fails naming `what`."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")


class EchoServer:
    """One echo process on a fixed port, with its output in files under the artifacts dir."""

    def __init__(self, port, name, args=()):
        self.port = port
        self.name = name
        self.args = list(args)
        self.proc = None
        self.starts = 0
        self.stdout_path = self.stderr_path = None

    @property
    def http(self):
        return f"http://localhost:{self.port}"

    def start(self, timeout=15):
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.starts += 1
        base = os.path.join(ARTIFACTS, f"server-{self.name}-{self.starts}")
        self.stdout_path, self.stderr_path = base + ".stdout.log", base + ".stderr.log"
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen([ECHO_BIN, "--port", str(self.port), *self.args],
                                         stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        wait_until(lambda: self.proc.poll() is not None or
                   (f":{self.port}" in self.stdout() and port_accepts(self.port)), timeout, f"echo on port {self.port}")
        assert self.proc.poll() is None, f"echo exited with {self.proc.returncode}: {self.stderr()}"
        return self

    def stdout(self):
        with open(self.stdout_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def stderr(self):
        with open(self.stderr_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def kill(self, sig=signal.SIGKILL):
        """SIGKILL: the server vanishes as in a crash (no close frames); SIGTERM: graceful."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)

    def restart(self):
        self.kill()
        return self.start()

    def get(self, path, data=None, timeout=5):
        req = urllib.request.Request(self.http + path, data=data, method="POST" if data is not None else "GET")
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers, r.read()


def screenshot(driver, name):
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    path = os.path.join(ARTIFACTS, safe + ".png")
    driver.save_screenshot(path)
    return path


# --- the page, through its ids and window.demo ------------------------------------------------

def open_page(driver, server, room=None, transport=None, wait_connected=True):
    query = []
    if room:
        query.append(f"room={room}")
    if transport:
        query.append(f"transport={transport}")
    driver.get(server.http + "/" + ("?" + "&".join(query) if query else ""))
    if wait_connected:
        wait_chat(driver, "connected", 15)


def chat_state(driver):
    return driver.execute_script("return window.demo.chat.state()")


def wait_chat(driver, status, timeout=15):
    """Waits for the chat's status chip (`data-state`) to read `status`; returns the state."""
    return wait_until(lambda: (lambda s: s if s["status"] == status else None)(chat_state(driver)),
                      timeout, f"chat status {status}")


def send_chat(driver, text):
    """Types `text` into the chat's input and presses Send, as a user would."""
    from selenium.webdriver.common.by import By
    box = driver.find_element(By.ID, "chat-input")
    box.send_keys(text)
    driver.find_element(By.ID, "chat-send").click()
    wait_until(lambda: box.get_attribute("value") == "", 5, "the chat input to clear")


def wait_texts(driver, texts, timeout=15):
    """Waits until the chat shows every text in `texts` (in its current history); returns them."""
    want = set(texts)
    return wait_until(lambda: (lambda m: m if want <= {x["text"] for x in m} else None)(chat_state(driver)["messages"]),
                      timeout, f"messages {sorted(want)}")


def assert_clean_history(messages):
    """Ids unique and increasing, in the order shown."""
    ids = [m["id"] for m in messages]
    assert ids == sorted(set(ids)), f"duplicated or out-of-order ids: {ids}"
