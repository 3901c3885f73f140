"""The idea of a transient failure, defined once by the fetcher (sources/fetcher/result.py) and
read by the fetch and webhook retries and the admin's badges."""

from __future__ import annotations

import pytest
from pytest_httpserver import HTTPServer

from sources.fetcher import FetchLimits, Outcome, fetch, transient_failure


@pytest.mark.parametrize(
    ("outcome", "http_status", "transient"),
    [
        (Outcome.TIMEOUT, None, True),
        (Outcome.CONNECTION_ERROR, None, True),
        (Outcome.DNS_ERROR, None, True),
        (Outcome.HTTP_ERROR, 503, True),
        (Outcome.HTTP_ERROR, 429, True),
        (Outcome.HTTP_ERROR, 408, True),
        (Outcome.HTTP_ERROR, 404, False),
        (Outcome.HTTP_ERROR, None, False),
        (Outcome.BLOCKED, None, False),
        (Outcome.TOO_LARGE, None, False),
    ],
)
def test_which_failures_are_transient(outcome: Outcome, http_status: int | None, transient: bool) -> None:
    assert transient_failure(outcome, http_status) is transient


@pytest.mark.parametrize("status", [408, 425])
def test_a_source_answering_that_it_is_briefly_busy_is_retried_as_a_webhook_receiver_is(
    status: int, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/").respond_with_data("later", status=status)

    result = fetch(
        httpserver.url_for("/"),
        limits=FetchLimits(allow_private_networks=True, allowed_ports=frozenset({httpserver.port})),
    )

    assert (result.outcome, result.http_status, result.transient) == (Outcome.HTTP_ERROR, status, True)
