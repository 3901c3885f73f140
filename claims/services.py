"""Writes within claims that need no verdict state: claimants and tags by name, an evidence quote
checked against a snapshot, and fresh fetches of what claims cite. The workflow's writes, which
read verdict state or write the review log, are verifier.services'."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import BooleanField, ExpressionWrapper, F, Q, QuerySet
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.text import slugify

from claims.matching import language_detect
from claims.models import Claim, Claimant, ClaimVector, Evidence, Tag
from claims.similarity import claim_text_vectors, lexical_texts_store
from core.compiled_rows import ShapedRows, ShapedUpdate
from core.errors import DomainError
from sources.models import Snapshot, Source
from sources.quotes import QuoteSearch
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
    status = _quote_status(evidence.quote, _quote_search(snapshot))
    shown = evidence.quote_checked_snapshot
    if shown is not None and _shows_the_same(
        status, evidence.quote_status, shown.outcome, shown.text_sha256, snapshot
    ):
        Evidence.objects.filter(pk=evidence.pk).update(quote_checked_at=timezone.now())
        return status
    Evidence.objects.filter(pk=evidence.pk).update(
        quote_status=status, quote_checked_snapshot=snapshot, quote_checked_at=timezone.now()
    )
    evidence.quote_status, evidence.quote_checked_snapshot = status, snapshot
    return status


@dataclass(frozen=True)
class SourceQuotesChecked:
    """What source_evidence_check_quotes found: the claims whose evidence now shows another snapshot
    or quote status, and whether a published claim cites the source."""

    shown_changed: set[int]
    cited_by_published: bool


# Run on every fetch a worker records: read and written with SQL compiled once per process, as
# building the evidence's models and the UPDATEs through the ORM cost more than running them.
_CITING_EVIDENCE = ShapedRows()
_EVIDENCE_UPDATES = ShapedUpdate()


def source_evidence_check_quotes(*, snapshot: Snapshot) -> SourceQuotesChecked:
    """evidence_check_quote for every evidence citing the snapshot's source, in id order."""
    search = _quote_search(snapshot)
    now = timezone.now()
    shown_changed: set[int] = set()
    cited_by_published = False
    for row in _CITING_EVIDENCE.rows("citing", _citing_evidence, snapshot.source_id):
        status = _quote_status(row["quote"], search)
        cited_by_published = cited_by_published or row["cites_published"]
        if row["quote_checked_snapshot_id"] is not None and _shows_the_same(
            status, row["quote_status"], row["shown_outcome"], row["shown_text_sha256"], snapshot
        ):
            _EVIDENCE_UPDATES.update("checked again", _checked_again, row["id"], now)
            continue
        _EVIDENCE_UPDATES.update("checked", _checked, row["id"], str(status), snapshot.pk, now)
        shown_changed.add(row["claim_id"])
    return SourceQuotesChecked(shown_changed=shown_changed, cited_by_published=cited_by_published)


def _citing_evidence(source_id: int) -> QuerySet[Evidence, Any]:
    return (
        Evidence.objects.filter(source_id=source_id)
        .order_by("id")
        .values(
            "id",
            "claim_id",
            "quote",
            "quote_status",
            "quote_checked_snapshot_id",
            shown_outcome=F("quote_checked_snapshot__outcome"),
            shown_text_sha256=F("quote_checked_snapshot__text_sha256"),
            cites_published=ExpressionWrapper(Q(claim__status=Claim.Status.PUBLISHED), BooleanField()),
        )
    )


def _checked_again(evidence_id: int, now: datetime) -> tuple[QuerySet[Evidence], dict[str, object]]:
    return Evidence.objects.filter(pk=evidence_id), {"quote_checked_at": now}


def _checked(
    evidence_id: int, status: str, snapshot_id: int, now: datetime
) -> tuple[QuerySet[Evidence], dict[str, object]]:
    return Evidence.objects.filter(pk=evidence_id), {
        "quote_status": status,
        "quote_checked_snapshot_id": snapshot_id,
        "quote_checked_at": now,
    }


