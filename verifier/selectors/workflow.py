"""Reads of claims shared by the admin and the pages: each declares what it loads."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias, TypedDict, cast

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Exists, OuterRef, Prefetch, QuerySet, Subquery
from django.utils import timezone

from claims.models import Claim, Evidence, Tag
from claims.selectors import evidence_at_a_glance
from verifier.models import FingerprintEntry, ReviewLogEntry, Verdict
from verifier.selectors.attention import claims_with_attention
from verifier.selectors.verdicts import claims_with_latest_verdict


class LoadedForReview(TypedDict):
    """What claims_for_review loads with each claim."""

    submitted_at: datetime.datetime
    review_verdicts: list[Verdict]
    review_evidence: list[Evidence]
    latest_comments: list[ReviewLogEntry]


class LoadedForExport(TypedDict):
    """What claims_for_export loads with each claim."""

    listed_tags: list[Tag]
    export_verdicts: list[Verdict]


if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

    ClaimForReview: TypeAlias = WithAnnotations[Claim, LoadedForReview]
    ClaimForExport: TypeAlias = WithAnnotations[Claim, LoadedForExport]


def claims_for_list(claims: QuerySet[Claim]) -> QuerySet[Claim]:
    """A page of a claim list: the latest verdict (claims_with_latest_verdict), what needs attention
    (claims_with_attention) and the tags (`listed_tags`), in two queries whatever the page size."""
    return (
        claims_with_attention(claims_with_latest_verdict(claims))
        .prefetch_related(
            Prefetch("tags", queryset=Tag.objects.order_by("name"), to_attr="listed_tags")
        )
    )


# The hand-offs whose comment the review queue shows: the reviewer's request for changes and the
# fact-checker's note when submitting again.
HAND_OFF_COMMENT_ACTIONS = (ReviewLogEntry.Action.SUBMIT, ReviewLogEntry.Action.REQUEST_CHANGES)


def verdicts_in_review() -> QuerySet[Verdict]:
    """Verdicts awaiting a reviewer, oldest submission first: the review queue's order. At most
    one verdict per claim is open, so paging these pages the claims."""
    return Verdict.objects.filter(state=Verdict.State.IN_REVIEW).order_by("submitted_at", "pk")


def claims_for_review(claim_ids: Sequence[int]) -> list[ClaimForReview]:
    """These claims in this order, those still in review, with what the queue shows.

    Each claim carries `submitted_at`, what needs attention (claims_with_attention),
    `review_verdicts` (the verdict in review and the approved versions, newest first, rating and
    author loaded), `review_evidence` (its evidence with the source's fetch state) and
    `latest_comments` (the latest comment a submission or a request for changes left, with its
    actor, or nothing): four queries for any number of claims.
    """
    # order_by(): the verdicts' default ordering would join and sort the claims again per row.
    in_review = Verdict.objects.filter(claim=OuterRef("pk"), state=Verdict.State.IN_REVIEW).order_by()
    latest_comment = (
        ReviewLogEntry.objects.filter(action__in=HAND_OFF_COMMENT_ACTIONS)
        .exclude(comment="")
        .select_related("actor")
        .order_by("-sequence")[:1]
    )
    claims = (
        claims_with_attention(Claim.objects.filter(Exists(in_review), pk__in=list(claim_ids)))
        .select_related("claimant", "assignee")
        .annotate(submitted_at=Subquery(in_review.values("submitted_at")[:1]))
        .prefetch_related(
            Prefetch("review_log", queryset=latest_comment, to_attr="latest_comments"),
            Prefetch(
                "verdicts",
                queryset=Verdict.objects.filter(
                    state__in=[Verdict.State.IN_REVIEW, Verdict.State.APPROVED]
                )
                .select_related("rating", "author")
                .order_by("-version"),
                to_attr="review_verdicts",
            ),
            Prefetch("evidence", queryset=evidence_at_a_glance(), to_attr="review_evidence"),
        )
    )
    by_id = {claim.pk: claim for claim in cast("QuerySet[ClaimForReview]", claims)}
    return [by_id[pk] for pk in claim_ids if pk in by_id]


def claim_verdicts(claim: Claim) -> list[Verdict]:
    """Every version of the claim's verdict, newest first, with rating, author and reviewer."""
    return list(
        claim.verdicts.select_related("rating", "author", "reviewer").order_by("-version")
    )


@dataclass(frozen=True)
class VerdictChanges:
    """What a correction in review changes against the published verdict."""

    published: Verdict
    proposed: Verdict
    evidence_added: list[Evidence]
    # Entries of the published verdict's evidence fingerprint no longer among the evidence.
    evidence_removed: list[FingerprintEntry]

    @property
    def rating_changed(self) -> bool:
        return self.published.rating_id != self.proposed.rating_id

    @property
    def summary_changed(self) -> bool:
        return self.published.summary != self.proposed.summary

    @property
    def explanation_changed(self) -> bool:
        return self.published.explanation != self.proposed.explanation

    @property
    def any(self) -> bool:
        return bool(
            self.rating_changed
            or self.summary_changed
            or self.explanation_changed
            or self.evidence_added
            or self.evidence_removed
        )


def verdict_changes(
    *, published: Verdict, proposed: Verdict, evidence: Sequence[Evidence]
) -> VerdictChanges:
    """The correction `proposed` compared with `published`, whose evidence is the set frozen in its
    fingerprint at approval; `evidence` is the claim's evidence now."""
    published_ids = published.cited_evidence_ids()
    current_ids = {row.pk for row in evidence}
    return VerdictChanges(
        published=published,
        proposed=proposed,
        evidence_added=[row for row in evidence if row.pk not in published_ids],
        evidence_removed=[
            entry for entry in published.fingerprint() if entry["evidence"] not in current_ids
        ],
    )


def claims_for_export(claims: QuerySet[Claim]) -> QuerySet[ClaimForExport]:
    """Claims with what a CSV row shows: claimant, assignee, tags (`listed_tags`) and every verdict
    version newest first (`export_verdicts`); verifier.csv_io reads their evidence per batch."""
    loaded = (
        claims.select_related("claimant", "assignee")
        .prefetch_related(
            Prefetch("tags", queryset=Tag.objects.order_by("name"), to_attr="listed_tags"),
            Prefetch(
                "verdicts",
                queryset=Verdict.objects.select_related("rating", "author", "reviewer").order_by(
                    "-version"
                ),
                to_attr="export_verdicts",
            ),
        )
        .order_by("pk")
    )
    return cast("QuerySet[ClaimForExport]", loaded)


def published_claims_for_export() -> QuerySet[ClaimForExport]:
    """Every published claim, loaded for the CSV export, oldest first."""
    return claims_for_export(Claim.objects.filter(status=Claim.Status.PUBLISHED))


def claim_review_log(claim: Claim) -> list[ReviewLogEntry]:
    """The claim's review log entries, oldest first, with actor and verdict."""
    return list(
        ReviewLogEntry.objects.filter(claim=claim).select_related("actor", "verdict").order_by("sequence")
    )


@dataclass(frozen=True)
class FieldChange:
    """One recorded change of a claim, one of its evidence rows or one of its verdicts."""

    when: datetime.datetime
    who: Any
    subject: str
    kind: str
    # (field, old value, new value) for a change; empty for a creation or a deletion.
    fields: list[tuple[str, str, str]]


_HISTORY_SKIPPED_FIELDS = {"id", "created_at", "updated_at", "history_id", "fetch_token"}
_HISTORY_KINDS = {"+": "created", "~": "changed", "-": "deleted"}


def _history_value(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, datetime.datetime):
        return f"{timezone.localtime(value):%Y-%m-%d %H:%M}"
    text = str(value)
    return text if len(text) <= 120 else text[:117] + "…"


def _field_display(record: Any, field: Any) -> str:
    if field.is_relation:
        try:
            return _history_value(getattr(record, field.name))
        except ObjectDoesNotExist:  # a deleted related row: its id is all that is left
            return f"#{getattr(record, field.attname)}"
    value = getattr(record, field.attname)
    if field.choices:
        value = dict(field.flatchoices).get(value, value)
    return _history_value(value)


def _changes_of(records: list[Any], subject: Callable[[Any], str]) -> list[FieldChange]:
    """Each record of one model's history against the previous record of the same row.

    Not simple_history's diff_against: it leaves out fields that are not editable in forms, and
    those (status, state, published_at, the source flag) are the workflow's history.
    """
    changes = []
    previous: dict[int, Any] = {}
    for record in records:
        before = previous.get(record.id)
        previous[record.id] = record
        fields: list[tuple[str, str, str]] = []
        if before is not None and record.history_type == "~":
            for field in record.tracked_fields:
                if field.name in _HISTORY_SKIPPED_FIELDS:
                    continue
                if getattr(before, field.attname) != getattr(record, field.attname):
                    fields.append(
                        (
                            str(field.verbose_name),
                            _field_display(before, field),
                            _field_display(record, field),
                        )
                    )
            if not fields:
                continue  # saved without a visible change
        changes.append(
            FieldChange(
                when=record.history_date,
                who=record.history_user,
                subject=subject(record),
                kind=_HISTORY_KINDS.get(record.history_type, record.history_type),
                fields=fields,
            )
        )
    return changes


def claim_field_history(claim: Claim, *, limit: int = 30) -> list[FieldChange]:
    """The latest field-level changes of the claim, its evidence and its verdicts, newest first:
    three queries."""
    claim_records = list(
        Claim.history.filter(id=claim.pk)  # type: ignore[attr-defined]
        .select_related("history_user", "claimant", "assignee")
        .order_by("history_date", "history_id")
    )
    evidence_records = list(
        Evidence.history.filter(claim_id=claim.pk)  # type: ignore[attr-defined]
        .select_related("history_user", "source")
        .order_by("history_date", "history_id")
    )
    verdict_records = list(
        Verdict.history.filter(claim_id=claim.pk)  # type: ignore[attr-defined]
        .select_related("history_user", "rating", "reviewer")
        .order_by("history_date", "history_id")
    )
    changes = [
        *_changes_of(claim_records, lambda record: "claim"),
        *_changes_of(
            evidence_records, lambda record: f"evidence #{record.id} ({record.source.url})"
        ),
        *_changes_of(verdict_records, lambda record: f"verdict version {record.version}"),
    ]
    changes.sort(key=lambda change: change.when, reverse=True)
    return changes[:limit]
