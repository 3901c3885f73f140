"""Claims as the read API shows them (SPEC §5), built as plain dicts from a fixed number of queries
that fetch only the columns shown: the claims, their tags, their verdicts, their evidence with its
source and snapshots (verifier.selectors.evidence; one more query only for snapshots frozen at
publication that a source has since left behind); the bounds of the rating scale come with the
verdicts.
No model instance or serializer is made per claim.

The shape is the one verifier.api.serializers.ClaimSerializer declares for the OpenAPI schema; which
verdict a record shows follows verifier.selectors.published, which evidence and snapshots follows
verifier.selectors.evidence.
"""

import functools
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypedDict, cast

from django.conf import settings
from django.db.models import QuerySet
from django.urls import URLResolver, get_resolver, get_script_prefix, get_urlconf, reverse

from claims.models import Claim
from core.compiled_rows import CompiledRows, OneOfIds, rows_together
from verifier.models import SourceFlag, Verdict
from verifier.selectors.evidence import EVIDENCE_ROWS, ShownEvidence, evidence_by_claim
from verifier.selectors.published import rating_scale_bound

Row = dict[str, Any]

CLAIM_COLUMNS = (
    "id", "text", "claim_date", "appearance_url", "status", "created_at", "published_at", "updated_at",
    "source_flag", "source_flagged_at", "claimant__name", "claimant__url", "language", "same_as_id",
    "same_as__status",
)
VERDICT_COLUMNS = (
    "claim_id", "version", "state", "summary", "explanation", "approved_at", "rating__label",
    "rating__value", "evidence_fingerprint", "correction_note", "scale_best", "scale_worst",
)


