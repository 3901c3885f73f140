"""fetch() (sources/fetcher/client.py): redirects re-checked hop by hop, HTTP statuses classified,
the result it returns, and no exception ever escaping."""

from __future__ import annotations

import email.utils
import hashlib
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from sources.fetcher import Outcome, fetch
from sources.fetcher import client as fetcher_client

from .guard import SECRET, FakeDNS, all_field_text, local_limits, public_limits
from .servers import RawServer

# ---------------------------------------------------------------------------------------------
# Redirects
# ---------------------------------------------------------------------------------------------


def test_redirects_are_followed_and_recorded(httpserver: HTTPServer) -> None:
    port = httpserver.port
    httpserver.expect_request("/start").respond_with_data(
        "", status=302, headers={"Location": "/dir/middle"}
    )
    httpserver.expect_request("/dir/middle").respond_with_data(
        "", status=301, headers={"Location": "end?x=1"}
    )
    httpserver.expect_request("/dir/end").respond_with_data("Arrived.", content_type="text/plain")
    result = fetch(f"http://127.0.0.1:{port}/start", limits=local_limits(port))
    assert result.outcome == Outcome.FETCHED, result.reason
    assert result.requested_url == f"http://127.0.0.1:{port}/start"
    assert result.final_url == f"http://127.0.0.1:{port}/dir/end?x=1"
    assert result.redirect_chain == (
        {"url": f"http://127.0.0.1:{port}/start", "status": 302},
        {"url": f"http://127.0.0.1:{port}/dir/middle", "status": 301},
    )
    assert result.text == "Arrived."


def test_redirect_from_a_public_host_to_a_host_resolving_privately_is_blocked(
    httpserver: HTTPServer, tripwire: RawServer, connect_log: list
) -> None:
    httpserver.expect_request("/go").respond_with_data(
        "", status=302, headers={"Location": f"http://internal.test:{tripwire.port}/admin"}
    )
    dns = FakeDNS({"public.test": ["127.0.0.1"], "internal.test": ["127.0.0.2"]})
    result = fetch(
        f"http://public.test:{httpserver.port}/go",
        limits=public_limits(httpserver.port, tripwire.port),
        resolver=dns,
    )
    assert (result.outcome, result.block_reason) == (Outcome.BLOCKED, "address")
    assert "address 127.0.0.2 is loopback" in result.reason
    assert result.final_url == f"http://public.test:{httpserver.port}/go"
    assert result.redirect_chain == ({"url": result.final_url, "status": 302},)
    assert dns.calls == ["public.test", "internal.test"]
    assert {address[0] for address in connect_log} == {"127.0.0.1"}
    assert tripwire.connections == 0


@pytest.mark.parametrize(
    "location",
    [
        "http://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://[fd00:ec2::254]/",
        "http://[::ffff:127.0.0.2]:{tripwire}/",
        "http://0x7f000002:{tripwire}/",
        "http://127.0.0.2:{tripwire}/",
        "http://localhost:{tripwire}/",
    ],
)
def test_redirect_to_a_literal_private_address_is_blocked(
    location: str, httpserver: HTTPServer, tripwire: RawServer, connect_log: list
) -> None:
    httpserver.expect_request("/").respond_with_data(
        "", status=307, headers={"Location": location.format(tripwire=tripwire.port)}
    )
    result = fetch(
        f"http://127.0.0.1:{httpserver.port}/",
        limits=public_limits(httpserver.port, tripwire.port),
    )
    assert (result.outcome, result.block_reason) == (Outcome.BLOCKED, "address")
    assert result.reason.startswith("redirect to ")
    assert {address[0] for address in connect_log} == {"127.0.0.1"}
    assert tripwire.connections == 0


@pytest.mark.parametrize(
    "location", ["file:///etc/passwd", "ftp://127.0.0.1/", "gopher://127.0.0.1:70/"]
)
def test_redirect_to_another_scheme_is_blocked(
    location: str, httpserver: HTTPServer, connect_log: list
) -> None:
    httpserver.expect_request("/").respond_with_data("", status=302, headers={"Location": location})
    result = fetch(httpserver.url_for("/"), limits=local_limits(httpserver.port))
    assert (result.outcome, result.block_reason) == (Outcome.BLOCKED, "scheme")
    assert len(connect_log) == 1


def test_redirect_to_a_disallowed_port_is_blocked(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/").respond_with_data(
        "", status=302, headers={"Location": "http://127.0.0.1:6379/"}
    )
    result = fetch(httpserver.url_for("/"), limits=local_limits(httpserver.port))
    assert (result.outcome, result.block_reason) == (Outcome.BLOCKED, "port")


