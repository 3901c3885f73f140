"""Reads of claims as the API and the public pages show them: what is loaded, and which verdict and
evidence make up a claim's public record.

A claim that has been published is shown as its published record: the latest approved verdict,
the earlier approved versions as corrections, and only the evidence that verdict's fingerprint
lists (a correction being drafted stays out of sight until it is approved). A claim that was never
published, which only staff can read, is shown as its work in progress: the open verdict and all
of its evidence.
"""

import re
from datetime import datetime
from functools import cached_property

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connections
from django.db.models import Exists, F, Max, Min, OuterRef, Prefetch, Q, QuerySet, Subquery, Window
from django.db.models.functions import Coalesce, RowNumber

from claims.models import Claim, Claimant, Evidence, Tag
from sources.models import Snapshot
from verifier.models import Rating, Verdict

# Never loaded for lists: extracted text and headers can be megabytes per snapshot.
SNAPSHOT_HEAVY_FIELDS = ("text", "headers", "redirect_chain")


def _snapshot_summaries() -> QuerySet[Snapshot]:
    return Snapshot.objects.defer(*SNAPSHOT_HEAVY_FIELDS)


def _latest_snapshot_per_source() -> QuerySet[Snapshot]:
    # The prefetch adds "source_id IN (...)"; the window then keeps each source's newest row.
    return _snapshot_summaries().annotate(
        newest_rank=Window(
            RowNumber(), partition_by=[F("source_id")], order_by=[F("fetched_at").desc(), F("id").desc()]
        )
    ).filter(newest_rank=1)


def _evidence_rows() -> QuerySet[Evidence]:
    deferred = (f"quote_checked_snapshot__{field}" for field in SNAPSHOT_HEAVY_FIELDS)
    return Evidence.objects.select_related("source", "quote_checked_snapshot").defer(*deferred).order_by("id")


def evidence_with_sources() -> QuerySet[Evidence]:
    """Evidence with its source, the snapshot its quote was checked against and the source's latest
    snapshot (`source.latest_snapshots`), without snapshot text."""
    return _evidence_rows().prefetch_related(
        Prefetch("source__snapshots", queryset=_latest_snapshot_per_source(), to_attr="latest_snapshots")
    )


def _with_claim_relations(queryset: QuerySet[Claim], *, verdicts: QuerySet[Verdict]) -> QuerySet[Claim]:
    return queryset.select_related("claimant").prefetch_related(
        Prefetch("tags", queryset=Tag.objects.order_by("name")),
        Prefetch("verdicts", queryset=verdicts.select_related("rating"), to_attr="loaded_verdicts"),
        Prefetch("evidence", queryset=_evidence_rows(), to_attr="loaded_evidence"),
        Prefetch(
            "loaded_evidence__source__snapshots",
            queryset=_latest_snapshot_per_source(),
            to_attr="latest_snapshots",
        ),
    )


def published_claims() -> QuerySet[Claim]:
    """Published claims with everything their public record shows; unordered."""
    return _with_claim_relations(
        Claim.objects.filter(status=Claim.Status.PUBLISHED),
        # Only approved verdicts are loaded, so a correction in progress cannot leak.
        verdicts=Verdict.objects.filter(state=Verdict.State.APPROVED),
    )


def published_claim_reviews() -> QuerySet[Claim]:
    """Published claims with what their ClaimReview shows (claimant, approved verdicts and their
    ratings), without the evidence; unordered."""
    approved = Verdict.objects.filter(state=Verdict.State.APPROVED)
    return (
        Claim.objects.filter(status=Claim.Status.PUBLISHED)
        # The workflow never publishes without an approved verdict; a row that somehow lacks one
        # has no review to show rather than breaking the feed.
        .filter(Exists(approved.filter(claim=OuterRef("pk"))))
        .select_related("claimant")
        .prefetch_related(
            Prefetch("verdicts", queryset=approved.select_related("rating"), to_attr="loaded_verdicts")
        )
    )


def claims_for_staff() -> QuerySet[Claim]:
    """Every claim, whatever its status, with its open verdict loaded as well; unordered."""
    return _with_claim_relations(Claim.objects.all(), verdicts=Verdict.objects.all())


def claim_current_verdict(claim: Claim) -> Verdict | None:
    """The latest approved verdict; for a never-published claim, its open verdict (if loaded)."""
    verdicts = sorted(claim.loaded_verdicts, key=lambda verdict: verdict.version, reverse=True)  # type: ignore[attr-defined]
    approved = [verdict for verdict in verdicts if verdict.state == Verdict.State.APPROVED]
    if approved:
        return approved[0]
    return verdicts[0] if verdicts else None


