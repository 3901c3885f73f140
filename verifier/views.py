"""Public pages: the fact-check of a published claim."""

from typing import Any, NamedTuple

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.text import Truncator

from claims.models import Evidence
from sources.models import Snapshot
from verifier.api.http_cache import public_read
from verifier.claimreview import claim_review
from verifier.models import Verdict
from verifier.selectors.evidence import claim_evidence_records
from verifier.selectors.published import (
    RatingScale,
    claim_corrections,
    claim_current_verdict,
    published_claims,
    published_only,
)
from verifier.selectors.site import verdict_bylines
from verifier.site import SharePreview, rating_tone, site_context


class CitedEvidence(NamedTuple):
    """An evidence record (verifier.selectors.evidence, what the API shows) with what the page adds."""

    record: dict[str, Any]
    stance_label: str
    # Why the snapshot has no content, for a failed fetch; empty otherwise.
    failure_label: str
    # The snapshot the published verdict's fingerprint cites, for its archive page; None if unfetched.
    archived: int | None


def _cited(record: dict[str, Any], *, published: bool) -> CitedEvidence:
    source = record["source"]
    failed = source["outcome"] not in (None, Snapshot.Outcome.FETCHED)
    return CitedEvidence(
        record=record,
        stance_label=Evidence.Stance(record["stance"]).label,
        failure_label=str(Snapshot.Outcome(source["outcome"]).label) if failed else "",
        archived=source["snapshot"] if published else None,
    )


@public_read
def claim_page(request: HttpRequest, pk: int) -> HttpResponse:
    claim = get_object_or_404(published_claims(), pk=pk)
    verdict = claim_current_verdict(claim)
    rating_scale = RatingScale()
    corrections = claim_corrections(claim, verdict) if verdict else []
    share = SharePreview(
        title=f"Fact-check: {Truncator(claim.text).chars(90)}",
        description=_share_description(verdict),
        kind="article",
        published=claim.published_at,
        modified=verdict.approved_at if verdict and corrections else None,
    )
    context = {
        **site_context(request, share),
        "claim": claim,
        # Linked only when published: a draft has no page, and its existence is not public.
        "same_as": published_only().filter(pk=claim.same_as_id).first() if claim.same_as_id else None,
        "verdict": verdict,
        "bylines": verdict_bylines(verdict) if verdict else [],
        "rating_scale": rating_scale,
        "rating_tone": rating_tone(verdict.rating if verdict else None, rating_scale),
        "corrections": corrections,
        "evidence": [
            _cited(record, published=verdict is not None)
            for record in claim_evidence_records(claim.pk, verdict)
        ],
        "claim_review": claim_review(claim, rating_scale=rating_scale) if verdict else None,
        "canonical_url": claim.public_url(),
        "claim_review_url": reverse("api:claim-claimreview", args=[claim.pk]),
        "evidence_package_url": reverse("api:claim-evidence-package", args=[claim.pk]) if verdict else None,
    }
    return render(request, "verifier/claim_page.html", context)


def _share_description(verdict: Verdict | None) -> str:
    if verdict is None or verdict.rating is None:
        return f"A fact-check by {settings.VERIFIER_ORG_NAME}."
    return Truncator(f"{verdict.rating.label}: {verdict.summary}").chars(200)

