import pytest

from support import HOST, server_port


@pytest.fixture(scope="session")
def port() -> int:
    return server_port()


@pytest.fixture(scope="session")
def base_url(port) -> str:
    return f"http://{HOST}:{port}"
