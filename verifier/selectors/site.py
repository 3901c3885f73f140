"""Reads for the public site: the lists of published fact-checks and who is credited on a page.

Only what is public is ever read here: published claims with an approved verdict, and tags and
claimants only as far as a published claim carries them (a tag used only by drafts stays unknown).
"""

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import Exists, OuterRef, Prefetch, QuerySet

from claims.models import Claim, Claimant, Tag
from verifier.models import Rating, Verdict
from verifier.selectors.published import published_claim_reviews

# The longest search the site passes to the database; longer input is cut, not refused.
SEARCH_MAX_LENGTH = 200


def fact_check_summaries() -> QuerySet[Claim]:
    """Published claims with what a list of fact-checks shows: claimant, tags (by name) and approved
    verdicts with their ratings, without the evidence; unordered."""
    return published_claim_reviews().prefetch_related(
        Prefetch("tags", queryset=Tag.objects.order_by("name"))
    )


def _published_claims_of(lookup: str) -> Exists:
    return Exists(Claim.objects.filter(status=Claim.Status.PUBLISHED, **{lookup: OuterRef("pk")}))


def public_tag(slug: str) -> Tag | None:
    """The tag with this slug, if a published claim carries it."""
    return Tag.objects.filter(_published_claims_of("tags"), slug=slug).first()


def public_claimant(pk: int) -> Claimant | None:
    """The claimant, if a published claim is theirs."""
    return Claimant.objects.filter(_published_claims_of("claimant"), pk=pk).first()


def public_ratings() -> list[Rating]:
    """The rating scale in its order, for browsing fact-checks by rating."""
    return list(Rating.objects.order_by("order", "label"))


@dataclass(frozen=True)
class Byline:
    role: str
    name: str


def verdict_bylines(verdict: Verdict) -> list[Byline]:
    """Who is credited for the verdict under VERIFIER_PUBLIC_BYLINES: with "names", its author and
    its reviewer by their full names (someone without one as the organisation's fact-checker or
    reviewer, never by login name); with "none", nobody."""
    if settings.VERIFIER_PUBLIC_BYLINES == "none":
        return []
    credited = [person for person in (verdict.author_id, verdict.reviewer_id) if person is not None]
    people = User.objects.only("first_name", "last_name").in_bulk(credited)
    organisation = settings.VERIFIER_ORG_NAME
    credits = [
        ("Fact-checked by", verdict.author_id, f"a {organisation} fact-checker"),
        ("Reviewed by", verdict.reviewer_id, f"a {organisation} reviewer"),
    ]
    bylines = []
    for role, person_id, anonymous in credits:
        person = people.get(person_id) if person_id is not None else None
        if person is not None:
            bylines.append(Byline(role, person.get_full_name() or anonymous))
    return bylines
