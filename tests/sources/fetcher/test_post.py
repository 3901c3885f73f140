"""post_json (sources/fetcher/post.py): one webhook delivery under the fetcher's guard (all on
loopback, no Django)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from sources.fetcher import FetchLimits, Outcome, post_json

from .guard import FakeDNS, local_limits, public_limits

BODY = json.dumps({"event": "publish", "claim": {"id": 7}}).encode()


def test_posts_the_body_with_its_headers(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("thanks", status=202)

    limits = public_limits(httpserver.port)

    result = post_json(httpserver.url_for("/hook"), BODY, {"Verifier-Event": "publish"}, limits=limits)

    assert result.ok and result.http_status == 202 and result.failure is None
    assert result.connected_ip == "127.0.0.1"
    request, _ = httpserver.log[0]
    assert request.get_data() == BODY
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Verifier-Event"] == "publish"
    assert request.headers["Content-Length"] == str(len(BODY))


def test_a_private_address_is_refused_before_connecting(
    httpserver: HTTPServer, connect_log: list[Any]
) -> None:
    limits = FetchLimits(allowed_ports=frozenset({httpserver.port}))

    result = post_json(httpserver.url_for("/hook"), BODY, {}, limits=limits)

    assert result.failure == Outcome.BLOCKED and not result.transient
    assert result.reason == "address 127.0.0.1 is loopback"
    assert connect_log == [] and httpserver.log == []


def test_a_host_resolving_to_a_private_address_is_refused(connect_log: list[Any]) -> None:
    def rebinding(host: str, port: int) -> list[str]:
        return ["10.1.2.3"]

    result = post_json("https://hooks.example.org/in", BODY, {}, resolver=rebinding)

    assert result.failure == Outcome.BLOCKED
    assert "10.1.2.3" in result.reason and connect_log == []


def test_an_unsupported_url_is_refused() -> None:
    result = post_json("ftp://hooks.example.org/in", BODY, {})

    assert result.failure == Outcome.BLOCKED and not result.transient


def test_a_redirect_is_refused_not_followed(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/old").respond_with_data(
        "", status=308, headers={"Location": httpserver.url_for("/new")}
    )
    httpserver.expect_request("/new").respond_with_data("should never be reached")

    result = post_json(httpserver.url_for("/old"), BODY, {}, limits=public_limits(httpserver.port))

    assert result.failure == Outcome.REDIRECT_ERROR and not result.transient
    assert result.http_status == 308 and "/new" in result.reason
    assert [request.path for request, _ in httpserver.log] == ["/old"]


@pytest.mark.parametrize(
    ("status", "transient"), [(500, True), (503, True), (429, True), (408, True), (404, False), (410, False)]
)
def test_error_statuses_are_classified(httpserver: HTTPServer, status: int, transient: bool) -> None:
    httpserver.expect_request("/hook").respond_with_data("no", status=status, headers={"Retry-After": "7"})

    result = post_json(httpserver.url_for("/hook"), BODY, {}, limits=public_limits(httpserver.port))

    assert result.failure == Outcome.HTTP_ERROR and result.http_status == status
    assert result.transient is transient
    assert result.retry_after == (7.0 if transient else None)


def test_a_refused_connection_is_transient(httpserver: HTTPServer) -> None:
    port = httpserver.port
    httpserver.stop()
    try:
        result = post_json(f"http://127.0.0.1:{port}/hook", BODY, {}, limits=public_limits(port))
    finally:
        httpserver.start()

    assert result.failure == Outcome.CONNECTION_ERROR and result.transient
    assert result.reason == "connection to 127.0.0.1 was refused"
    assert result.connected_ip is None


def test_falls_back_to_the_next_checked_address_when_one_refuses(
    httpserver: HTTPServer, connect_log: list[Any]
) -> None:
    # Nothing listens on 127.0.0.3 at this port, so the first address refuses the connection.
    httpserver.expect_request("/hook", method="POST").respond_with_data("thanks")
    dns = FakeDNS({"hooks.test": ["127.0.0.3", "127.0.0.1"]})

    limits = local_limits(httpserver.port)

    result = post_json(f"http://hooks.test:{httpserver.port}/hook", BODY, {}, limits=limits, resolver=dns)

    assert result.ok and result.connected_ip == "127.0.0.1"
    assert [address[0] for address in connect_log] == ["127.0.0.3", "127.0.0.1"]
    assert dns.calls == ["hooks.test"]


def test_a_slow_receiver_times_out(httpserver: HTTPServer) -> None:
    def slow(request: Request) -> Response:
        time.sleep(1.5)
        return Response("late")

    httpserver.expect_request("/hook").respond_with_handler(slow)
    limits = public_limits(httpserver.port, timeout_read=0.3, timeout_total=1.0)

    started = time.monotonic()
    result = post_json(httpserver.url_for("/hook"), BODY, {}, limits=limits)

    assert result.failure == Outcome.TIMEOUT and result.transient
    assert time.monotonic() - started < 1.4
