"""Claims as the read API shows them (SPEC §5), built as plain dicts from a fixed number of queries
that fetch only the columns shown: the claims, their tags, their verdicts, their evidence with its
source and checked snapshot, and the sources' latest snapshots (the rating scale is read once more
when a rating has a value). No model instance or serializer is made per claim.

The shape is the one verifier.api.serializers.ClaimSerializer declares for the OpenAPI schema; what
a record shows (which verdict, which evidence, which snapshot) follows verifier.selectors.published.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypedDict, cast

from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse

from claims.models import Claim, Evidence
from sources.fetcher import Outcome
from sources.models import Source
from sources.selectors import latest_snapshot_per_source
from verifier.models import SourceFlag, Verdict
from verifier.selectors.published import RatingScale

Row = dict[str, Any]

CLAIM_COLUMNS = (
    "id", "text", "claim_date", "appearance_url", "status", "created_at", "published_at", "updated_at",
    "source_flag", "source_flagged_at", "claimant__name", "claimant__url", "language", "same_as_id",
    "same_as__status",
)
VERDICT_COLUMNS = (
    "claim_id", "version", "state", "summary", "explanation", "approved_at", "rating__label",
    "rating__value", "evidence_fingerprint", "correction_note",
)
SNAPSHOT_COLUMNS = ("final_url", "title", "http_status", "fetched_at", "content_sha256")
EVIDENCE_COLUMNS = (
    "id", "claim_id", "stance", "quote", "quote_status", "note", "quote_checked_at", "source_id",
    "source__url", "source__status", "source__outcome", "source__fetch_requested_at",
    "source__last_fetched_at",
    "quote_checked_snapshot_id",
    *(f"quote_checked_snapshot__{column}" for column in SNAPSHOT_COLUMNS),
)


REVIEW_CLAIM_COLUMNS = (
    "id", "text", "published_at", "updated_at", "claim_date", "appearance_url", "claimant__name",
    "claimant__kind", "claimant__url", "language",
)
REVIEW_VERDICT_COLUMNS = (
    "claim_id", "version", "approved_at", "summary", "correction_note", "rating__label", "rating__value",
    "evidence_fingerprint",
)


class ReviewedClaim(TypedDict):
    """What a ClaimReview (verifier.claimreview) shows of a published claim and its published
    verdict, as flat columns."""

    id: int
    text: str
    published_at: datetime
    updated_at: datetime
    claim_date: date | None
    appearance_url: str
    claimant__name: str
    claimant__kind: str
    claimant__url: str
    language: str
    version: int
    approved_at: datetime | None
    summary: str
    correction_note: str
    rating__label: str | None
    rating__value: int | None
    # The evidence the verdict cited at approval (Verdict.evidence_fingerprint): its archive pages.
    evidence_fingerprint: list[dict[str, Any]]

# When a shown piece of evidence last changed, besides its claim (as claim_last_modified reads it).
EVIDENCE_MOMENTS = ("quote_checked_at", "source__fetch_requested_at", "source__last_fetched_at")


@dataclass(frozen=True)
class ClaimPage:
    """Claim records in the order of their rows, and when anything they show last changed."""

    records: list[Row]
    last_modified: datetime | None


def claim_rows(claims: QuerySet[Claim]) -> QuerySet[Any]:
    """The columns of `claims` a record shows, as dicts: filter and page this, then build records."""
    return claims.values(*CLAIM_COLUMNS)


def claim_records(rows: Sequence[Row], *, published_only: bool) -> ClaimPage:
    """The records of the claims in `rows` (from claim_rows). `published_only` loads approved
    verdicts only, so a correction in progress cannot leak to the public."""
    ids = [row["id"] for row in rows]
    if not ids:
        return ClaimPage([], None)
    tags = _tag_names(ids)
    verdicts = _verdicts(ids, published_only=published_only)
    evidence = _evidence(ids)
    latest = _latest_snapshots({item["source_id"] for items in evidence.values() for item in items})
    flags = _open_flags([row["id"] for row in rows if row["source_flag"]])
    scale = RatingScale()
    records = []
    moments: list[datetime] = []
    for row in rows:
        claim_verdicts = verdicts.get(row["id"], [])
        verdict = _current_verdict(claim_verdicts)
        shown = _shown_evidence(evidence.get(row["id"], []), verdict)
        published = verdict is not None and verdict["state"] == Verdict.State.APPROVED
        records.append(
            {
                "id": row["id"],
                "url": _public_url(row["id"]),
                "text": row["text"],
                "claimant": {"name": row["claimant__name"], "url": row["claimant__url"]},
                "claim_date": row["claim_date"],
                "appearance_url": row["appearance_url"],
                "tags": tags.get(row["id"], []),
                "language": row["language"],
                "same_as": _same_as(row, published_only=published_only),
                "status": row["status"],
                "published_at": row["published_at"],
                "updated_at": row["updated_at"],
                "flag": flags.get(row["id"], []),
                "verdict": _verdict_record(verdict, claim_verdicts, scale) if verdict else None,
                "evidence": [
                    _evidence_record(item, _evidence_snapshot(item, latest), settled=published)
                    for item in shown
                ],
            }
        )
        moments += [row["updated_at"], row["source_flagged_at"]]
        if not published:
            # A published record moves its claim's updated_at whenever a reader could see a
            # difference; a draft's evidence shows every fetch as it happens.
            for item in shown:
                moments += [item[column] for column in EVIDENCE_MOMENTS]
    return ClaimPage(records, max(moment for moment in moments if moment is not None))


def review_rows(claims: QuerySet[Claim]) -> QuerySet[Any]:
    """The columns of `claims` (verifier.selectors.published.reviewable_claims, filtered) a
    ClaimReview shows, as dicts: filter and page this, then call reviewed_claims."""
    return claims.values(*REVIEW_CLAIM_COLUMNS)


def reviewed_claims(rows: Sequence[Row]) -> list[ReviewedClaim]:
    """The claims in `rows` (from review_rows) with their published verdicts: one query."""
    ids = [row["id"] for row in rows]
    latest: dict[int, Row] = {}
    approved = Verdict.objects.filter(claim_id__in=ids, state=Verdict.State.APPROVED)
    for verdict in approved.order_by("claim_id", "-version").values(*REVIEW_VERDICT_COLUMNS):
        latest.setdefault(verdict["claim_id"], verdict)
    # The columns are named as ReviewedClaim's keys.
    return [
        cast(ReviewedClaim, row | {column: latest[row["id"]][column] for column in REVIEW_VERDICT_COLUMNS})
        for row in rows
    ]


def evidence_record(pk: int) -> Row:
    """One evidence item as a claim record shows it (whether or not its claim's verdict cites it)."""
    evidence = Evidence.objects.filter(pk=pk).values(*EVIDENCE_COLUMNS).get()
    latest = _latest_snapshots([evidence["source_id"]])
    return _evidence_record(evidence, _evidence_snapshot(evidence, latest))


FLAG_COLUMNS = (
    "claim_id", "kind", "detected_at", "source__url", "approved_snapshot_id",
    "approved_snapshot__content_sha256", "new_snapshot_id", "new_snapshot__content_sha256",
    "new_snapshot__http_status",
)


def _open_flags(ids: list[int]) -> dict[int, list[Row]]:
    """The open flag entries of the claims in `ids` (those whose row says they are flagged, so an
    unflagged page costs no query), oldest first."""
    by_claim: dict[int, list[Row]] = defaultdict(list)
    if not ids:
        return by_claim
    open_flags = SourceFlag.objects.filter(claim_id__in=ids, state=SourceFlag.State.OPEN)
    for flag in open_flags.order_by("detected_at", "id").values(*FLAG_COLUMNS):
        by_claim[flag["claim_id"]].append(
            {
                "source": flag["source__url"],
                "kind": flag["kind"],
                "detected_at": flag["detected_at"],
                "approved_snapshot": {
                    "id": flag["approved_snapshot_id"],
                    "content_sha256": flag["approved_snapshot__content_sha256"],
                }
                if flag["approved_snapshot_id"] is not None
                else None,
                "new_snapshot": {
                    "id": flag["new_snapshot_id"],
                    "content_sha256": flag["new_snapshot__content_sha256"],
                    "http_status": flag["new_snapshot__http_status"],
                },
            }
        )
    return by_claim


def _same_as(row: Row, *, published_only: bool) -> int | None:
    # The public sees a link to a published claim only; a draft's id is not theirs to learn.
    if published_only and row["same_as__status"] != Claim.Status.PUBLISHED:
        return None
    return row["same_as_id"]


def _public_url(pk: int) -> str:
    return settings.PUBLIC_BASE_URL + reverse("claim-page", args=[pk])


def _tag_names(ids: list[int]) -> dict[int, list[str]]:
    names: dict[int, list[str]] = defaultdict(list)
    tagged = Claim.tags.through.objects.filter(claim_id__in=ids).order_by("tag__name")
    for claim_id, name in tagged.values_list("claim_id", "tag__name"):
        names[claim_id].append(name)
    return names


def _verdicts(ids: list[int], *, published_only: bool) -> dict[int, list[Row]]:
    verdicts = Verdict.objects.filter(claim_id__in=ids)
    if published_only:
        verdicts = verdicts.filter(state=Verdict.State.APPROVED)
    by_claim: dict[int, list[Row]] = defaultdict(list)
    # Newest version first: the order every choice below reads them in.
    for row in verdicts.order_by("claim_id", "-version").values(*VERDICT_COLUMNS):
        by_claim[row["claim_id"]].append(row)
    return by_claim


def _current_verdict(newest_first: list[Row]) -> Row | None:
    # As verifier.selectors.verdicts.current_verdict_among: the latest approved version, else the
    # one being worked on.
    for verdict in newest_first:
        if verdict["state"] == Verdict.State.APPROVED:
            return verdict
    return newest_first[0] if newest_first else None


def _verdict_record(verdict: Row, newest_first: list[Row], scale: RatingScale) -> Row:
    corrections = [
        _verdict_version(earlier, scale)
        for earlier in newest_first
        if earlier["state"] == Verdict.State.APPROVED and earlier["version"] < verdict["version"]
    ]
    return {**_verdict_version(verdict, scale), "corrections": corrections}


def _verdict_version(verdict: Row, scale: RatingScale) -> Row:
    return {
        "rating": _rating(verdict, scale),
        "summary": verdict["summary"],
        "explanation": verdict["explanation"],
        "version": verdict["version"],
        "published_at": verdict["approved_at"],
        "correction_note": verdict["correction_note"],
    }


def _rating(verdict: Row, scale: RatingScale) -> Row | None:
    if verdict["rating__label"] is None:
        return None
    value = verdict["rating__value"]
    return {
        "label": verdict["rating__label"],
        "value": value,
        "best": scale.best if value is not None else None,
        "worst": scale.worst if value is not None else None,
    }


def _evidence(ids: list[int]) -> dict[int, list[Row]]:
    by_claim: dict[int, list[Row]] = defaultdict(list)
    for row in Evidence.objects.filter(claim_id__in=ids).order_by("id").values(*EVIDENCE_COLUMNS):
        by_claim[row["claim_id"]].append(row)
    return by_claim


def _shown_evidence(evidence: list[Row], verdict: Row | None) -> list[Row]:
    # As verifier.selectors.published.claim_shown_evidence: a published verdict shows exactly what
    # it cited.
    if verdict is None or verdict["state"] != Verdict.State.APPROVED:
        return evidence
    cited = Verdict(evidence_fingerprint=verdict["evidence_fingerprint"]).cited_evidence_ids()
    return [item for item in evidence if item["id"] in cited]


def _latest_snapshots(source_ids: Iterable[int]) -> dict[int, Row]:
    latest = latest_snapshot_per_source().filter(source_id__in=list(source_ids))
    return {row["source_id"]: row for row in latest.values("source_id", *SNAPSHOT_COLUMNS)}


def _evidence_snapshot(evidence: Row, latest: dict[int, Row]) -> Row | None:
    """Which snapshot a record shows for the evidence, as verifier.selectors.published.evidence_snapshot:
    the one the quote was checked against, else the source's latest one."""
    if evidence["quote_checked_snapshot_id"] is not None:
        return {column: evidence[f"quote_checked_snapshot__{column}"] for column in SNAPSHOT_COLUMNS}
    return latest.get(evidence["source_id"])


def _source_status(evidence: Row, *, settled: bool) -> str:
    # A published fact-check shows how its source's last fetch ended, not the re-check running now,
    # so a re-check that finds the same page changes nothing a reader sees.
    status: str = evidence["source__status"]
    rechecking = status in (Source.Status.PENDING, Source.Status.FETCHING)
    if not settled or not rechecking or evidence["source__last_fetched_at"] is None:
        return status
    return Source.Status.FETCHED if evidence["source__outcome"] == Outcome.FETCHED else Source.Status.FAILED


def _evidence_record(evidence: Row, snapshot: Row | None, *, settled: bool = False) -> Row:
    shown: Row = snapshot or dict.fromkeys(SNAPSHOT_COLUMNS)
    return {
        "stance": evidence["stance"],
        "quote": evidence["quote"],
        "quote_status": evidence["quote_status"],
        "note": evidence["note"],
        "source": {
            "url": evidence["source__url"],
            "final_url": shown["final_url"],
            "title": shown["title"],
            "status": _source_status(evidence, settled=settled),
            "http_status": shown["http_status"],
            "fetched_at": shown["fetched_at"],
            "content_sha256": shown["content_sha256"],
        },
    }

