"""A published claim as schema.org ClaimReview, the one shape the API, the feed and the public page share.

Follows schema.org (ClaimReview, Claim, Rating, DataFeed) and Google's fact-check markup: the
required `claimReviewed`, `reviewRating.alternateName` and `url` (the public page); numeric rating
bounds only for labels on the numeric scale; `dateModified` once a correction has been published.
"""

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings

from claims.models import Claim
from verifier.models import Rating, Verdict
from verifier.selectors.published import RatingScale, claim_current_verdict

if TYPE_CHECKING:
    from verifier.selectors.published import ClaimWithVerdicts

SCHEMA_ORG = "https://schema.org"


def claim_review(
    claim: "ClaimWithVerdicts", *, rating_scale: RatingScale, context: bool = True
) -> dict[str, Any]:
    """The ClaimReview of a published claim loaded by verifier.selectors.published (`loaded_verdicts`).

    With `context`, a standalone JSON-LD document; without, an item to nest in another document.
    """
    verdict = claim_current_verdict(claim)
    if verdict is None or verdict.state != Verdict.State.APPROVED or claim.published_at is None:
        raise ValueError(f"Claim {claim.pk} has no published verdict to review.")
    review: dict[str, Any] = {"@context": SCHEMA_ORG} if context else {}
    review |= {
        "@type": "ClaimReview",
        "url": claim.public_url(),
        "claimReviewed": claim.text,
        "datePublished": _datetime(claim.published_at),
    }
    if verdict.version > 1 and verdict.approved_at is not None:
        review["dateModified"] = _datetime(verdict.approved_at)
    review |= {
        "author": organization(),
        "itemReviewed": _item_reviewed(claim),
        "reviewRating": _review_rating(verdict, rating_scale),
    }
    return review


def claim_review_feed(
    claims: Iterable["ClaimWithVerdicts"],
    *,
    rating_scale: RatingScale,
    url: str,
    links: dict[str, str | None],
) -> dict[str, Any]:
    """A schema.org DataFeed with one DataFeedItem (the ClaimReview) per claim; `links` (next,
    previous) are added as top-level fields for paging clients."""
    elements = []
    for claim in claims:
        review = claim_review(claim, rating_scale=rating_scale, context=False)
        elements.append(
            {
                "@type": "DataFeedItem",
                "dateCreated": review["datePublished"],
                # Claim.updated_at, which `updated_since` filters on, so a client can resume from it.
                "dateModified": _datetime(claim.updated_at),
                "item": review,
            }
        )
    return {
        "@context": SCHEMA_ORG,
        "@type": "DataFeed",
        "name": f"{settings.VERIFIER_ORG_NAME} fact-checks",
        "url": url,
        "publisher": organization(),
        **links,
        "dataFeedElement": elements,
    }


def organization() -> dict[str, Any]:
    """The fact-checking organisation publishing the reviews (VERIFIER_ORG_NAME, VERIFIER_ORG_URL)."""
    return {"@type": "Organization", "name": settings.VERIFIER_ORG_NAME, "url": settings.VERIFIER_ORG_URL}


def _item_reviewed(claim: Claim) -> dict[str, Any]:
    claimant = claim.claimant
    author: dict[str, Any] = {"@type": _claimant_type(claimant.kind), "name": claimant.name}
    if claimant.url:
        author["sameAs"] = claimant.url
    item: dict[str, Any] = {"@type": "Claim", "author": author}
    if claim.claim_date is not None:
        item["datePublished"] = _date(claim.claim_date)
    if claim.appearance_url:
        item["appearance"] = {"@type": "CreativeWork", "url": claim.appearance_url}
    return item


def _claimant_type(kind: str) -> str:
    return {"person": "Person", "organization": "Organization"}[kind]


def _review_rating(verdict: Verdict, scale: RatingScale) -> dict[str, Any]:
    rating: Rating | None = verdict.rating
    if rating is None:
        raise ValueError(f"Verdict {verdict.pk} was approved without a rating.")
    review_rating: dict[str, Any] = {"@type": "Rating", "alternateName": rating.label}
    # Google reads the label; numbers only mean something on the numeric part of the scale.
    if rating.value is not None and scale.best is not None and scale.worst is not None:
        review_rating |= {"ratingValue": rating.value, "bestRating": scale.best, "worstRating": scale.worst}
    if verdict.summary:
        review_rating["ratingExplanation"] = verdict.summary
    return review_rating


def _datetime(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _date(day: date) -> str:
    return day.isoformat()
