"""The local HTTP server of the sources tests listens on 127.0.0.1 (the fetcher's loopback tests
allow exactly that address)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def httpserver_listen_address() -> tuple[str, int]:
    return ("127.0.0.1", 0)
