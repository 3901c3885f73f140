"""Reads of claims and evidence that need no verdict, shared by the API, the pages and the admin;
each declares what it loads."""

import re
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.postgres.search import SearchQuery, SearchVector, SearchVectorField
from django.db import connections
from django.db.models import Exists, Expression, OuterRef, Q, QuerySet
from django.db.models.expressions import Col

from claims.models import Claim, Claimant, Evidence
from core.roles import FACT_CHECKER_PERMISSION
from sources.models import Source


def evidence_at_a_glance() -> QuerySet[Evidence]:
    """Evidence with its source's fetch state, without the snapshot it was checked against."""
    return (
        Evidence.objects.select_related("source")
        .only(
            "id", "claim_id", "quote", "stance", "quote_status", "quote_checked_snapshot_id",
            "source__id", "source__url", "source__status", "source__outcome",
            "source__outcome_reason",
        )
        .order_by("id")
    )


def evidence_awaits_check(evidence: Evidence) -> bool:
    """Whether a fetch or quote check of the evidence is still to come (a page showing it will
    change by itself)."""
    return (
        evidence.source.status in (Source.Status.PENDING, Source.Status.FETCHING)
        or evidence.quote_status == Evidence.QuoteStatus.PENDING
    )


def claims_with_quote_not_found(claims: QuerySet[Claim], *, not_found: bool) -> QuerySet[Claim]:
    """The claims with (or without) a piece of evidence whose quote was not found in its source."""
    quote_not_found = Exists(
        Evidence.objects.filter(claim=OuterRef("pk"), quote_status=Evidence.QuoteStatus.NOT_FOUND)
    )
    return claims.filter(quote_not_found if not_found else ~quote_not_found)


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


def claims_tagged(queryset: QuerySet[Claim], tag: str) -> QuerySet[Claim]:
    """Claims carrying the tag with this slug or name (any case)."""
    tag = tag.strip()
    tagged = Claim.tags.through.objects.filter(claim_id=OuterRef("pk")).filter(
        Q(tag__slug=tag.lower()) | Q(tag__name__iexact=tag)
    )
    return queryset.filter(Exists(tagged))


# The text search configuration of the claimant index of claims/migrations/0002_claim_search.py and
# of the claim text's stored document of 0008_claim_search_document.py: the expressions filtered on
# below must stay the indexed ones, or the planner will not use the indexes.
SEARCH_CONFIG = "english"

# claims_claim.search_document (claims/migrations/0008_claim_search_document.py), a column PostgreSQL
# generates from the text; out of the model state, as SQLite has none.
_SEARCH_DOCUMENT = SearchVectorField()
_SEARCH_DOCUMENT.set_attributes_from_name("search_document")


class _ClaimSearchDocument(Expression):
    """The stored search document of the claims in the query, under whatever alias the claims table
    has (a Col is relabelled with it when the query becomes a subquery)."""

    output_field = SearchVectorField()

    def resolve_expression(
        self,
        query: Any = None,
        allow_joins: bool = True,
        reuse: set[str] | None = None,
        summarize: bool = False,
        for_save: bool = False,
    ) -> Any:
        # As F() resolves to a Col of a model field.
        return Col(query.get_initial_alias(), _SEARCH_DOCUMENT, self.output_field)


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
    # but not an index scan with a subquery, and would then read every claim's document.
    claimant_ids = list(
        Claimant.objects.alias(document=SearchVector("name", config=SEARCH_CONFIG))
        .filter(document=search)
        .values_list("pk", flat=True)
    )
    matches = Q(text_document=search)
    if claimant_ids:
        matches |= Q(claimant_id__in=claimant_ids)
    # The stored document, not SearchVector("text"): a row the planner reads without the index (a
    # page newest first by primary key, the admin's count) would compute to_tsvector() again.
    return queryset.alias(text_document=_ClaimSearchDocument()).filter(matches)
