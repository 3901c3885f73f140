"""Which verdict of a claim counts, in the two senses the product uses, each defined here once.

- The current verdict: the latest approved version or, for a claim never published, the one being
  worked on. The public record shows it, and the `rating` filters of the API and of the admin's
  claim list select by it, so the two lists agree on what a claim is rated.
- The latest verdict: the newest version whatever its state, that is the work in progress (a
  correction being drafted or reviewed, on a published claim); the admin's claim list shows it.
"""

from collections.abc import Sequence

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery

from claims.models import Claim
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
    """The verdicts that are their claim's current verdict: one per claim that has any.

    Set-based, so that filtering claims by it (`pk__in` their claim ids) keeps counting a filtered
    list of 100,000 claims cheap.
    """
    approved = Verdict.objects.filter(claim=OuterRef("claim"), state=Verdict.State.APPROVED)
    newer_approved = approved.filter(version__gt=OuterRef("version"))
    return Verdict.objects.filter(
        (Q(state=Verdict.State.APPROVED) & ~Exists(newer_approved))
        # At most one verdict is open per claim; it counts only while none was ever approved.
        | (~Q(state=Verdict.State.APPROVED) & ~Exists(approved))
    )


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
