"""Every free-text field the API writes is bounded (issue 9, finding 7): one oversized field is a
400 naming the field, and nothing is written."""

import pytest

from claims.models import Claim, Evidence
from core.text_bounds import (
    CLAIM_TEXT_MAX,
    COMMENT_MAX,
    EXPLANATION_MAX,
    NOTE_MAX,
    QUOTE_MAX,
    SUMMARY_MAX,
)
from tests.factories import ClaimFactory
from verifier.models import Verdict

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("queued")]

CLAIMS = "/api/v1/claims/"


def too_long(limit: int) -> str:
    return "x" * (limit + 1)


def test_an_oversized_claim_text_is_a_400(client_for, fact_checker):
    response = client_for(fact_checker).post(
        CLAIMS, {"text": too_long(CLAIM_TEXT_MAX), "claimant": "Iran"}, format="json"
    )

    assert response.status_code == 400 and "text" in response.json()
    assert not Claim.objects.exists()


@pytest.mark.parametrize(("field", "limit"), [("quote", QUOTE_MAX), ("note", NOTE_MAX)])
def test_oversized_evidence_text_is_a_400(client_for, fact_checker, field, limit):
    claim = ClaimFactory()
    data = {"url": "https://news.example.org/drones", "quote": "drones", "stance": "supports"}
    data[field] = too_long(limit)

    response = client_for(fact_checker).post(f"{CLAIMS}{claim.pk}/evidence/", data, format="json")

    assert response.status_code == 400 and field in response.json(), response.content
    assert not Evidence.objects.exists()


@pytest.mark.parametrize(("field", "limit"), [("summary", SUMMARY_MAX), ("explanation", EXPLANATION_MAX)])
def test_oversized_verdict_text_is_a_400(client_for, fact_checker, field, limit):
    claim = ClaimFactory()

    response = client_for(fact_checker).put(
        f"{CLAIMS}{claim.pk}/verdict/", {field: too_long(limit)}, format="json"
    )

    assert response.status_code == 400 and field in response.json(), response.content
    assert not Verdict.objects.exists()


@pytest.mark.parametrize("action", ["approve", "request-changes"])
def test_an_oversized_review_comment_is_a_400(client_for, reviewer, action):
    claim = ClaimFactory()

    response = client_for(reviewer).post(
        f"{CLAIMS}{claim.pk}/{action}/", {"comment": too_long(COMMENT_MAX)}, format="json"
    )

    assert response.status_code == 400 and "comment" in response.json(), response.content
