"""Fixtures of the fetcher tests: a guard that keeps every connection on loopback, raw servers."""

from __future__ import annotations

import errno
import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from .servers import Handler, RawServer, RawServerFactory


@pytest.fixture(autouse=True)
def connect_log(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record every outgoing connect; refuse any that would leave loopback.

    A safety net as well as an assertion tool: a broken guard must fail a test, never send a
    packet to a private or public address. Every fetcher test runs with it.
    """
    attempts: list[Any] = []
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def check(address: Any) -> None:
        attempts.append(address)
        host = address[0] if isinstance(address, tuple) else ""
        try:
            loopback = ipaddress.ip_address(host.split("%")[0]).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise OSError(errno.ENETUNREACH, f"test guard: {host!r} is not loopback")

    def guarded_connect(self: socket.socket, address: Any) -> None:
        check(address)
        real_connect(self, address)

    def guarded_connect_ex(self: socket.socket, address: Any) -> int:
        check(address)
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect_ex)
    return attempts


@pytest.fixture
def raw_server() -> Iterator[RawServerFactory]:
    """Start RawServers for the test; all are closed at the end."""
    servers: list[RawServer] = []

    def start(handler: Handler, **kwargs: Any) -> RawServer:
        server = RawServer(handler, **kwargs)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def _record_only(conn: socket.socket, head: bytes, server: RawServer) -> None:
    server.events.append("tripwire hit")


@pytest.fixture
def tripwire(raw_server: RawServerFactory) -> RawServer:
    """A server on 127.0.0.2 that stands for a refused internal target: it must never be hit."""
    return raw_server(_record_only, host="127.0.0.2")
