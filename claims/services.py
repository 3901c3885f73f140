"""Writes within claims that need no verdict state: claimants and tags by name, an evidence quote
checked against a snapshot, and fresh fetches of what claims cite. The workflow's writes, which
read verdict state or write the review log, are verifier.services'."""

from collections.abc import Iterable

from django.contrib.auth.models import User
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.text import slugify

from claims.models import Claim, Claimant, Evidence, Tag
from core.errors import DomainError
from sources.models import Snapshot, Source
from sources.quotes import quote_found
from sources.services import sources_refetch


def claimant_get_or_create(
    *, name: str, url: str = "", kind: str = Claimant.Kind.ORGANIZATION
) -> Claimant:
    """The claimant with this name (case-insensitive), created if new."""
    name = " ".join(name.split())
    if not name:
        raise DomainError.invalid("A claimant needs a name.", field="claimant")
    claimant = Claimant.objects.filter(name__iexact=name).first()
    if claimant is None:
        claimant, _ = Claimant.objects.get_or_create(name=name, defaults={"url": url, "kind": kind})
    return claimant


MAX_TAGS_PER_CLAIM = 50


def tags_get_or_create(*, names: Iterable[str]) -> list[Tag]:
    """The tags with these names (case-insensitive), created if new, in the order named; at most
    MAX_TAGS_PER_CLAIM. One query finds the existing tags and one creates the rest."""
    wanted: dict[str, str] = {}
    for raw in names:
        name = " ".join(raw.split())
        if name:
            wanted.setdefault(name.lower(), name)
    if len(wanted) > MAX_TAGS_PER_CLAIM:
        raise DomainError.invalid(
            f"A claim takes at most {MAX_TAGS_PER_CLAIM} tags; {len(wanted)} were given.", field="tags"
        )
    slugs = {}
    for key, name in wanted.items():
        slugs[key] = slugify(name)
        if not slugs[key]:
            raise DomainError.invalid(f"Tag {name!r} has no usable characters.", field="tags")
    # A tag renamed in the admin keeps its slug, so its current name is matched first.
    existing = list(
        Tag.objects.annotate(lower_name=Lower("name")).filter(
            Q(lower_name__in=wanted) | Q(slug__in=slugs.values())
        )
    )
    by_name = {tag.lower_name: tag for tag in existing}
    by_slug: dict[str, Tag] = {tag.slug: tag for tag in existing}
    missing = {
        slugs[key]: name
        for key, name in wanted.items()
        if key not in by_name and slugs[key] not in by_slug
    }
    if missing:
        # Another writer may create the same tag meanwhile: its row is the one read back.
        Tag.objects.bulk_create(
            [Tag(name=name, slug=slug) for slug, name in missing.items()], ignore_conflicts=True
        )
        by_slug.update((tag.slug, tag) for tag in Tag.objects.filter(slug__in=missing))
    tags: dict[int, Tag] = {}
    for key in wanted:
        tag = by_name.get(key) or by_slug[slugs[key]]
        tags.setdefault(tag.pk, tag)
    return list(tags.values())


def evidence_check_quote(*, evidence: Evidence, snapshot: Snapshot) -> str:
    """Records whether the evidence quote appears in the snapshot's text.

    When the snapshot the evidence shows has the same text and the answer is the same, only
    quote_checked_at moves: readers keep seeing that snapshot, so a re-check that found nothing new
    changes nothing they see.
    """
    if snapshot.outcome != Snapshot.Outcome.FETCHED or not snapshot.text:
        status = Evidence.QuoteStatus.NO_TEXT
    elif quote_found(evidence.quote, snapshot.text):
        status = Evidence.QuoteStatus.FOUND
    else:
        status = Evidence.QuoteStatus.NOT_FOUND
    shown = evidence.quote_checked_snapshot
    if (
        shown is not None
        and status == evidence.quote_status
        and shown.outcome == snapshot.outcome
        and shown.text_sha256 == snapshot.text_sha256
    ):
        Evidence.objects.filter(pk=evidence.pk).update(quote_checked_at=timezone.now())
        return status
    Evidence.objects.filter(pk=evidence.pk).update(
        quote_status=status, quote_checked_snapshot=snapshot, quote_checked_at=timezone.now()
    )
    evidence.quote_status, evidence.quote_checked_snapshot = status, snapshot
    return status


def evidence_check_against_latest(*, evidence: Evidence) -> bool:
    """Checks the quote against the source's latest successful snapshot, if there is one."""
    snapshot = evidence.source.snapshots.filter(outcome=Snapshot.Outcome.FETCHED).first()
    if snapshot is None:
        return False
    evidence_check_quote(evidence=evidence, snapshot=snapshot)
    return True


def claims_refetch_sources(*, actor: User, claims: Iterable[Claim]) -> int:
    """Queues a fresh fetch of every source the claims cite; returns how many sources."""
    claim_ids = [claim.pk for claim in claims]
    sources = Source.objects.filter(evidence__claim__in=claim_ids).distinct().only("pk")
    return sources_refetch(actor=actor, sources=sources.order_by("pk"))


def evidence_refetch_source(*, actor: User, evidence: Evidence) -> Source:
    """Queues a fresh fetch of the source the evidence cites; its quote is checked again after."""
    sources_refetch(actor=actor, sources=[evidence.source])
    return evidence.source