def claim_corrections(claim: Claim, verdict: Verdict) -> list[Verdict]:
    """The approved versions before `verdict`, newest first: the correction history."""
    return sorted(
        (
            earlier
            for earlier in claim.loaded_verdicts  # type: ignore[attr-defined]
            if earlier.state == Verdict.State.APPROVED and earlier.version < verdict.version
        ),
        key=lambda earlier: earlier.version,
        reverse=True,
    )


def claim_shown_evidence(claim: Claim) -> list[Evidence]:
    """The evidence of the claim's record: for a published claim, exactly what its verdict cites."""
    evidence: list[Evidence] = claim.loaded_evidence  # type: ignore[attr-defined]
    verdict = claim_current_verdict(claim)
    if verdict is None or verdict.state != Verdict.State.APPROVED:
        return evidence
    cited = {entry["evidence"] for entry in verdict.evidence_fingerprint}
    return [item for item in evidence if item.pk in cited]


def evidence_snapshot(evidence: Evidence) -> Snapshot | None:
    """The snapshot the quote was checked against, else the source's latest one (if loaded)."""
    if evidence.quote_checked_snapshot_id is not None:
        return evidence.quote_checked_snapshot
    latest = getattr(evidence.source, "latest_snapshots", None)
    return latest[0] if latest else None


def claim_last_modified(claim: Claim) -> datetime:
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


def ratings_matching(value: str) -> QuerySet[Rating]:
    """Ratings whose label (any case) or slug is `value`."""
    value = value.strip()
    return Rating.objects.filter(Q(label__iexact=value) | Q(slug=value.lower()))


def claims_with_current_rating(queryset: QuerySet[Claim], ratings: QuerySet[Rating]) -> QuerySet[Claim]:
    """Claims whose current verdict (as claim_current_verdict picks it) has one of `ratings`."""
    latest_approved = Verdict.objects.filter(claim=OuterRef("pk"), state=Verdict.State.APPROVED).order_by(
        "-version"
    )
    open_verdict = Verdict.objects.filter(claim=OuterRef("pk")).exclude(state=Verdict.State.APPROVED)
    return queryset.annotate(
        current_rating_id=Coalesce(
            Subquery(latest_approved.values("rating_id")[:1]), Subquery(open_verdict.values("rating_id")[:1])
        )
    ).filter(current_rating_id__in=ratings.values("pk"))


def claims_tagged(queryset: QuerySet[Claim], tag: str) -> QuerySet[Claim]:
    """Claims carrying the tag with this slug or name (any case)."""
    tag = tag.strip()
    tagged = Claim.tags.through.objects.filter(claim_id=OuterRef("pk")).filter(
        Q(tag__slug=tag.lower()) | Q(tag__name__iexact=tag)
    )
    return queryset.filter(Exists(tagged))


# The text search configuration of the indexes in claims/migrations/0002_claim_search.py: the
# expressions filtered on below must stay the indexed ones, or the planner will not use them.
SEARCH_CONFIG = "english"


def claims_matching_text(queryset: QuerySet[Claim], words: str) -> QuerySet[Claim]:
    """Claims whose text or claimant's name matches `words`: PostgreSQL full-text search (web search
    syntax, English stemming), or on other databases every word as a substring of either."""
    if connections[queryset.db].vendor == "postgresql":
        return _claims_matching_full_text(queryset, words)
    terms = re.findall(r"\w+", words)
    if not terms:
        return queryset.none()
    for term in terms:
        queryset = queryset.filter(Q(text__icontains=term) | Q(claimant__name__icontains=term))
    return queryset


def _claims_matching_full_text(queryset: QuerySet[Claim], words: str) -> QuerySet[Claim]:
    search = SearchQuery(words, config=SEARCH_CONFIG, search_type="websearch")
    # Resolved first, into a list: the planner can OR two index scans of the claims table together,
    # but not an index scan with a subquery, and would then compute every claim's tsvector.
    claimant_ids = list(
        Claimant.objects.alias(document=SearchVector("name", config=SEARCH_CONFIG))
        .filter(document=search)
        .values_list("pk", flat=True)
    )
    matches = Q(text_document=search)
    if claimant_ids:
        matches |= Q(claimant_id__in=claimant_ids)
    return queryset.alias(text_document=SearchVector("text", config=SEARCH_CONFIG)).filter(matches)
