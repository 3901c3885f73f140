"""Public pages: the fact-check of a published claim."""

from typing import NamedTuple

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from claims.models import Evidence
from sources.models import Snapshot
from verifier.api.http_cache import public_read
from verifier.claimreview import claim_review
from verifier.models import Rating
from verifier.selectors.published import (
    RatingScale,
    claim_corrections,
    claim_current_verdict,
    claim_shown_evidence,
    evidence_snapshot,
    published_claims,
)


class CitedEvidence(NamedTuple):
    evidence: Evidence
    # The snapshot the API reports for this evidence; None before the first fetch.
    snapshot: Snapshot | None


@public_read
def claim_page(request: HttpRequest, pk: int) -> HttpResponse:
    claim = get_object_or_404(published_claims(), pk=pk)
    verdict = claim_current_verdict(claim)
    rating_scale = RatingScale()
    context = {
        "claim": claim,
        "verdict": verdict,
        "rating_scale": rating_scale,
        "rating_tone": _rating_tone(verdict.rating if verdict else None, rating_scale),
        "corrections": claim_corrections(claim, verdict) if verdict else [],
        "evidence": [CitedEvidence(item, evidence_snapshot(item)) for item in claim_shown_evidence(claim)],
        "claim_review": claim_review(claim, rating_scale=rating_scale) if verdict else None,
        "public_url": claim.public_url(),
        "claim_review_url": reverse("api:claim-claimreview", args=[claim.pk]),
        "org_name": settings.VERIFIER_ORG_NAME,
        "org_url": settings.VERIFIER_ORG_URL,
    }
    return render(request, "verifier/claim_page.html", context)


def _rating_tone(rating: Rating | None, scale: RatingScale) -> str:
    """The colour family of the rating badge; the label is always written out beside it."""
    if rating is None or rating.value is None or scale.best is None or scale.worst is None:
        return "unrated"
    span = max(scale.best - scale.worst, 1)
    position = (rating.value - scale.worst) / span
    if position < 0.35:
        return "false"
    return "mixed" if position < 0.65 else "true"
