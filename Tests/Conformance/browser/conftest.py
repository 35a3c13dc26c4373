"""The browser suite's world: the echo server (started, killed and restarted here, since the
reconnect test needs the same port back), headless Chromium through selenium, and the artifacts
directory where screenshots and logs go.

Environment (set by browser.sh):
  REACTOR_ECHO_BIN            the echo executable
  REACTOR_BROWSER_ARTIFACTS   where screenshots, server logs and browser console logs are written
  REACTOR_BROWSER_PORT        port for the shared server (default 8000 when free, as in the notes)
"""
import json
import os
import signal

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from helpers import ARTIFACTS, EchoServer, free_port, port_is_free, screenshot

CHROMIUM = os.environ.get("REACTOR_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("REACTOR_CHROMEDRIVER", "/usr/bin/chromedriver")


@pytest.fixture(scope="session")
def server():
    wanted = os.environ.get("REACTOR_BROWSER_PORT")
    port = int(wanted) if wanted else (8000 if port_is_free(8000) else free_port())
    s = EchoServer(port, "shared").start()
    yield s
    s.kill(signal.SIGTERM)


# --- browsers -----------------------------------------------------------------------------------

def new_driver(init_script=None, extra_args=()):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,1100", "--disable-background-timer-throttling",
                "--disable-renderer-backgrounding", "--disable-backgrounding-occluded-windows",
                "--no-first-run", "--disable-extensions", *extra_args):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_script_timeout(20)
    driver.set_page_load_timeout(20)
    if init_script:
        # Runs before the page's own scripts: how a test takes WebSocket or EventSource away.
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": init_script})
    return driver


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.failed_call = report.failed
    return report


@pytest.fixture
def browsers(request):
    """A factory of headless Chromium drivers, all quit at the end of the test; when the test
    failed, each one's screenshot and console log are kept as artifacts."""
    made = []

    def make(init_script=None, extra_args=()):
        d = new_driver(init_script, extra_args)
        made.append(d)
        return d

    yield make
    failed = getattr(request.node, "failed_call", False)
    for i, d in enumerate(made):
        try:
            if failed:
                path = screenshot(d, f"{request.node.name}-FAILED-browser{i}")
                with open(path[:-len(".png")] + ".console.json", "w") as f:
                    json.dump(d.get_log("browser"), f, indent=1)
        finally:
            d.quit()
