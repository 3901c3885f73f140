"""Reads of claims shared by the admin and the pages: each declares what it loads."""

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Subquery

from claims.models import Claim, Evidence
from verifier.models import Verdict
from verifier.roles import FACT_CHECKER_PERMISSION


def claims_with_current_verdict(claims: QuerySet[Claim] | None = None) -> QuerySet[Claim]:
    """The claims annotated with their latest verdict's rating label and state, in the same query."""
    claims = Claim.objects.all() if claims is None else claims
    latest = Verdict.objects.filter(claim=OuterRef("pk")).order_by("-version")
    return claims.annotate(
        current_rating=Subquery(latest.values("rating__label")[:1]),
        current_verdict_state=Subquery(latest.values("state")[:1]),
    )


def claims_in_review() -> QuerySet[Claim]:
    """Claims whose verdict awaits a reviewer, oldest submission first, with what the queue shows.

    Each claim carries `verdicts_in_review` (a one-item list, rating and author loaded),
    `submitted_at`, `evidence_count` and a count per quote check result: two queries in all.
    """
    in_review = Verdict.objects.filter(claim=OuterRef("pk"), state=Verdict.State.IN_REVIEW)
    quote_status = Evidence.QuoteStatus
    claims = (
        Claim.objects.filter(Exists(in_review))
        .select_related("claimant", "assignee")
        .annotate(
            submitted_at=Subquery(in_review.values("submitted_at")[:1]),
            evidence_count=Count("evidence"),
            quotes_found=Count("evidence", filter=Q(evidence__quote_status=quote_status.FOUND)),
            quotes_not_found=Count(
                "evidence", filter=Q(evidence__quote_status=quote_status.NOT_FOUND)
            ),
            quotes_no_text=Count("evidence", filter=Q(evidence__quote_status=quote_status.NO_TEXT)),
            quotes_pending=Count("evidence", filter=Q(evidence__quote_status=quote_status.PENDING)),
        )
        .prefetch_related(
            Prefetch(
                "verdicts",
                queryset=Verdict.objects.filter(state=Verdict.State.IN_REVIEW).select_related(
                    "rating", "author"
                ),
                to_attr="verdicts_in_review",
            )
        )
        .order_by("submitted_at", "pk")
    )
    return claims


def claims_in_review_count() -> int:
    # At most one verdict per claim is open, so this counts claims without touching them.
    return Verdict.objects.filter(state=Verdict.State.IN_REVIEW).count()


def claim_verdicts(claim: Claim) -> list[Verdict]:
    """Every version of the claim's verdict, newest first, with rating, author and reviewer."""
    return list(
        claim.verdicts.select_related("rating", "author", "reviewer").order_by("-version")
    )


def assignable_users() -> QuerySet[Any]:
    """Active users who can work on a claim: fact-checkers, by group or directly, and superusers."""
    app_label, codename = FACT_CHECKER_PERMISSION.split(".")
    permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename)
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(
            Q(is_superuser=True)
            | Q(user_permissions__in=permission)
            | Q(groups__permissions__in=permission)
        )
        .distinct()
        .order_by("username")
    )
