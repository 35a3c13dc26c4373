"""Namespace middlewares and the handshake they see, through the demo: with `--sio-token T` an
async middleware of each namespace lets in only clients whose auth is `{token: T}`, and refuses
the others with the reference's connect error (message and data, as python-socketio's
`connect_error` handler receives them); `handshake` acks the request that opened the session."""
import pytest
import socketio

from support import URL, Server, connect

TOKEN = "s3cret"


@pytest.fixture(scope="module")
def guarded():
    with Server("--sio-token", TOKEN, "--ping-interval", "1000", "--ping-timeout", "1000") as server:
        yield server


def refusal(url, auth, namespace="/"):
    """Connects with `auth` and returns what `connect_error` received."""
    client = socketio.Client(reconnection=False, request_timeout=5)
    errors = []
    client.on("connect_error", lambda data: errors.append(data), namespace=namespace)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(url, namespaces=[namespace], auth=auth, transports=["polling"], wait_timeout=5)
    client.disconnect()
    assert len(errors) == 1, errors
    return errors[0]


@pytest.mark.parametrize("namespace", ["/", "/chat"])
def test_a_wrong_token_gets_the_connect_error_with_message_and_data(guarded, namespace):
    error = refusal(guarded.url, {"token": "wrong"}, namespace)
    assert error == {"message": "unauthorized", "data": {"reason": "auth.token wrong"}}


def test_no_token_gets_the_connect_error_saying_so(guarded):
    error = refusal(guarded.url, None)
    assert error == {"message": "unauthorized", "data": {"reason": "auth.token missing"}}


@pytest.mark.parametrize("transports", [("polling",), ("websocket",)])
def test_the_right_token_connects(guarded, transports):
    client, recorder = connect(transports=transports, auth={"token": TOKEN}, url=guarded.url)
    try:
        assert recorder.wait("auth")[0] == ({"token": TOKEN},)
        assert client.call("echo", "hi", timeout=5) == "hi"
    finally:
        client.disconnect()


@pytest.mark.parametrize("transports", [("polling",), ("websocket",)])
def test_handlers_see_the_handshake_request(transports):
    client = socketio.Client(reconnection=False, request_timeout=5)
    client.connect(URL + "/?user=a%20b&n=1", transports=list(transports), wait_timeout=5,
                   headers={"Cookie": "theme=dark; session=xyz", "X-Test": "one"})
    try:
        h = client.call("handshake", timeout=5)
        assert h["url"].startswith("/socket.io/?"), h
        assert h["query"]["user"] == "a b" and h["query"]["n"] == "1", h
        assert h["query"]["EIO"] == "4" and h["query"]["transport"] == transports[0], h
        assert h["headers"]["cookie"] == "theme=dark; session=xyz", h
        assert h["headers"]["x-test"] == "one", h
        assert h["secure"] is False
        assert h["address"] == "127.0.0.1"
        assert h["issued"] > 1_700_000_000_000
    finally:
        client.disconnect()
