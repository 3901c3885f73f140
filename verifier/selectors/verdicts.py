"""Which verdict of a claim counts, in the two senses the product uses, each defined here once.

- The current verdict: the latest approved version or, for a claim never published, the one being
  worked on. The public record shows it, and the `rating` filters of the API and of the admin's
  claim list select by it, so the two lists agree on what a claim is rated.
- The latest verdict: the newest version whatever its state, that is the work in progress (a
  correction being drafted or reviewed, on a published claim); the admin's claim list shows it.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, Max, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.lookups import Exact

from claims.models import Claim, Evidence
from verifier.models import Rating, Verdict


def current_verdict_among(verdicts: Sequence[Verdict]) -> Verdict | None:
    """The current verdict among a claim's `verdicts` (all of them, or its approved ones)."""
    newest_first = sorted(verdicts, key=lambda verdict: verdict.version, reverse=True)
    approved = [verdict for verdict in newest_first if verdict.state == Verdict.State.APPROVED]
    if approved:
        return approved[0]
    return newest_first[0] if newest_first else None


def claim_open_verdict(claim: Claim) -> Verdict | None:
    """The verdict being worked on (a draft or in review), if any: at most one per claim."""
    return claim.verdicts.exclude(state=Verdict.State.APPROVED).first()


def current_verdicts() -> QuerySet[Verdict]:
    """The verdicts that are their claim's current verdict: one per claim that has any, the one
    no approved verdict of the same claim outranks (a later approved version or, for a verdict not
    approved, any approved one).

    One NOT EXISTS, which the database runs as an anti-join: filtering claims by these (`pk__in`
    their claim ids) keeps counting a filtered list of 100,000 claims as cheap as a plain filter.
    """
    outranking = Verdict.objects.filter(claim=OuterRef("claim"), state=Verdict.State.APPROVED).filter(
        Q(version__gt=OuterRef("version")) | ~Q(Exact(OuterRef("state"), Value(Verdict.State.APPROVED)))
    )
    return Verdict.objects.filter(~Exists(outranking))


def ratings_matching(value: str) -> QuerySet[Rating]:
    """Ratings whose label (any case) or slug is `value`: how every `rating` filter reads its value."""
    value = value.strip()
    return Rating.objects.filter(Q(label__iexact=value) | Q(slug=value.lower()))


def claims_with_current_rating(
    claims: QuerySet[Claim], ratings: QuerySet[Rating] | None
) -> QuerySet[Claim]:
    """The claims whose current verdict has one of `ratings`; None: the claims whose current verdict
    has no rating, or that have no verdict."""
    current = current_verdicts()
    if ratings is None:
        return claims.exclude(pk__in=current.filter(rating__isnull=False).values("claim"))
    return claims.filter(pk__in=current.filter(rating__in=ratings).values("claim"))


def claims_with_latest_verdict(claims: QuerySet[Claim]) -> QuerySet[Claim]:
    """The claims annotated with their latest verdict's rating label (`latest_rating`) and state
    (`latest_verdict_state`), in the same query."""
    latest = Verdict.objects.filter(claim=OuterRef("pk")).order_by("-version")
    return claims.annotate(
        latest_rating=Subquery(latest.values("rating__label")[:1]),
        latest_verdict_state=Subquery(latest.values("state")[:1]),
    )


@dataclass(frozen=True)
class VerdictContributors:
    """Who had a hand in one verdict version, for the four-eyes rule (SPEC §10)."""

    writer_ids: frozenset[int]
    submitter_ids: frozenset[int]
    evidence_editor_ids: frozenset[int]


_VERDICT_CONTENT_FIELDS = ("rating_id", "summary", "explanation")


def verdicts_contributors(*, verdicts: Sequence[Verdict]) -> dict[int, VerdictContributors]:
    """For each open verdict version: who wrote any of its content (its field history), who
    submitted it, and who added, edited or removed its claim's evidence since the claim's last
    approval. Two queries however many verdicts, so the review queue can show the rule per row."""
    verdict_ids = [verdict.pk for verdict in verdicts]
    claim_ids = {verdict.claim_id for verdict in verdicts}
    writers: dict[int, set[int]] = defaultdict(set)
    submitters: dict[int, set[int]] = defaultdict(set)
    previous: dict[int, dict[str, Any]] = {}
    records = (
        Verdict.history.filter(id__in=verdict_ids)
        .order_by("id", "history_date", "history_id")
        .values("id", "history_user_id", "state", *_VERDICT_CONTENT_FIELDS)
    )
    for record in records:
        before = previous.get(record["id"])
        user_id = record["history_user_id"]
        if user_id is not None:
            if before is None or any(
                record[field] != before[field] for field in _VERDICT_CONTENT_FIELDS
            ):
                writers[record["id"]].add(user_id)
            if record["state"] == Verdict.State.IN_REVIEW and (
                before is None or before["state"] != Verdict.State.IN_REVIEW
            ):
                submitters[record["id"]].add(user_id)
        previous[record["id"]] = record
    last_approval = dict(
        Verdict.objects.filter(claim_id__in=claim_ids, state=Verdict.State.APPROVED)
        .values("claim_id")
        .annotate(last=Max("approved_at"))
        .values_list("claim_id", "last")
    )
    evidence_records = Evidence.history.filter(claim_id__in=claim_ids).values_list(
        "claim_id", "history_date", "history_user_id", "author_id", "history_type"
    )
    evidence_editors: dict[int, set[int]] = defaultdict(set)
    for claim_id, changed_at, user_id, author_id, history_type in evidence_records:
        since = last_approval.get(claim_id)
        if since is not None and changed_at <= since:
            continue
        if user_id is not None:
            evidence_editors[claim_id].add(user_id)
        if history_type == "+":
            evidence_editors[claim_id].add(author_id)
    return {
        verdict.pk: VerdictContributors(
            writer_ids=frozenset(writers[verdict.pk] | {verdict.author_id}),
            submitter_ids=frozenset(submitters[verdict.pk]),
            evidence_editor_ids=frozenset(evidence_editors[verdict.claim_id]),
        )
        for verdict in verdicts
    }
