"""The page over https (`echo --tls-cert/--tls-key`) in headless Chromium that trusts the test
certificate, and only it (`--ignore-certificate-errors-spki-list` names its key): the page loads,
its WebSockets go over wss:// (echo panel, chat), and a browser without that trust refuses it."""
import base64
import hashlib
import subprocess

import pytest
from selenium.webdriver.common.by import By

from helpers import EchoServer, free_port, screenshot, wait_chat, wait_until


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    spki = subprocess.run(["openssl", "x509", "-in", str(cert), "-pubkey", "-noout"], check=True, capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=spki, check=True, capture_output=True).stdout
    pin = base64.b64encode(hashlib.sha256(der).digest()).decode()
    server = EchoServer(free_port(), "tls", ["--tls-cert", str(cert), "--tls-key", str(key)]).start()
    yield server, pin, d
    server.kill()


def trusting(browsers, pin, profile):
    return browsers(extra_args=(f"--ignore-certificate-errors-spki-list={pin}", f"--user-data-dir={profile}"))


def test_page_over_https_with_echo_and_chat_over_wss(tls_server, browsers):
    server, pin, d = tls_server
    driver = trusting(browsers, pin, d / "profile-ok")
    driver.get(f"https://localhost:{server.port}/?transport=websocket")
    assert driver.execute_script("return location.protocol") == "https:"
    wait_chat(driver, "connected", 15)
    wait_until(lambda: driver.find_element(By.ID, "echo-status").get_attribute("data-state") == "connected", 10,
               "echo connected over wss")
    driver.find_element(By.ID, "echo-input").send_keys("over wss")
    driver.find_element(By.ID, "echo-send").click()
    wait_until(lambda: (lambda e: e if e and e[0].find_element(By.CLASS_NAME, "text").text == "over wss" else None)(
        driver.find_elements(By.CSS_SELECTOR, "#echo-log li")), 10, "the echo over wss")
    # The page's own WebSocket URL is wss:// (it follows location.protocol).
    assert driver.execute_async_script("""
        const done = arguments[0];
        const ws = new WebSocket('wss://' + location.host + '/echo');
        ws.onmessage = (e) => { done(ws.url.startsWith('wss://') && e.data === 'ping over tls'); ws.close(); };
        ws.onopen = () => ws.send('ping over tls');
        ws.onerror = () => done(false);
    """)
    screenshot(driver, "tls-page")


def test_a_browser_without_the_trust_refuses_the_page(tls_server, browsers):
    server, _, d = tls_server
    driver = browsers(extra_args=(f"--user-data-dir={d / 'profile-untrusting'}",))
    driver.get(f"https://localhost:{server.port}/")
    assert not driver.find_elements(By.ID, "echo-status"), "the page loaded without trusting the certificate"