def _quote_search(snapshot: Snapshot) -> QuoteSearch | None:
    """The snapshot's text to search for quotes, once for all of them; None: no text to check."""
    if snapshot.outcome != Snapshot.Outcome.FETCHED or not snapshot.text:
        return None
    return QuoteSearch(snapshot.text)


def _quote_status(quote: str, search: QuoteSearch | None) -> str:
    if search is None:
        return Evidence.QuoteStatus.NO_TEXT
    if search.found(quote):
        return Evidence.QuoteStatus.FOUND
    return Evidence.QuoteStatus.NOT_FOUND


def _shows_the_same(
    status: str, shown_status: str, shown_outcome: str, shown_text_sha256: str, snapshot: Snapshot
) -> bool:
    """Whether the evidence, showing a snapshot with that outcome and text and that status, would
    read the same showing this one with `status`."""
    return (
        status == shown_status
        and shown_outcome == snapshot.outcome
        and shown_text_sha256 == snapshot.text_sha256
    )


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


# Queued by name (core.queueing.task_queue) after a claim's text or language is committed.
INDEX_TASK = "claims.tasks.index_claim"
# Claims indexed per batch by a rebuild or the sweep: one encoder call and one write each.
INDEX_BATCH = 256
# At most this many claims per sweep (about 10 s of encoding); a rebuild does the rest at once.
INDEX_SWEEP_LIMIT = 2000


def claim_language_detected(text: str) -> str:
    """The BCP 47 language the claim text is written in, or "" when the detector cannot tell."""
    return language_detect(text) or ""


def claims_index(*, claim_ids: Sequence[int]) -> int:
    """Stores the current sentence vector of each of the claims (those that still exist), so every
    process's index finds them by their current text; returns how many were indexed."""
    claims = list(Claim.objects.filter(pk__in=claim_ids).values_list("pk", "text"))
    if not claims:
        return 0
    vectors = claim_text_vectors([text for _, text in claims]).astype(np.float16)
    # Taken after encoding: a claim saved meanwhile stays due (updated_at > indexed_at).
    indexed_at = timezone.now()
    with transaction.atomic():
        # Locked, so none is deleted between this read and the write that refers to it.
        present = set(
            Claim.objects.select_for_update()
            .filter(pk__in=[pk for pk, _ in claims])
            .values_list("pk", flat=True)
        )
        rows = [
            ClaimVector(claim_id=pk, vector=vector.tobytes(), indexed_at=indexed_at)
            for (pk, _), vector in zip(claims, vectors, strict=True)
            if pk in present
        ]
        ClaimVector.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["claim"], update_fields=["vector", "indexed_at"]
        )
        lexical_texts_store([(pk, text) for pk, text in claims if pk in present])
    return len(rows)


def claims_due_for_index() -> list[int]:
    """Claims never indexed, or saved since they were: a broker outage or a dead worker left them."""
    due = Claim.objects.filter(Q(vector__isnull=True) | Q(vector__indexed_at__lt=F("updated_at")))
    return list(due.order_by("pk").values_list("pk", flat=True))


def claims_index_due(*, limit: int | None = None) -> int:
    """Indexes the claims due (claims_due_for_index), a batch at a time; returns how many."""
    return _claims_index_batched(claims_due_for_index()[:limit])


def claims_index_rebuild() -> int:
    """Indexes every claim afresh, a batch at a time; returns how many."""
    return _claims_index_batched(list(Claim.objects.order_by("pk").values_list("pk", flat=True)))


def _claims_index_batched(claim_ids: list[int]) -> int:
    return sum(
        claims_index(claim_ids=claim_ids[start : start + INDEX_BATCH])
        for start in range(0, len(claim_ids), INDEX_BATCH)
    )
