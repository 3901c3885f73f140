"""Local servers for fetcher tests, and a guard that keeps every connection on loopback."""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest


@pytest.fixture(scope="session")
def httpserver_listen_address() -> tuple[str, int]:
    return ("127.0.0.1", 0)


@pytest.fixture
def connect_log(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record every outgoing connect; refuse any that would leave loopback.

    A safety net as well as an assertion tool: a broken guard must fail a test, never send a
    packet to a private or public address. Fetcher test modules use it for every test.
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


Handler = Callable[[socket.socket, bytes, "RawServer"], None]


@dataclass
class RawServer:
    """A bare TCP server whose handler writes whatever bytes a hostile server would."""

    handler: Handler
    host: str = "127.0.0.1"
    tls: ssl.SSLContext | None = None
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)
    events: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        self._listener = socket.socket(family, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((self.host, 0))
        self._listener.listen(16)
        self._listener.settimeout(0.1)
        self.port: int = self._listener.getsockname()[1]
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(5)
            if self.tls is not None:
                conn = self.tls.wrap_socket(conn, server_side=True)
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 65536:
                data = conn.recv(4096)
                if not data:
                    break
                head += data
            self.requests.append(head)
            self.handler(conn, head, self)
        except OSError as exc:
            self.events.append(f"handler error: {exc!r}")
        finally:
            with contextlib.suppress(OSError):
                conn.close()

    def url(self, path: str = "/", host: str | None = None) -> str:
        name = host or (f"[{self.host}]" if ":" in self.host else self.host)
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{name}:{self.port}{path}"

    def close(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=2)
        self._listener.close()


@pytest.fixture
def raw_server() -> Iterator[Callable[..., RawServer]]:
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
def tripwire(raw_server: Callable[..., RawServer]) -> RawServer:
    """A server on 127.0.0.2 that stands for a refused internal target: it must never be hit."""
    return raw_server(_record_only, host="127.0.0.2")