def test_redirect_to_a_credentialed_url_is_blocked_and_the_password_never_shows(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    target = f"http://bob:p@{SECRET}@127.0.0.1:{httpserver.port}/private"
    httpserver.expect_request("/").respond_with_data("", status=302, headers={"Location": target})
    result = fetch(httpserver.url_for("/"), limits=local_limits(httpserver.port))
    assert (result.outcome, result.block_reason) == (Outcome.BLOCKED, "credentials")
    assert result.headers["location"] == f"http://127.0.0.1:{httpserver.port}/private"
    assert SECRET not in all_field_text(result)
    assert SECRET not in caplog.text
    assert len(httpserver.log) == 1


def test_redirect_loop_is_detected(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/a").respond_with_data("", status=302, headers={"Location": "/b"})
    httpserver.expect_request("/b").respond_with_data("", status=302, headers={"Location": "/a"})
    result = fetch(httpserver.url_for("/a"), limits=local_limits(httpserver.port))
    assert result.outcome == Outcome.REDIRECT_ERROR
    assert "loop" in result.reason
    assert len(httpserver.log) == 2


def test_too_many_redirects(httpserver: HTTPServer) -> None:
    for index in range(5):
        httpserver.expect_request(f"/r{index}").respond_with_data(
            "", status=301, headers={"Location": f"/r{index + 1}"}
        )
    result = fetch(httpserver.url_for("/r0"), limits=local_limits(httpserver.port, max_redirects=2))
    assert result.outcome == Outcome.REDIRECT_ERROR
    assert result.reason == "more than 2 redirects"
    assert len(httpserver.log) == 3
    assert len(result.redirect_chain) == 3


def test_exactly_max_redirects_is_fine(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/r0").respond_with_data("", status=303, headers={"Location": "/r1"})
    httpserver.expect_request("/r1").respond_with_data("", status=308, headers={"Location": "/r2"})
    httpserver.expect_request("/r2").respond_with_data("done", content_type="text/plain")
    result = fetch(httpserver.url_for("/r0"), limits=local_limits(httpserver.port, max_redirects=2))
    assert result.outcome == Outcome.FETCHED, result.reason
    assert [hop["status"] for hop in result.redirect_chain] == [303, 308]


def test_redirect_without_location_is_a_redirect_error(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/").respond_with_data("", status=302)
    result = fetch(httpserver.url_for("/"), limits=local_limits(httpserver.port))
    assert result.outcome == Outcome.REDIRECT_ERROR
    assert "no Location" in result.reason
    assert result.http_status == 302


# ---------------------------------------------------------------------------------------------
# HTTP status codes
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [404, 410, 403, 401, 400])
def test_client_errors_are_permanent_http_errors(status: int, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/").respond_with_data("nope", status=status)
    result = fetch(httpserver.url_for("/"), limits=local_limits(httpserver.port))
    assert result.outcome == Outcome.HTTP_ERROR
    assert result.http_status == status
    assert not result.transient
    assert result.retry_after is None


@pytest.mark.parametrize(
    ("status", "retry_after", "expected"),
    [(500, None, None), (502, None, None), (503, "120", 120.0), (429, "http-date", 90.0)],
)
def test_server_errors_and_rate_limits_are_transient_with_retry_after(
    status: int, retry_after: str | None, expected: float | None, httpserver: HTTPServer
) -> None:
    headers = {}
    if retry_after == "http-date":
        when = datetime.now(UTC) + timedelta(seconds=90)
        headers["Retry-After"] = email.utils.format_datetime(when, usegmt=True)
    elif retry_after:
        headers["Retry-After"] = retry_after
    httpserver.expect_request("/").respond_with_data("busy", status=status, headers=headers)
    result = fetch(httpserver.url_for("/"), limits=local_limits(httpserver.port))
    assert result.outcome == Outcome.HTTP_ERROR
    assert result.http_status == status
    assert result.transient
    if expected is None:
        assert result.retry_after is None
    else:
        assert result.retry_after is not None
        assert expected - 5 <= result.retry_after <= expected


# ---------------------------------------------------------------------------------------------
# The result, and no exception escaping
# ---------------------------------------------------------------------------------------------


def test_fetch_never_raises_on_unexpected_errors(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    httpserver.expect_request("/").respond_with_data("<p>x</p>", content_type="text/html")

    def broken_extractor(*args: Any, **kwargs: Any) -> Any:
        raise ZeroDivisionError("extractor bug")

    monkeypatch.setattr(fetcher_client, "extract_html", broken_extractor)
    result = fetch(httpserver.url_for("/"), limits=local_limits(httpserver.port))
    assert result.outcome == Outcome.EXTRACTION_FAILED
    assert "ZeroDivisionError" in result.reason

    def broken_connection(*args: Any, **kwargs: Any) -> Any:
        raise KeyError("pool bug")

    monkeypatch.setattr(fetcher_client, "open_exchange", broken_connection)
    result = fetch(httpserver.url_for("/"), limits=local_limits(httpserver.port))
    assert result.outcome == Outcome.CONNECTION_ERROR
    assert fetch(None).outcome == Outcome.INVALID_URL  # type: ignore[arg-type]


def test_result_keeps_selected_headers_and_serialises_without_the_body(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request("/").respond_with_data(
        "Header test.",
        content_type="text/plain; charset=utf-8",
        headers={"ETag": '"v1"', "Set-Cookie": "session=abc", "X-Powered-By": "PHP"},
    )
    result = fetch(httpserver.url_for("/"), limits=local_limits(httpserver.port))
    assert result.headers["content-type"] == "text/plain; charset=utf-8"
    assert result.headers["etag"] == '"v1"'
    assert "set-cookie" not in result.headers
    assert "x-powered-by" not in result.headers
    assert all(key == key.lower() for key in result.headers)
    data = json.loads(json.dumps(result.as_dict()))
    assert "body" not in data
    assert data["outcome"] == "fetched"
    assert data["text"] == "Header test."
    assert data["content_sha256"] == hashlib.sha256(b"Header test.").hexdigest()
