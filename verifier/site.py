"""The public site around the fact-check pages (SPEC §8): `/` lists published fact-checks newest
first, with search and paging, and the tag, claimant and rating pages list the fact-checks that
share one. Cached and answered conditionally like the read API (verifier.api.http_cache)."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, render
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from claims.models import Claim, Tag
from claims.selectors import claims_matching_text, claims_tagged
from verifier.api.http_cache import public_read
from verifier.api.pagination import KeysetCursorPagination
from verifier.models import Rating, Verdict
from verifier.selectors.published import RatingScale, claim_current_verdict
from verifier.selectors.site import (
    SEARCH_MAX_LENGTH,
    fact_check_summaries,
    public_claimant,
    public_ratings,
    public_tag,
)
from verifier.selectors.verdicts import claims_with_current_rating

FACT_CHECKS_PER_PAGE = 20


@dataclass(frozen=True)
class SharePreview:
    """What a link to a page shows where it is shared (Open Graph, Twitter cards) and in search
    results: `kind` is the Open Graph type."""

    title: str
    description: str
    kind: str = "website"
    published: datetime | None = None
    modified: datetime | None = None


def site_context(request: HttpRequest, share: SharePreview) -> dict[str, Any]:
    """What the frame of every public page shows: the organisation, the page's canonical URL and
    its share preview."""
    return {
        "org_name": settings.VERIFIER_ORG_NAME,
        "org_url": settings.VERIFIER_ORG_URL,
        "canonical_url": settings.PUBLIC_BASE_URL + request.path,
        "share": share,
    }


def rating_tone(rating: Rating | None, scale: RatingScale) -> str:
    """The colour family of the rating badge; the label is always written out beside it."""
    if rating is None or rating.value is None or scale.best is None or scale.worst is None:
        return "unrated"
    span = max(scale.best - scale.worst, 1)
    position = (rating.value - scale.worst) / span
    if position < 0.35:
        return "false"
    return "mixed" if position < 0.65 else "true"


@dataclass(frozen=True)
class FactCheckItem:
    claim: Claim
    verdict: Verdict | None
    tags: list[Tag]
    tone: str


@dataclass(frozen=True)
class Listing:
    """What one list page shows: its heading and description, and the filters that made it."""

    title: str
    description: str
    rating: Rating | None = None


@public_read
def fact_check_index(request: HttpRequest) -> HttpResponse:
    listing = Listing(
        title="Fact-checks",
        description=f"Claims checked by {settings.VERIFIER_ORG_NAME}, newest first.",
    )
    return _listing_page(request, listing, fact_check_summaries())


@public_read
def tag_page(request: HttpRequest, slug: str) -> HttpResponse:
    tag = public_tag(slug)
    if tag is None:
        raise Http404("No published fact-check has this tag.")
    listing = Listing(
        title=f"Fact-checks tagged “{tag.name}”",
        description=f"Claims about {tag.name} checked by {settings.VERIFIER_ORG_NAME}, newest first.",
    )
    return _listing_page(request, listing, claims_tagged(fact_check_summaries(), tag.slug))


@public_read
def claimant_page(request: HttpRequest, pk: int) -> HttpResponse:
    claimant = public_claimant(pk)
    if claimant is None:
        raise Http404("No published fact-check checks a claim by them.")
    listing = Listing(
        title=f"Fact-checks of claims by {claimant.name}",
        description=f"What {claimant.name} claimed, checked by {settings.VERIFIER_ORG_NAME}, newest first.",
    )
    return _listing_page(request, listing, fact_check_summaries().filter(claimant=claimant))


@public_read
def rating_page(request: HttpRequest, slug: str) -> HttpResponse:
    rating = get_object_or_404(Rating, slug=slug)
    listing = Listing(
        title=f"Fact-checks rated “{rating.label}”",
        description=rating.description or f"Claims {settings.VERIFIER_ORG_NAME} rated {rating.label}.",
        rating=rating,
    )
    ratings = Rating.objects.filter(pk=rating.pk)
    return _listing_page(request, listing, claims_with_current_rating(fact_check_summaries(), ratings))


def _listing_page(request: HttpRequest, listing: Listing, claims: QuerySet[Claim]) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:SEARCH_MAX_LENGTH]
    if query:
        claims = claims_matching_text(claims, query)
    paginator = KeysetCursorPagination()
    paginator.page_size = FACT_CHECKS_PER_PAGE
    try:
        rows = paginator.paginate_queryset(claims, Request(request))
    except ValidationError:
        return HttpResponseBadRequest("This page link is broken; start again from the first page.")
    rating_scale = RatingScale()
    items = []
    for claim in rows:
        verdict = claim_current_verdict(claim)
        tone = rating_tone(verdict.rating if verdict else None, rating_scale)
        items.append(FactCheckItem(claim, verdict, list(claim.tags.all()), tone))
    context: dict[str, Any] = {
        **site_context(request, SharePreview(listing.title, listing.description)),
        "listing": listing,
        "query": query,
        "items": items,
        "newer_url": _relative(paginator.get_previous_link()),
        "older_url": _relative(paginator.get_next_link()),
        "ratings": public_ratings(),
    }
    return render(request, "verifier/site/index.html", context)


def _relative(link: str | None) -> str | None:
    # The paginator builds absolute links from the request; a page links within the site.
    if link is None:
        return None
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path

