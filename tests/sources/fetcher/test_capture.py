"""WARC captures of guarded fetches: every hop's bytes exactly as exchanged, digests a reader can check."""

from __future__ import annotations

import gzip
import hashlib
import io
import socket
from collections.abc import Callable
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from warcio.archiveiterator import ArchiveIterator
from werkzeug import Response

from sources.fetcher import FetchLimits, Outcome, fetch

from .servers import RawServer

pytestmark = pytest.mark.usefixtures("connect_log")

ARTICLE = (
    b"<!doctype html><html><head><title>Drones</title></head><body><article><p>"
    + b"Iran says that these drones were exported before the attack on Ukraine. " * 40
    + b"</p></article></body></html>"
)


def local_limits(*ports: int, **overrides: Any) -> FetchLimits:
    return FetchLimits(allow_private_networks=True, allowed_ports=frozenset(ports), **overrides)


def records(warc: bytes) -> list[dict[str, Any]]:
    """Every record of a capture: its headers, its whole block, the parsed HTTP status and
    warcio's own check of its block and payload digests."""
    checked = []
    for record in ArchiveIterator(io.BytesIO(warc), check_digests=True):
        record.content_stream().read()
        status = record.http_headers.get_statuscode() if record.http_headers else None
        checked.append((status, record.digest_checker.passed, list(record.digest_checker.problems)))
    found = []
    for record, (status, passed, problems) in zip(
        ArchiveIterator(io.BytesIO(warc), no_record_parse=True), checked, strict=True
    ):
        found.append(
            {
                "type": record.rec_type,
                "headers": dict(record.rec_headers.headers),
                "status": status,
                "raw": record.raw_stream.read(),
                "digest_passed": passed,
                "digest_problems": problems,
            }
        )
    return found


def test_a_redirected_fetch_records_every_hop_with_its_address_and_digests(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request("/old").respond_with_response(
        Response(status=301, headers={"Location": "/new"})
    )
    httpserver.expect_request("/new").respond_with_data(ARTICLE, content_type="text/html")

    result = fetch(httpserver.url_for("/old"), limits=local_limits(httpserver.port))

    assert result.outcome == Outcome.FETCHED
    assert result.warc_sha256 == hashlib.sha256(result.warc).hexdigest()
    found = records(result.warc)
    assert [record["type"] for record in found] == [
        "warcinfo", "response", "request", "response", "request",
    ]
    assert b"software: Verifier" in found[0]["raw"]
    old, new = httpserver.url_for("/old"), httpserver.url_for("/new")
    assert [record["headers"]["WARC-Target-URI"] for record in found[1:]] == [old, old, new, new]
    for record in found[1:]:
        assert record["headers"]["WARC-IP-Address"] == "127.0.0.1"
        assert record["headers"]["WARC-Block-Digest"].startswith("sha256:")
        assert record["headers"]["WARC-Payload-Digest"].startswith("sha256:")
    assert all(record["digest_passed"] for record in found), [r["digest_problems"] for r in found]
    assert found[1]["status"] == "301"
    # A request record is the request as sent, and names the response it belongs to.
    assert found[2]["raw"].startswith(b"GET /old HTTP/1.1\r\n")
    assert found[2]["headers"]["WARC-Concurrent-To"] == found[1]["headers"]["WARC-Record-ID"]
    assert found[3]["raw"].startswith(b"HTTP/1.")
    assert found[3]["raw"].endswith(b"\r\n\r\n" + ARTICLE)
    assert "WARC-Truncated" not in found[3]["headers"]


def test_the_response_is_kept_byte_for_byte_as_the_server_sent_it(
    raw_server: Callable[..., RawServer],
) -> None:
    # Odd spacing, a folded-looking header order and a gzip body: all must survive untouched.
    compressed = gzip.compress(ARTICLE)
    head = (
        b"HTTP/1.1 200 OK\r\nX-Odd:   spaced   value\r\ncontent-type: text/html\r\n"
        b"Content-Encoding: gzip\r\nContent-Length: " + str(len(compressed)).encode() + b"\r\n\r\n"
    )

    def handler(conn: socket.socket, request: bytes, server: RawServer) -> None:
        conn.sendall(head + compressed)

    server = raw_server(handler)
    result = fetch(server.url("/page"), limits=local_limits(server.port))

    assert result.outcome == Outcome.FETCHED
    response = next(record for record in records(result.warc) if record["type"] == "response")
    assert response["raw"] == head + compressed
    request = next(record for record in records(result.warc) if record["type"] == "request")
    assert request["raw"] == server.requests[0]
    # The archived body decodes to exactly the bytes the snapshot hashes.
    record = next(
        r for r in ArchiveIterator(io.BytesIO(result.warc)) if r.rec_type == "response"
    )
    assert hashlib.sha256(record.content_stream().read()).hexdigest() == result.content_sha256


def test_a_body_over_the_limit_is_recorded_as_truncated_by_length(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/big").respond_with_data(b"x" * 50_000, content_type="text/plain")

    result = fetch(httpserver.url_for("/big"), limits=local_limits(httpserver.port, max_bytes=10_000))

    assert result.outcome == Outcome.TOO_LARGE
    response = next(record for record in records(result.warc) if record["type"] == "response")
    assert response["headers"]["WARC-Truncated"] == "length"
    assert len(response["raw"]) < 50_000


def test_an_error_page_is_recorded_though_its_body_was_not_read(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/gone").respond_with_data(
        b"<p>Not here</p>" * 100, status=404, content_type="text/html"
    )

    result = fetch(httpserver.url_for("/gone"), limits=local_limits(httpserver.port))

    assert (result.outcome, result.http_status) == (Outcome.HTTP_ERROR, 404)
    response = next(record for record in records(result.warc) if record["type"] == "response")
    assert response["status"] == "404"
    assert response["headers"]["WARC-Truncated"] == "unspecified"


def test_a_fetch_that_got_no_response_has_no_capture() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    result = fetch(f"http://127.0.0.1:{port}/", limits=local_limits(port))

    assert result.outcome == Outcome.CONNECTION_ERROR
    assert (result.warc, result.warc_sha256) == (b"", "")


def test_a_refused_url_is_never_captured(tripwire: RawServer) -> None:
    result = fetch(tripwire.url("/"), limits=FetchLimits(allowed_ports=frozenset({tripwire.port})))

    assert result.outcome == Outcome.BLOCKED
    assert result.warc == b""
    assert tripwire.events == []


def test_the_capture_is_left_out_of_the_printed_result(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/a").respond_with_data(ARTICLE, content_type="text/html")

    data = fetch(httpserver.url_for("/a"), limits=local_limits(httpserver.port)).as_dict()

    assert "warc" not in data
    assert data["warc_size"] > 0
    assert len(data["warc_sha256"]) == 64
