"""A published claim as schema.org ClaimReview, the one shape the API, the feed and the public page share.

Follows schema.org (ClaimReview, Claim, Rating, DataFeed) and Google's fact-check markup: the
required `claimReviewed`, `reviewRating.alternateName` and `url` (the public page); numeric rating
bounds only for labels on the numeric scale; `dateModified` once a correction has been published,
with its `correction` notice (a CorrectionComment); `citation`, the fetched sources the published
verdict cites, each with `archivedAt`, the archive page of the snapshot frozen at approval.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings

from claims.models import Claim
from verifier.models import Rating, Verdict
from verifier.selectors.published import RatingScale, claim_current_verdict
from verifier.selectors.records import ReviewedClaim, public_urls

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
    if verdict is None:
        raise ValueError(f"Claim {claim.pk} has no published verdict to review.")
    return claim_review_of(reviewed_claim(claim, verdict, rating_scale=rating_scale), context=context)


def reviewed_claim(claim: Claim, verdict: Verdict, *, rating_scale: RatingScale) -> ReviewedClaim:
    """The columns a ClaimReview shows of a published claim and one of its approved verdicts."""
    if verdict.state != Verdict.State.APPROVED or claim.published_at is None:
        raise ValueError(f"Claim {claim.pk} has no published verdict to review.")
    rating: Rating | None = verdict.rating
    return ReviewedClaim(
        id=claim.pk,
        text=claim.text,
        published_at=claim.published_at,
        updated_at=claim.updated_at,
        claim_date=claim.claim_date,
        appearance_url=claim.appearance_url,
        claimant__name=claim.claimant.name,
        claimant__kind=claim.claimant.kind,
        claimant__url=claim.claimant.url,
        language=claim.language,
        version=verdict.version,
        approved_at=verdict.approved_at,
        summary=verdict.summary,
        correction_note=verdict.correction_note,
        rating__label=rating.label if rating else None,
        rating__value=rating.value if rating else None,
        evidence_fingerprint=verdict.evidence_fingerprint,
        # The scale is read only for a rating on it, as _review_rating shows it only then.
        scale_best=rating_scale.best if rating and rating.value is not None else None,
        scale_worst=rating_scale.worst if rating and rating.value is not None else None,
    )


@dataclass(frozen=True)
class ReviewShared:
    """What every ClaimReview of a request shares, read once for the request and used by every
    review it renders: the public pages it links to, by id (a claim's page and a snapshot's archive
    page, see public_urls), and the organisation that authors it (its two settings, read for each
    review, were a third of a feed page's reads of lazy objects)."""

    claim_page: Callable[[int], str]
    archive: Callable[[int], str]
    organization: dict[str, Any]

    @classmethod
    def current(cls) -> "ReviewShared":
        return cls(
            claim_page=public_urls("claim-page"),
            archive=public_urls("archive-snapshot"),
            organization=organization(),
        )


def claim_review_of(
    claim: ReviewedClaim, *, context: bool = True, shared: ReviewShared | None = None
) -> dict[str, Any]:
    """The ClaimReview of a published claim given as its columns, the scale's bounds included
    (see claim_review). `shared`: the request's, when it renders several reviews."""
    if shared is None:
        shared = ReviewShared.current()
    review: dict[str, Any] = {"@context": SCHEMA_ORG} if context else {}
    review |= {
        "@type": "ClaimReview",
        "url": shared.claim_page(claim["id"]),
        "claimReviewed": claim["text"],
        "datePublished": _datetime(claim["published_at"]),
    }
    if claim["language"]:
        # The language of claimReviewed, which is what the review is read in.
        review["inLanguage"] = claim["language"]
    if claim["version"] > 1 and claim["approved_at"] is not None:
        review["dateModified"] = _datetime(claim["approved_at"])
        if claim["correction_note"]:
            # CreativeWork.correction takes a CorrectionComment: the notice readers see, dated.
            review["correction"] = {
                "@type": "CorrectionComment",
                "text": claim["correction_note"],
                "datePublished": _datetime(claim["approved_at"]),
            }
    review |= {
        # A copy: each review's author is its own dict, as when each review read the settings.
        "author": dict(shared.organization),
        "itemReviewed": _item_reviewed(claim),
        "reviewRating": _review_rating(claim),
    }
    citations = _citations(claim["evidence_fingerprint"], shared.archive)
    if citations:
        review["citation"] = citations
    return review


def claim_review_feed(
    claims: Iterable[ReviewedClaim],
    *,
    url: str,
    links: dict[str, str | None],
) -> dict[str, Any]:
    """A schema.org DataFeed with one DataFeedItem (the ClaimReview) per claim; `links` (next,
    previous) are added as top-level fields for paging clients."""
    elements = []
    shared = ReviewShared.current()
    for claim in claims:
        review = claim_review_of(claim, context=False, shared=shared)
        elements.append(
            {
                "@type": "DataFeedItem",
                "dateCreated": review["datePublished"],
                # Claim.updated_at, which `updated_since` filters on, so a client can resume from it.
                "dateModified": _datetime(claim["updated_at"]),
                "item": review,
            }
        )
    return {
        "@context": SCHEMA_ORG,
        "@type": "DataFeed",
        "name": f"{settings.VERIFIER_ORG_NAME} fact-checks",
        "url": url,
        "publisher": dict(shared.organization),
        **links,
        "dataFeedElement": elements,
    }


def organization() -> dict[str, Any]:
    """The fact-checking organisation publishing the reviews (VERIFIER_ORG_NAME, VERIFIER_ORG_URL)."""
    return {"@type": "Organization", "name": settings.VERIFIER_ORG_NAME, "url": settings.VERIFIER_ORG_URL}


def _item_reviewed(claim: ReviewedClaim) -> dict[str, Any]:
    author: dict[str, Any] = {
        "@type": _claimant_type(claim["claimant__kind"]),
        "name": claim["claimant__name"],
    }
    if claim["claimant__url"]:
        author["sameAs"] = claim["claimant__url"]
    item: dict[str, Any] = {"@type": "Claim", "author": author}
    if claim["claim_date"] is not None:
        item["datePublished"] = _date(claim["claim_date"])
    if claim["appearance_url"]:
        item["appearance"] = {"@type": "CreativeWork", "url": claim["appearance_url"]}
    return item


def _citations(fingerprint: list[dict[str, Any]], archive: Callable[[int], str]) -> list[dict[str, Any]]:
    """The sources the verdict cited at approval, each with its archived copy (schema.org
    CreativeWork.archivedAt): the snapshot the approval froze, never a later one."""
    return [
        {
            "@type": "CreativeWork",
            "url": entry["url"],
            "archivedAt": archive(entry["snapshot"]),
        }
        for entry in fingerprint
        if entry.get("snapshot") is not None
    ]


def _claimant_type(kind: str) -> str:
    return {"person": "Person", "organization": "Organization"}[kind]


def _review_rating(claim: ReviewedClaim) -> dict[str, Any]:
    label, value = claim["rating__label"], claim["rating__value"]
    if label is None:
        raise ValueError(f"The published verdict of claim {claim['id']} has no rating.")
    review_rating: dict[str, Any] = {"@type": "Rating", "alternateName": label}
    # Google reads the label; numbers only mean something on the numeric part of the scale.
    best, worst = claim["scale_best"], claim["scale_worst"]
    if value is not None and best is not None and worst is not None:
        review_rating |= {"ratingValue": value, "bestRating": best, "worstRating": worst}
    if claim["summary"]:
        review_rating["ratingExplanation"] = claim["summary"]
    return review_rating


def _datetime(moment: datetime) -> str:
    # The rows' timestamps are in UTC already (the database connection's zone).
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _date(day: date) -> str:
    return day.isoformat()
