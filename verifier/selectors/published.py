"""Reads of claims as the API and the public pages show them: what is loaded, and which verdict and
evidence make up a claim's public record. The public page reads the loaded models below; the API
reads the same record as plain rows (verifier.selectors.records).

A claim that has been published is shown as its published record: the latest approved verdict,
the earlier approved versions as corrections, and only the evidence that verdict's fingerprint
lists (a correction being drafted stays out of sight until it is approved). A claim that was never
published, which only staff can read, is shown as its work in progress: the open verdict and all
of its evidence.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, TypeAlias, TypedDict, cast

from django.db.models import Exists, Max, Min, OuterRef, Prefetch, QuerySet

from claims.models import Claim, Evidence, Tag
from claims.selectors import evidence_rows
from sources.models import Snapshot
from sources.selectors import latest_snapshot_per_source
from verifier.models import Rating, Verdict
from verifier.selectors.verdicts import current_verdict_among


class LoadedVerdicts(TypedDict):
    """The verdicts published_claims loads with each claim (approved ones only), rating loaded."""

    loaded_verdicts: list[Verdict]


class LoadedRecord(LoadedVerdicts):
    """What published_claims loads with each claim: its verdicts and its evidence, each source with
    its latest snapshot (see evidence_snapshot)."""

    loaded_evidence: list[Evidence]


if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

    # A claim as these selectors load it: the loaded attributes are typed, not `Any`.
    ClaimWithVerdicts: TypeAlias = WithAnnotations[Claim, LoadedVerdicts]
    ClaimRecord: TypeAlias = WithAnnotations[Claim, LoadedRecord]


def _with_claim_relations(
    queryset: QuerySet[Claim], *, verdicts: QuerySet[Verdict]
) -> QuerySet[ClaimRecord]:
    loaded = queryset.select_related("claimant").prefetch_related(
        Prefetch("tags", queryset=Tag.objects.order_by("name")),
        Prefetch("verdicts", queryset=verdicts.select_related("rating"), to_attr="loaded_verdicts"),
        Prefetch("evidence", queryset=evidence_rows(), to_attr="loaded_evidence"),
        Prefetch(
            "loaded_evidence__source__snapshots",
            queryset=latest_snapshot_per_source(),
            to_attr="latest_snapshots",
        ),
    )
    return cast("QuerySet[ClaimRecord]", loaded)


def published_only() -> QuerySet[Claim]:
    """The claims anyone may read: the published ones; unordered, nothing loaded."""
    return Claim.objects.filter(status=Claim.Status.PUBLISHED)


def published_claims() -> QuerySet[ClaimRecord]:
    """Published claims with everything their public record shows; unordered."""
    return _with_claim_relations(
        published_only(),
        # Only approved verdicts are loaded, so a correction in progress cannot leak.
        verdicts=Verdict.objects.filter(state=Verdict.State.APPROVED),
    )


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


def claim_shown_evidence(claim: ClaimRecord) -> list[Evidence]:
    """The evidence of the claim's record: for a published claim, exactly what its verdict cites."""
    evidence = claim.loaded_evidence
    verdict = claim_current_verdict(claim)
    if verdict is None or verdict.state != Verdict.State.APPROVED:
        return evidence
    cited = verdict.cited_evidence_ids()
    return [item for item in evidence if item.pk in cited]


def evidence_snapshot(evidence: Evidence) -> Snapshot | None:
    """The snapshot the quote was checked against, else the source's latest one (if loaded)."""
    if evidence.quote_checked_snapshot_id is not None:
        return evidence.quote_checked_snapshot
    latest = getattr(evidence.source, "latest_snapshots", None)
    return latest[0] if latest else None


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
