"""What needs someone's attention on the desk (SPEC §8): the warnings shown before a verdict is
submitted or approved, the attention markers of every claim list, the reviewer's request for
changes a claim was sent back with, and each person's "My work".

The admin and the API read these; nothing here refuses anything: warnings warn.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery

from claims.models import Claim, Evidence
from core.roles import is_fact_checker, is_reviewer
from sources.models import Source
from verifier.models import ReviewLogEntry, Verdict

# The review log's actions that decide where a verdict in the workflow stands: the latest of them
# says whether the claim was sent back and not yet resubmitted.
_HAND_OFF_ACTIONS = (
    ReviewLogEntry.Action.SUBMIT,
    ReviewLogEntry.Action.REQUEST_CHANGES,
    ReviewLogEntry.Action.APPROVE,
)
_SOURCE_UNDER_WAY = (Source.Status.PENDING, Source.Status.FETCHING)


@dataclass(frozen=True)
class PublishingWarning:
    """One reason to look twice before submitting or approving: a quote not found in its source,
    a source still being fetched, or a source whose fetch failed."""

    QUOTE_NOT_FOUND = "quote_not_found"
    SOURCE_PENDING = "source_pending"
    SOURCE_FAILED = "source_failed"

    code: str
    evidence: int
    url: str
    message: str

    @property
    def key(self) -> str:
        """Names this warning in a confirmation form: what the person saw and accepted."""
        return f"{self.code}:{self.evidence}"


def publishing_warnings(evidence: Iterable[Evidence]) -> list[PublishingWarning]:
    """The warnings for these evidence rows (loaded with their source), in their order."""
    warnings: list[PublishingWarning] = []
    for row in evidence:
        source = row.source
        found: list[tuple[str, str]] = []
        if row.quote_status == Evidence.QuoteStatus.NOT_FOUND:
            found.append(
                (
                    PublishingWarning.QUOTE_NOT_FOUND,
                    f"The quote of evidence #{row.pk} was not found in {source.url}.",
                )
            )
        if source.status in _SOURCE_UNDER_WAY:
            found.append(
                (
                    PublishingWarning.SOURCE_PENDING,
                    f"{source.url} (evidence #{row.pk}) is still being fetched: "
                    "its quote is not checked yet.",
                )
            )
        elif source.status == Source.Status.FAILED:
            reason = f": {source.outcome_reason}" if source.outcome_reason else ""
            found.append(
                (
                    PublishingWarning.SOURCE_FAILED,
                    f"The last fetch of {source.url} (evidence #{row.pk}) failed{reason}.",
                )
            )
        warnings.extend(
            PublishingWarning(code=code, evidence=row.pk, url=source.url, message=message)
            for code, message in found
        )
    return warnings


def claim_publishing_warnings(claim: Claim) -> list[PublishingWarning]:
    """The warnings for the claim's evidence as it is now: one query."""
    evidence = (
        Evidence.objects.filter(claim=claim)
        .select_related("source")
        .only(
            "id", "claim_id", "quote_status",
            "source__id", "source__url", "source__status", "source__outcome_reason",
        )
        .order_by("id")
    )
    return publishing_warnings(evidence)


def _hand_off_action() -> Subquery:
    """The claim's latest hand-off action (_HAND_OFF_ACTIONS), by the review log's claim index."""
    return Subquery(
        ReviewLogEntry.objects.filter(claim=OuterRef("pk"), action__in=_HAND_OFF_ACTIONS)
        .order_by("-sequence")
        .values("action")[:1]
    )


def claims_with_attention(claims: QuerySet[Claim]) -> QuerySet[Claim]:
    """The claims annotated, in the same query, with what claim_attention reads: the latest hand-off
    action (`hand_off_action`), and an evidence whose quote was not found (`quote_not_found_id`),
    whose source is pending or fetching (`source_pending_id`) or failed (`source_failed_id`).

    LIMIT 1 subqueries, not EXISTS: PostgreSQL would hash an EXISTS over every evidence row
    instead of looking up a page's fifty claims by index.
    """
    evidence = Evidence.objects.filter(claim=OuterRef("pk")).order_by()
    return claims.annotate(
        hand_off_action=_hand_off_action(),
        quote_not_found_id=Subquery(
            evidence.filter(quote_status=Evidence.QuoteStatus.NOT_FOUND).values("pk")[:1]
        ),
        source_pending_id=Subquery(
            evidence.filter(source__status__in=_SOURCE_UNDER_WAY).values("pk")[:1]
        ),
        source_failed_id=Subquery(
            evidence.filter(source__status=Source.Status.FAILED).values("pk")[:1]
        ),
    )


