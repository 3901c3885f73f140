"""Reads of claims as the API and the public pages show them: what is loaded, and which verdict and
evidence make up a claim's public record.

A claim that has been published is shown as its published record: the latest approved verdict,
the earlier approved versions as corrections, and only the evidence that verdict's fingerprint
lists (a correction being drafted stays out of sight until it is approved). A claim that was never
published, which only staff can read, is shown as its work in progress: the open verdict and all
of its evidence.
"""

from __future__ import annotations

from datetime import datetime
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
    """What published_claim_reviews loads with each claim: its verdicts (approved ones only for the
    public), rating loaded."""

    loaded_verdicts: list[Verdict]


class LoadedRecord(LoadedVerdicts):
    """What published_claims and claims_for_staff load with each claim: its verdicts and its
    evidence, each source with its latest snapshot (see evidence_snapshot)."""

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


def published_claims() -> QuerySet[ClaimRecord]:
    """Published claims with everything their public record shows; unordered."""
    return _with_claim_relations(
        Claim.objects.filter(status=Claim.Status.PUBLISHED),
        # Only approved verdicts are loaded, so a correction in progress cannot leak.
        verdicts=Verdict.objects.filter(state=Verdict.State.APPROVED),
    )


def published_claim_reviews() -> QuerySet[ClaimWithVerdicts]:
    """Published claims with what their ClaimReview shows (claimant, approved verdicts and their
    ratings), without the evidence; unordered."""
    approved = Verdict.objects.filter(state=Verdict.State.APPROVED)
    loaded = (
        Claim.objects.filter(status=Claim.Status.PUBLISHED)
        # The workflow never publishes without an approved verdict; a row that somehow lacks one
        # has no review to show rather than breaking the feed.
        .filter(Exists(approved.filter(claim=OuterRef("pk"))))
        .select_related("claimant")
        .prefetch_related(
            Prefetch("verdicts", queryset=approved.select_related("rating"), to_attr="loaded_verdicts")
        )
    )
    return cast("QuerySet[ClaimWithVerdicts]", loaded)


def claims_for_staff() -> QuerySet[ClaimRecord]:
    """Every claim, whatever its status, with its open verdict loaded as well; unordered."""
    return _with_claim_relations(Claim.objects.all(), verdicts=Verdict.objects.all())


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


def claim_last_modified(claim: ClaimRecord) -> datetime:
    """When anything shown in the claim's record last changed (for Last-Modified)."""
    moments = [claim.updated_at, claim.source_flagged_at]
    for evidence in claim_shown_evidence(claim):
        source = evidence.source
        moments += [evidence.quote_checked_at, source.fetch_requested_at, source.last_fetched_at]
    return max(moment for moment in moments if moment is not None)


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
