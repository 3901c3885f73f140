"""One exchange pinned to a checked address (sources/fetcher/http.py): size limits and content
encodings, time limits and connection failures, TLS verified against the URL's host name."""

from __future__ import annotations

import gzip
import hashlib
import shutil
import socket
import ssl
import struct
import subprocess
import time
import tracemalloc
import zlib
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from sources.fetcher import Outcome, fetch
from sources.fetcher import http as fetcher_http

from .documents import article_html
from .guard import FakeDNS, local_limits, public_limits
from .servers import RawServer, RawServerFactory, send


@lru_cache(maxsize=1)
def gzip_bomb() -> bytes:
    """50 MiB of zeros, gzip-compressed to about 50 KB."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1024 * 1024)
    return b"".join(compressor.compress(block) for _ in range(50)) + compressor.flush()


# ---------------------------------------------------------------------------------------------
# Size limits and content encodings
# ---------------------------------------------------------------------------------------------


def test_content_length_over_the_cap_is_refused_before_reading_the_body(
    raw_server: RawServerFactory,
) -> None:
    def handler(conn: socket.socket, head: bytes, server: RawServer) -> None:
        send(conn, "200 OK", {"Content-Type": "text/html", "Content-Length": "104857600"})
        server.events.append("headers sent")
        try:
            data = conn.recv(1)
        except TimeoutError:
            server.events.append("client waited for the body")
            return
        server.events.append("client closed" if not data else "client sent more")

    server = raw_server(handler)
    result = fetch(server.url("/huge"), limits=local_limits(server.port, max_bytes=1024 * 1024))
    assert result.outcome == Outcome.TOO_LARGE
    assert "Content-Length 104857600" in result.reason
    assert (result.bytes_received, result.body) == (0, b"")
    assert result.elapsed < 1
    # The handler waits up to 5 s for more from the client, then records what it saw.
    assert server.wait_for_events(2) == ["headers sent", "client closed"]


def test_body_over_the_cap_without_content_length_is_truncated(
    raw_server: RawServerFactory,
) -> None:
    def handler(conn: socket.socket, head: bytes, server: RawServer) -> None:
        send(conn, "200 OK", {"Content-Type": "text/plain", "Connection": "close"})
        chunk = b"a" * 65536
        try:
            for _ in range(64):
                conn.sendall(chunk)
        except OSError:
            server.events.append("client stopped reading")

    server = raw_server(handler)
    result = fetch(server.url("/"), limits=local_limits(server.port, max_bytes=100_000))
    assert result.outcome == Outcome.TOO_LARGE
    assert result.truncated
    assert len(result.body) == 100_000
    assert result.content_sha256 == hashlib.sha256(b"a" * 100_000).hexdigest()
    assert result.bytes_received < 4 * 1024 * 1024


def test_gzip_bomb_is_cut_at_the_cap_with_bounded_memory(raw_server: RawServerFactory) -> None:
    bomb = gzip_bomb()
    assert len(bomb) < 100_000

    def handler(conn: socket.socket, head: bytes, server: RawServer) -> None:
        headers = {"Content-Type": "text/html", "Content-Encoding": "gzip"}
        send(conn, "200 OK", headers | {"Content-Length": str(len(bomb))}, bomb)

    # A raw server: its thread allocates next to nothing, so the traced peak is the fetcher's.
    server = raw_server(handler)
    tracemalloc.start()
    try:
        result = fetch(server.url("/"), limits=local_limits(server.port, max_bytes=1024 * 1024))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.outcome == Outcome.TOO_LARGE
    assert result.truncated
    assert len(result.body) == 1024 * 1024
    assert result.body == bytes(1024 * 1024)
    assert result.bytes_received <= len(bomb)
    assert peak < 4 * 1024 * 1024, f"peak traced memory {peak} bytes"


def test_gzip_body_is_decoded_before_extraction(httpserver: HTTPServer) -> None:
    page = article_html().encode()
    compressed = gzip.compress(page)
    httpserver.expect_request("/").respond_with_data(
        compressed, content_type="text/html; charset=utf-8", headers={"Content-Encoding": "gzip"}
    )
    result = fetch(httpserver.url_for("/"), limits=local_limits(httpserver.port))
    assert result.outcome == Outcome.FETCHED, result.reason
    assert result.body == page
    assert result.bytes_received == len(compressed)
    assert result.content_sha256 == hashlib.sha256(page).hexdigest()
    assert result.headers["content-encoding"] == "gzip"
    assert "Alaboga Special Economic Zone" in result.text


@pytest.mark.parametrize("wrapped", [True, False], ids=["zlib", "raw-deflate"])
def test_deflate_body_is_decoded(wrapped: bool, httpserver: HTTPServer) -> None:
    data = ("Plain deflated text. " * 200).encode()
    compressor = zlib.compressobj(wbits=zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
    payload = compressor.compress(data) + compressor.flush()
    httpserver.expect_request("/").respond_with_data(
        payload, content_type="text/plain", headers={"Content-Encoding": "deflate"}
    )
    result = fetch(httpserver.url_for("/"), limits=local_limits(httpserver.port))
    assert result.outcome == Outcome.FETCHED, result.reason
    assert result.body == data


def test_concatenated_gzip_members_are_all_decoded(httpserver: HTTPServer) -> None:
    payload = gzip.compress(b"first member, ") + gzip.compress(b"second member")
    httpserver.expect_request("/").respond_with_data(
        payload, content_type="text/plain", headers={"Content-Encoding": "gzip"}
    )
    result = fetch(httpserver.url_for("/"), limits=local_limits(httpserver.port))
    assert result.text == "first member, second member"


def test_a_gzip_member_split_at_its_magic_number_is_still_decoded(raw_server: RawServerFactory) -> None:
    second = gzip.compress(b" and the second member")

    def handler(conn: socket.socket, head: bytes, server: RawServer) -> None:
        headers = {"Content-Type": "text/plain", "Content-Encoding": "gzip", "Connection": "close"}
        send(conn, "200 OK", headers)
        conn.sendall(gzip.compress(b"The first member") + second[:1])
        time.sleep(0.3)  # so the client reads the first byte of the second member on its own
        conn.sendall(second[1:])

    server = raw_server(handler)
    result = fetch(server.url("/"), limits=local_limits(server.port))

    assert result.outcome == Outcome.FETCHED, result.reason
    assert result.body == b"The first member and the second member"


def endless(conn: socket.socket, server: RawServer, first: bytes, then: bytes) -> None:
    """Sends `first`, then `then` over and over (64 MiB at most) until the client stops reading."""
    try:
        conn.sendall(first)
        for _ in range(64 * 1024 * 1024 // len(then)):
            conn.sendall(then)
    except OSError:
        server.events.append("client stopped reading")


def test_bytes_after_the_end_of_a_gzip_stream_are_not_read_on(raw_server: RawServerFactory) -> None:
    page = article_html().encode()
    compressed = gzip.compress(page)

    def handler(conn: socket.socket, head: bytes, server: RawServer) -> None:
        send(conn, "200 OK", {"Content-Type": "text/html", "Content-Encoding": "gzip", "Connection": "close"})
        endless(conn, server, compressed, b"\0" * 65536)

    server = raw_server(handler)
    result = fetch(server.url("/"), limits=local_limits(server.port, max_bytes=1024 * 1024))

    assert result.outcome == Outcome.FETCHED, result.reason
    assert result.body == page
    assert result.bytes_received < len(compressed) + 2 * fetcher_http.READ_CHUNK
    assert server.wait_for_events(1) == ["client stopped reading"]


def test_a_gzip_stream_that_never_ends_is_cut_at_the_cap_on_the_wire(raw_server: RawServerFactory) -> None:
    # Empty gzip members: each one is valid and decodes to nothing, so the decoded cap never trips.
    empty_members = gzip.compress(b"", mtime=0) * 3000

    def handler(conn: socket.socket, head: bytes, server: RawServer) -> None:
        send(conn, "200 OK", {"Content-Type": "text/html", "Content-Encoding": "gzip", "Connection": "close"})
        endless(conn, server, gzip.compress(b"<html><body>Hello</body></html>"), empty_members)

    server = raw_server(handler)
    result = fetch(server.url("/"), limits=local_limits(server.port, max_bytes=1024 * 1024))

    assert result.outcome == Outcome.TOO_LARGE
    assert "bytes were sent for a body still under the limit" in result.reason
    assert result.bytes_received <= 1024 * 1024 + 2 * fetcher_http.READ_CHUNK
    assert server.wait_for_events(1) == ["client stopped reading"]


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [
        ("gzip, gzip", "stacked"),
        ("gzip, deflate", "stacked"),
        ("br", "'br' is not supported"),
        ("zstd", "'zstd' is not supported"),
        ("compress", "not supported"),
    ],
)
def test_stacked_and_unknown_encodings_are_refused(
    encoding: str, expected: str, httpserver: HTTPServer
) -> None:
    payload = gzip.compress(gzip.compress(b"<html><body>x</body></html>"))
    httpserver.expect_request("/").respond_with_data(
        payload, content_type="text/html", headers={"Content-Encoding": encoding}
    )
    result = fetch(httpserver.url_for("/"), limits=local_limits(httpserver.port))
    assert result.outcome == Outcome.DECODING_ERROR
    assert expected in result.reason
    assert result.body == b""


@pytest.mark.parametrize(
    "payload",
    [
        b"\x1f\x8b\x08\x00garbage-that-is-not-deflate" * 4,
        gzip.compress(" ".join(str(n * n) for n in range(3000)).encode())[:-200],
    ],
    ids=["corrupt", "truncated"],
)
def test_corrupt_compressed_body_is_a_decoding_error(payload: bytes, httpserver: HTTPServer):
    httpserver.expect_request("/").respond_with_data(
        payload, content_type="text/plain", headers={"Content-Encoding": "gzip"}
    )
    result = fetch(httpserver.url_for("/"), limits=local_limits(httpserver.port))
    assert result.outcome == Outcome.DECODING_ERROR
    assert "gzip body" in result.reason


def test_chunked_transfer_encoding_is_read(raw_server: RawServerFactory) -> None:
    def handler(conn: socket.socket, head: bytes, server: RawServer) -> None:
        send(conn, "200 OK", {"Content-Type": "text/plain", "Transfer-Encoding": "chunked"})
        for piece in (b"chunked ", b"body ", b"arrives"):
            conn.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
            time.sleep(0.01)
        conn.sendall(b"0\r\n\r\n")

    server = raw_server(handler)
    result = fetch(server.url("/"), limits=local_limits(server.port))
    assert result.outcome == Outcome.FETCHED, result.reason
    assert result.text == "chunked body arrives"


# ---------------------------------------------------------------------------------------------
# Time limits and connection failures
# ---------------------------------------------------------------------------------------------


def _trickle(prefix: bytes, interval: float) -> Callable[[socket.socket, bytes, RawServer], None]:
    def handler(conn: socket.socket, head: bytes, server: RawServer) -> None:
        conn.sendall(prefix)
        try:
            for _ in range(60):
                conn.sendall(b"x")
                time.sleep(interval)
        except OSError:
            server.events.append("client hung up")

    return handler


def test_a_server_trickling_the_body_cannot_outlast_the_total_timeout(
    raw_server: RawServerFactory,
) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n"
    server = raw_server(_trickle(head, 0.5))
    started = time.monotonic()
    result = fetch(server.url("/"), limits=local_limits(server.port, timeout_total=2))
    assert result.outcome == Outcome.TIMEOUT
    assert result.transient
    assert "total time limit of 2 s" in result.reason
    assert 1.5 < time.monotonic() - started < 3


def test_a_server_trickling_the_headers_cannot_outlast_the_total_timeout(
    raw_server: RawServerFactory,
) -> None:
    server = raw_server(_trickle(b"HTTP/1.1 200 OK\r\nX-Slow: ", 0.3))
    started = time.monotonic()
    result = fetch(server.url("/"), limits=local_limits(server.port, timeout_total=2))
    assert result.outcome == Outcome.TIMEOUT
    assert result.transient
    assert time.monotonic() - started < 3


@pytest.mark.parametrize("partial", [b"", b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc"])
def test_a_silent_server_hits_the_read_timeout(
    partial: bytes, raw_server: RawServerFactory
) -> None:
    def handler(conn: socket.socket, head: bytes, server: RawServer) -> None:
        conn.sendall(partial)
        time.sleep(3)

    server = raw_server(handler)
    result = fetch(server.url("/"), limits=local_limits(server.port, timeout_read=0.5))
    assert result.outcome == Outcome.TIMEOUT
    assert result.transient
    assert result.reason == "the server sent nothing for 0.5 s"
    assert result.elapsed < 2


def test_connection_refused_is_transient() -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    result = fetch(f"http://127.0.0.1:{port}/", limits=local_limits(port))
    assert result.outcome == Outcome.CONNECTION_ERROR
    assert result.transient
    assert result.reason == "connection to 127.0.0.1 was refused"


@pytest.mark.parametrize("reset", [True, False], ids=["reset", "closed"])
def test_connection_dropped_before_a_response_is_transient(
    reset: bool, raw_server: RawServerFactory
) -> None:
    def handler(conn: socket.socket, head: bytes, server: RawServer) -> None:
        if reset:
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()

    server = raw_server(handler)
    result = fetch(server.url("/"), limits=local_limits(server.port))
    assert result.outcome == Outcome.CONNECTION_ERROR
    assert result.transient


# ---------------------------------------------------------------------------------------------
# TLS: verified against the URL's host name while connected to the pinned IP
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def tls_authority(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A throwaway CA and a certificate for secure.test signed by it (openssl CLI)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    (folder / "leaf.ext").write_text(
        "subjectAltName=DNS:secure.test\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
    )

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=Verifier Test CA",
    )
    openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "leaf.key",
        "-out",
        "leaf.csr",
        "-subj",
        "/CN=secure.test",
    )
    openssl(
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "leaf.pem",
        "-days",
        "2",
        "-extfile",
        "leaf.ext",
    )
    return {name: folder / f"{name}.pem" for name in ("ca", "leaf")} | {"key": folder / "leaf.key"}


@pytest.fixture
def server_tls(tls_authority: dict[str, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls_authority["leaf"], tls_authority["key"])
    return context


@pytest.fixture
def tls_server(server_tls: ssl.SSLContext, raw_server: RawServerFactory) -> RawServer:
    context = server_tls
    names: list[str] = []

    def remember_sni(sslobj: Any, name: str | None, ctx: Any) -> None:
        names.append(str(name))

    context.sni_callback = remember_sni

    def handler(conn: socket.socket, head: bytes, server: RawServer) -> None:
        server.events.extend(f"sni {name}" for name in names)
        send(conn, "200 OK", {"Content-Type": "text/plain", "Content-Length": "6"}, b"secret")

    return raw_server(handler, tls=context)


@pytest.fixture
def trust_tls_authority(tls_authority: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    context = fetcher_http.tls_context.__wrapped__()
    context.load_verify_locations(tls_authority["ca"])
    monkeypatch.setattr(fetcher_http, "tls_context", lambda: context)


@pytest.mark.usefixtures("trust_tls_authority")
def test_https_is_verified_against_the_host_name_on_the_pinned_ip(tls_server: RawServer):
    dns = FakeDNS({"secure.test": ["127.0.0.1"]})
    result = fetch(
        f"https://secure.test:{tls_server.port}/",
        limits=public_limits(tls_server.port),
        resolver=dns,
    )
    assert result.outcome == Outcome.FETCHED, result.reason
    assert result.connected_ip == "127.0.0.1"
    assert "sni secure.test" in tls_server.events
    assert f"Host: secure.test:{tls_server.port}".encode() in tls_server.requests[0]


@pytest.mark.usefixtures("trust_tls_authority")
def test_https_certificate_for_another_name_is_a_tls_error(tls_server: RawServer) -> None:
    dns = FakeDNS({"other.test": ["127.0.0.1"]})
    result = fetch(
        f"https://other.test:{tls_server.port}/",
        limits=public_limits(tls_server.port),
        resolver=dns,
    )
    assert result.outcome == Outcome.TLS_ERROR
    assert not result.transient


def test_https_certificate_from_an_unknown_ca_is_a_tls_error(tls_server: RawServer) -> None:
    dns = FakeDNS({"secure.test": ["127.0.0.1"]})
    result = fetch(
        f"https://secure.test:{tls_server.port}/",
        limits=public_limits(tls_server.port),
        resolver=dns,
    )
    assert result.outcome == Outcome.TLS_ERROR
    assert "certificate" in result.reason.lower()
    assert not result.transient


@pytest.mark.usefixtures("trust_tls_authority")
def test_a_tls_server_trickling_the_headers_cannot_outlast_the_total_timeout(
    server_tls: ssl.SSLContext, raw_server: RawServerFactory
) -> None:
    server = raw_server(_trickle(b"HTTP/1.1 200 OK\r\nX-Slow: ", 0.3), tls=server_tls)
    dns = FakeDNS({"secure.test": ["127.0.0.1"]})
    started = time.monotonic()
    result = fetch(
        f"https://secure.test:{server.port}/",
        limits=public_limits(server.port, timeout_total=2),
        resolver=dns,
    )
    assert result.outcome == Outcome.TIMEOUT, result.reason
    assert time.monotonic() - started < 3


def test_https_to_a_plain_http_server_is_a_tls_error(httpserver: HTTPServer) -> None:
    result = fetch(f"https://127.0.0.1:{httpserver.port}/", limits=local_limits(httpserver.port))
    assert result.outcome == Outcome.TLS_ERROR
    assert not result.transient


# ---------------------------------------------------------------------------------------------
# The request itself
# ---------------------------------------------------------------------------------------------


def test_requests_carry_the_user_agent_and_the_original_host(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/").respond_with_data("ok", content_type="text/plain")
    limits = public_limits(httpserver.port, user_agent="VerifierTest/1.0")
    dns = FakeDNS({"xn--bcher-kva.example": ["127.0.0.1"]})
    result = fetch(f"http://Bücher.example:{httpserver.port}/", limits=limits, resolver=dns)
    assert result.outcome == Outcome.FETCHED, result.reason
    assert result.requested_url == f"http://xn--bcher-kva.example:{httpserver.port}/"
    request = httpserver.log[0][0]
    assert request.headers["User-Agent"] == "VerifierTest/1.0"
    assert request.headers["Host"] == f"xn--bcher-kva.example:{httpserver.port}"
    assert request.headers["Accept-Encoding"] == "gzip, deflate"