REVIEW_CLAIM_COLUMNS = (
    "id", "text", "published_at", "updated_at", "claim_date", "appearance_url", "claimant__name",
    "claimant__kind", "claimant__url", "language",
)
REVIEW_VERDICT_COLUMNS = (
    "claim_id", "version", "approved_at", "summary", "correction_note", "rating__label", "rating__value",
    "evidence_fingerprint", "scale_best", "scale_worst",
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
    # The bounds of the numeric rating scale, for a rating on it.
    scale_best: int | None
    scale_worst: int | None

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
    # Three statements, in one round trip where the database allows it.
    tag_rows, verdict_rows, evidence_rows = rows_together(
        (_TAG_ROWS, ids), (_VERDICT_ROWS[published_only], ids), (EVIDENCE_ROWS, ids)
    )
    tags = _tag_names(tag_rows)
    verdicts = _verdicts(verdict_rows)
    evidence = evidence_by_claim(evidence_rows)
    shown_verdicts = {claim_id: _current_verdict(newest_first) for claim_id, newest_first in verdicts.items()}
    shown_evidence = ShownEvidence(evidence, shown_verdicts)
    flags = _open_flags([row["id"] for row in rows if row["source_flag"]])
    public_url = public_urls("claim-page")
    records = []
    moments: list[datetime] = []
    for row in rows:
        claim_verdicts = verdicts.get(row["id"], [])
        verdict = shown_verdicts.get(row["id"])
        published = verdict is not None and verdict["state"] == Verdict.State.APPROVED
        records.append(
            {
                "id": row["id"],
                "url": public_url(row["id"]),
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
                "verdict": _verdict_record(verdict, claim_verdicts) if verdict else None,
                "evidence": shown_evidence.of_claim(row["id"]),
            }
        )
        moments += [row["updated_at"], row["source_flagged_at"]]
        if not published:
            # A published record shows the evidence frozen at approval; what a re-check finds moves
            # its claim's updated_at when a reader could see a difference. A draft's evidence shows
            # every fetch as it happens.
            for item in shown_evidence.shown_rows(row["id"]):
                moments += [item[column] for column in EVIDENCE_MOMENTS]
    return ClaimPage(records, max(moment for moment in moments if moment is not None))


def review_rows(claims: QuerySet[Claim]) -> QuerySet[Any]:
    """The columns of `claims` (verifier.selectors.published.reviewable_claims, filtered) a
    ClaimReview shows, as dicts: filter and page this, then call reviewed_claims."""
    return claims.values(*REVIEW_CLAIM_COLUMNS)


_REVIEW_VERDICT_ROWS = CompiledRows(
    lambda ids: Verdict.objects.filter(OneOfIds("claim_id", ids), state=Verdict.State.APPROVED)
    .annotate(scale_best=rating_scale_bound(best=True), scale_worst=rating_scale_bound(best=False))
    .order_by("claim_id", "-version")
    .values(*REVIEW_VERDICT_COLUMNS)
)


def reviewed_claims(rows: Sequence[Row]) -> list[ReviewedClaim]:
    """The claims in `rows` (from review_rows) with their published verdicts and the rating
    scale's bounds: one query."""
    ids = [row["id"] for row in rows]
    latest: dict[int, Row] = {}
    for verdict in _REVIEW_VERDICT_ROWS.rows(ids):
        # Newest first: the first of each claim's is its published verdict.
        latest.setdefault(verdict.pop("claim_id"), verdict)
    # The other columns are named as ReviewedClaim's keys.
    return [cast(ReviewedClaim, row | latest[row["id"]]) for row in rows]


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


def public_urls(route: str) -> Callable[[int], str]:
    """The public URL of the page `route` names (its one argument an <int:...> id) by id, from one
    reverse() for a whole page of records: reverse() per link cost about a third of a feed page's
    CPU. The reverse() is kept for the script prefix and URL configuration it read (the request's)."""
    head, tail = _url_around_id(route, get_script_prefix(), get_resolver(get_urlconf()))
    prefix = settings.PUBLIC_BASE_URL + head
    return lambda pk: f"{prefix}{pk}{tail}"


@functools.lru_cache(maxsize=64)
def _url_around_id(route: str, script_prefix: str, resolver: URLResolver) -> tuple[str, str]:
    # The path of `route` before and after its id. `resolver`, the URL configuration's (a new one
    # when Django clears its URL caches), is part of the key though only reverse() reads it.
    probe = reverse(route, args=[_URL_PROBE])
    head, tail = probe.split(str(_URL_PROBE), 1)
    return head, tail


# An id no URL pattern's other parts can contain (the pages public_urls builds take it as an <int:...>).
_URL_PROBE = 987654321987654321


_TAG_ROWS = CompiledRows(
    lambda ids: Claim.tags.through.objects.filter(OneOfIds("claim_id", ids))
    .order_by("tag__name")
    .values("claim_id", "tag__name")
)


def _tag_names(rows: list[Row]) -> dict[int, list[str]]:
    names: dict[int, list[str]] = defaultdict(list)
    for row in rows:
        names[row["claim_id"]].append(row["tag__name"])
    return names


def _verdict_rows(ids: object, *, approved_only: bool) -> QuerySet[Any]:
    verdicts = Verdict.objects.filter(OneOfIds("claim_id", ids)).annotate(
        scale_best=rating_scale_bound(best=True), scale_worst=rating_scale_bound(best=False)
    )
    if approved_only:
        verdicts = verdicts.filter(state=Verdict.State.APPROVED)
    # Newest version first: the order every choice below reads them in.
    return verdicts.order_by("claim_id", "-version").values(*VERDICT_COLUMNS)


# By whether only approved verdicts are read (the public's records).
_VERDICT_ROWS = {
    True: CompiledRows(lambda ids: _verdict_rows(ids, approved_only=True)),
    False: CompiledRows(lambda ids: _verdict_rows(ids, approved_only=False)),
}


def _verdicts(rows: list[Row]) -> dict[int, list[Row]]:
    by_claim: dict[int, list[Row]] = defaultdict(list)
    for row in rows:
        by_claim[row["claim_id"]].append(row)
    return by_claim


def _current_verdict(newest_first: list[Row]) -> Row | None:
    # As verifier.selectors.verdicts.current_verdict_among: the latest approved version, else the
    # one being worked on.
    for verdict in newest_first:
        if verdict["state"] == Verdict.State.APPROVED:
            return verdict
    return newest_first[0] if newest_first else None


def _verdict_record(verdict: Row, newest_first: list[Row]) -> Row:
    corrections = [
        _verdict_version(earlier)
        for earlier in newest_first
        if earlier["state"] == Verdict.State.APPROVED and earlier["version"] < verdict["version"]
    ]
    return {**_verdict_version(verdict), "corrections": corrections}


def _verdict_version(verdict: Row) -> Row:
    return {
        "rating": _rating(verdict),
        "summary": verdict["summary"],
        "explanation": verdict["explanation"],
        "version": verdict["version"],
        "published_at": verdict["approved_at"],
        "correction_note": verdict["correction_note"],
    }


def _rating(verdict: Row) -> Row | None:
    if verdict["rating__label"] is None:
        return None
    value = verdict["rating__value"]
    return {
        "label": verdict["rating__label"],
        "value": value,
        "best": verdict["scale_best"] if value is not None else None,
        "worst": verdict["scale_worst"] if value is not None else None,
    }
