"""Reads of claims as the API and the public pages show them: what is loaded, and which verdict
makes up a claim's public record. The public page reads the loaded models below; the API reads the
same record as plain rows (verifier.selectors.records). Both read its evidence from
verifier.selectors.evidence.

A claim that has been published is shown as its published record: the latest approved verdict,
the earlier approved versions as corrections, and only the evidence that verdict's fingerprint
lists (a correction being drafted stays out of sight until it is approved). A claim that was never
published, which only staff can read, is shown as its work in progress: the open verdict and all
of its evidence.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, TypeAlias, TypedDict, cast

from django.db.models import Exists, Max, Min, OuterRef, Prefetch, QuerySet, Subquery

from claims.models import Claim, Tag
from verifier.models import Rating, Verdict
from verifier.selectors.verdicts import current_verdict_among


class LoadedVerdicts(TypedDict):
    """The verdicts published_claims loads with each claim (approved ones only), rating loaded."""

    loaded_verdicts: list[Verdict]


if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

    # A claim as these selectors load it: the loaded attributes are typed, not `Any`.
    ClaimWithVerdicts: TypeAlias = WithAnnotations[Claim, LoadedVerdicts]


def published_only() -> QuerySet[Claim]:
    """The claims anyone may read: the published ones; unordered, nothing loaded."""
    return Claim.objects.filter(status=Claim.Status.PUBLISHED)


def published_claims() -> QuerySet[ClaimWithVerdicts]:
    """Published claims with their public record but the evidence (verifier.selectors.evidence
    reads that): claimant, tags, approved verdicts with their ratings; unordered."""
    loaded = published_only().select_related("claimant").prefetch_related(
        Prefetch("tags", queryset=Tag.objects.order_by("name")),
        # Only approved verdicts are loaded, so a correction in progress cannot leak.
        Prefetch(
            "verdicts",
            queryset=Verdict.objects.filter(state=Verdict.State.APPROVED).select_related("rating"),
            to_attr="loaded_verdicts",
        ),
    )
    return cast("QuerySet[ClaimWithVerdicts]", loaded)


def reviewable_claims() -> QuerySet[Claim]:
    """Published claims that have a ClaimReview; unordered, nothing loaded."""
    approved = Verdict.objects.filter(state=Verdict.State.APPROVED, claim=OuterRef("pk"))
    # The workflow never publishes without an approved verdict; a row that somehow lacks one has
    # no review to show rather than breaking the feed.
    return published_only().filter(Exists(approved))


def published_claim_reviews() -> QuerySet[ClaimWithVerdicts]:
    """Published claims with what their ClaimReview shows (claimant, approved verdicts and their
    ratings), without the evidence; unordered. The public site's lists read these."""
    approved = Verdict.objects.filter(state=Verdict.State.APPROVED)
    loaded = (
        reviewable_claims()
        .select_related("claimant")
        .prefetch_related(
            Prefetch("verdicts", queryset=approved.select_related("rating"), to_attr="loaded_verdicts")
        )
    )
    return cast("QuerySet[ClaimWithVerdicts]", loaded)


def claim_current_verdict(claim: ClaimWithVerdicts) -> Verdict | None:
    """The claim's current verdict (verifier.selectors.verdicts) among those loaded with it."""
    return current_verdict_among(claim.loaded_verdicts)


def claim_corrections(claim: ClaimWithVerdicts, verdict: Verdict) -> list[Verdict]:
    """The approved versions before `verdict`, newest first: the correction history."""
    return sorted(
        (
            earlier
            for earlier in claim.loaded_verdicts
            if earlier.state == Verdict.State.APPROVED and earlier.version < verdict.version
        ),
        key=lambda earlier: earlier.version,
        reverse=True,
    )


def rating_scale_bound(*, best: bool) -> Subquery:
    """The top (or bottom) of the numeric rating scale as a subquery: annotated on the verdicts
    that show it, the bounds come in the same round trip (RatingScale reads them alone)."""
    valued = Rating.objects.filter(value__isnull=False).order_by("-value" if best else "value")
    return Subquery(valued.values("value")[:1])


class RatingScale:
    """The bounds of the numeric rating scale, read once per request and only if needed."""

    @cached_property
    def _bounds(self) -> dict[str, int | None]:
        return Rating.objects.filter(value__isnull=False).aggregate(best=Max("value"), worst=Min("value"))

    @property
    def best(self) -> int | None:
        return self._bounds["best"]

    @property
    def worst(self) -> int | None:
        return self._bounds["worst"]
