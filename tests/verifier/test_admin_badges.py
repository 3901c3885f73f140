"""The admin's outcome badges read the fetcher's idea of a transient failure: amber, not red."""

import pytest

from verifier.admin.badges import outcome_badge


@pytest.mark.parametrize(
    ("outcome", "http_status", "tone"),
    [
        ("fetched", 200, "ok"),
        ("timeout", None, "warn"),
        ("dns_error", None, "warn"),
        ("http_error", 503, "warn"),
        ("http_error", 404, "bad"),
        ("blocked", None, "bad"),
        ("", None, "wait"),
    ],
)
def test_a_badge_is_amber_for_a_failure_that_may_pass_on_a_later_try(outcome, http_status, tone):
    assert f"badge-{tone}" in outcome_badge(outcome, "why", http_status)