@dataclass(frozen=True)
class AttentionMarker:
    """One reason a claim in a list needs someone: a label that says it in words, a tone (ok, bad,
    warn, wait) for the badge's colour, and a longer explanation."""

    label: str
    tone: str
    explanation: str


def claim_attention(claim: Claim) -> list[AttentionMarker]:
    """The attention markers of a claim loaded by claims_with_attention, most urgent first."""
    markers = []
    if getattr(claim, "hand_off_action", None) == ReviewLogEntry.Action.REQUEST_CHANGES:
        markers.append(
            AttentionMarker(
                "changes requested", "bad", "A reviewer sent the verdict back; see their comment."
            )
        )
    if claim.source_flag:
        markers.append(AttentionMarker("source changed", "bad", claim.source_flag))
    if getattr(claim, "quote_not_found_id", None) is not None:
        markers.append(
            AttentionMarker("quote not found", "bad", "A quote is not in its source's latest text.")
        )
    if getattr(claim, "source_failed_id", None) is not None:
        markers.append(
            AttentionMarker("source failed", "warn", "The last fetch of a cited source failed.")
        )
    if getattr(claim, "source_pending_id", None) is not None:
        markers.append(
            AttentionMarker("source pending", "wait", "A cited source is still being fetched.")
        )
    return markers


def claim_changes_request(claim: Claim) -> ReviewLogEntry | None:
    """The reviewer's request for changes the claim was sent back with, while it is not yet
    resubmitted (nor approved since), with its actor: one query."""
    latest = (
        ReviewLogEntry.objects.filter(claim=claim, action__in=_HAND_OFF_ACTIONS)
        .select_related("actor")
        .order_by("-sequence")
        .first()
    )
    if latest is None or latest.action != ReviewLogEntry.Action.REQUEST_CHANGES:
        return None
    return latest


@dataclass(frozen=True)
class MyWork:
    """The claims waiting for one person, by why they wait for them, ordered, neither sliced nor
    loaded: the caller takes and loads what its page shows."""

    sent_back: QuerySet[Claim] | None
    flagged: QuerySet[Claim] | None
    assigned: QuerySet[Claim] | None
    to_review: QuerySet[Claim] | None


def my_work(user: User) -> MyWork:
    """For a fact-checker: the claims sent back to them, their flagged claims and the other claims
    assigned to them with work open (each claim in one of these lists); for a reviewer: the claims
    waiting for review that they did not write. A claim a fact-checker works on is "theirs" when
    it is assigned to them, they created it, or they wrote a version of its verdict. None for a
    list the role does not have."""
    sent_back = flagged = assigned = to_review = None
    if is_fact_checker(user):
        wrote_a_version = Exists(Verdict.objects.filter(claim=OuterRef("pk"), author=user))
        theirs = Q(assignee=user) | Q(created_by=user) | Q(wrote_a_version)
        open_verdict = Exists(
            Verdict.objects.filter(claim=OuterRef("pk")).exclude(state=Verdict.State.APPROVED)
        )
        sent_back = (
            Claim.objects.alias(last_hand_off=_hand_off_action())
            .filter(theirs, last_hand_off=ReviewLogEntry.Action.REQUEST_CHANGES)
            .order_by("-updated_at", "-pk")
        )
        flagged = Claim.objects.filter(theirs).exclude(source_flag="").order_by("-source_flagged_at", "-pk")
        # The rest of their assigned work: a claim sent back or flagged is listed there already.
        not_sent_back = Q(last_hand_off__isnull=True) | ~Q(
            last_hand_off=ReviewLogEntry.Action.REQUEST_CHANGES
        )
        assigned = (
            Claim.objects.alias(last_hand_off=_hand_off_action())
            .filter(assignee=user, source_flag="")
            .filter(~Q(status=Claim.Status.PUBLISHED) | Q(open_verdict))
            .filter(not_sent_back)
            .order_by("-updated_at", "-pk")
        )
    if is_reviewer(user):
        waiting = Verdict.objects.filter(claim=OuterRef("pk"), state=Verdict.State.IN_REVIEW)
        to_review = (
            Claim.objects.filter(Exists(waiting.exclude(author=user)))
            .annotate(submitted_at=Subquery(waiting.values("submitted_at")[:1]))
            .order_by("submitted_at", "pk")
        )
    return MyWork(sent_back=sent_back, flagged=flagged, assigned=assigned, to_review=to_review)
