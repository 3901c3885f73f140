"""Reads of provenance records shared by the API, pages, commands and package building."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from typing import IO, Any

from django.core.files.storage import default_storage

from claims.models import Claim, Evidence
from sources.models import Snapshot
from verifier.claimreview import claim_review_of, reviewed_claim
from verifier.models import ReviewLogEntry, Verdict
from verifier.provenance.merkle import inclusion_proofs, leaf_hash
from verifier.provenance.models import ReviewLogCheckpoint, SigningKey, TrustedTimestamp
from verifier.provenance.package import PackageCapture, PackageEvidence, PackageSpec
from verifier.selectors.published import RatingScale


def signing_keys_known() -> list[SigningKey]:
    """Every public key Verifier has signed with, newest first (retired ones included)."""
    return list(SigningKey.objects.order_by("-created_at", "-id"))


def review_log_checkpoint_latest() -> ReviewLogCheckpoint | None:
    return ReviewLogCheckpoint.objects.select_related("key").order_by("-size").first()


def review_log_checkpoint_covering(sequence: int) -> ReviewLogCheckpoint | None:
    """The smallest checkpoint that covers the entry with this sequence number."""
    return (
        ReviewLogCheckpoint.objects.select_related("key").filter(size__gte=sequence).order_by("size").first()
    )


def checkpoint_document(checkpoint: ReviewLogCheckpoint) -> dict[str, object]:
    """The checkpoint as published and packaged: {size, head, created, signature} plus the key."""
    return {
        "size": checkpoint.size,
        "head": checkpoint.head,
        "created": checkpoint.created_at.isoformat(),
        "signature": checkpoint.signature,
        "publicKey": checkpoint.key.public_key,
    }


def review_log_hashes(*, size: int | None = None) -> list[tuple[int, str]]:
    """(sequence, entry hash) of each log entry in sequence order (the first `size` of them)."""
    rows = ReviewLogEntry.objects.order_by("sequence").values_list("sequence", "entry_hash")
    if size is not None:
        rows = rows[:size]
    return list(rows.iterator(chunk_size=5000))


def review_log_package_part(
    *, claim_id: int, up_to_sequence: int
) -> tuple[list[dict[str, Any]], dict[str, object] | None]:
    """The claim's log entries up to `up_to_sequence` (its approval), each with its chain hashes
    and an inclusion proof in the smallest checkpoint that covers them, and that checkpoint.

    The same version always gets the same checkpoint, so its package stays reproducible. Without
    a covering checkpoint the entries come without proofs and the checkpoint is None."""
    entries, checkpoint, load_proofs = _review_log_entries(claim_id=claim_id, up_to_sequence=up_to_sequence)
    proofs = load_proofs()
    part = [
        {**entry, "proof": proofs[entry["entry_hash"]]} if entry["entry_hash"] in proofs else entry
        for entry in entries
    ]
    return part, checkpoint


def _review_log_entries(
    *, claim_id: int, up_to_sequence: int
) -> tuple[list[dict[str, Any]], dict[str, object] | None, Callable[[], dict[str, list[str]]]]:
    """review_log_package_part with the proofs left to a loader, which reads the whole log."""
    entries = list(
        ReviewLogEntry.objects.filter(claim_id=claim_id, sequence__lte=up_to_sequence).order_by("sequence")
    )
    checkpoint = review_log_checkpoint_covering(up_to_sequence)
    part = [
        {"content": entry.content(), "previous_hash": entry.previous_hash, "entry_hash": entry.entry_hash}
        for entry in entries
    ]

    def load_proofs() -> dict[str, list[str]]:
        if checkpoint is None:
            return {}
        leaves = [leaf_hash(entry_hash) for _, entry_hash in review_log_hashes(size=checkpoint.size)]
        proofs = inclusion_proofs(leaves, [entry.sequence - 1 for entry in entries])
        return {entry.entry_hash: proofs[entry.sequence - 1] for entry in entries}

    return part, checkpoint_document(checkpoint) if checkpoint is not None else None, load_proofs


def trusted_timestamps_for(digests: Iterable[str]) -> dict[str, bytes]:
    """The tokens held for these SHA-256 digests (hex), by digest; missing ones are left out."""
    rows = TrustedTimestamp.objects.filter(digest__in=list(digests)).exclude(token=b"")
    return {row.digest: bytes(row.token) for row in rows.only("digest", "token")}


def published_verdict(*, claim_id: int, version: int | None = None) -> Verdict | None:
    """A published claim's approved verdict `version` (the current one when None), with its claim,
    claimant and rating loaded; None when the claim is not published or has no such version."""
    approved = Verdict.objects.filter(
        claim_id=claim_id, claim__status=Claim.Status.PUBLISHED, state=Verdict.State.APPROVED
    ).select_related("claim__claimant", "rating")
    if version is not None:
        return approved.filter(version=version).first()
    return approved.order_by("-version").first()


def evidence_package_spec(verdict: Verdict) -> PackageSpec:
    """What the evidence package of this published verdict holds, read from the database: the
    evidence its fingerprint froze at approval with the snapshots it was checked in, their WARC
    captures, the ClaimReview of this version and the review log up to its approval.

    Nothing large is read here: captures and texts are opened only if the package is built."""
    claim = verdict.claim
    fingerprint = verdict.fingerprint()
    evidence_rows = Evidence.objects.in_bulk([entry["evidence"] for entry in fingerprint])
    snapshot_ids = {entry["snapshot"] for entry in fingerprint if entry.get("snapshot") is not None}
    snapshots = Snapshot.objects.defer("text", "headers", "redirect_chain").in_bulk(snapshot_ids)
    evidence = [
        PackageEvidence(
            evidence=entry["evidence"],
            url=entry["url"],
            stance=evidence_rows[entry["evidence"]].stance,
            quote=evidence_rows[entry["evidence"]].quote,
            note=evidence_rows[entry["evidence"]].note,
            quote_status=entry.get("quote_status") or evidence_rows[entry["evidence"]].quote_status,
            snapshot=entry.get("snapshot"),
        )
        for entry in fingerprint
    ]
    captures = [
        _package_capture(snapshot, snapshot.warc.name)
        for snapshot in snapshots.values()
        if snapshot.warc.name
    ]
    approval = (
        ReviewLogEntry.objects.filter(verdict=verdict, action=ReviewLogEntry.Action.APPROVE)
        .order_by("-sequence")
        .values_list("sequence", flat=True)
        .first()
    )
    review_log, checkpoint, load_proofs = _review_log_entries(
        claim_id=claim.pk, up_to_sequence=approval or 0
    )
    assert verdict.approved_at is not None and claim.published_at is not None
    return PackageSpec(
        title=f"Fact-check {claim.pk}, version {verdict.version}",
        created=verdict.approved_at,
        claim={
            "id": claim.pk,
            "url": claim.public_url(),
            "text": claim.text,
            "claimant": {"name": claim.claimant.name, "url": claim.claimant.url},
            "claimDate": _iso(claim.claim_date),
            "appearanceUrl": claim.appearance_url,
            "published": _iso(claim.published_at),
        },
        verdict={
            "version": verdict.version,
            "rating": verdict.rating.label if verdict.rating else None,
            "ratingValue": verdict.rating.value if verdict.rating else None,
            "summary": verdict.summary,
            "explanation": verdict.explanation,
            "approved": _iso(verdict.approved_at),
        },
        claim_review=claim_review_of(reviewed_claim(claim, verdict, rating_scale=RatingScale())),
        fingerprint=[dict(entry) for entry in fingerprint],
        evidence=evidence,
        captures=captures,
        review_log=review_log,
        checkpoint=checkpoint,
        timestamps=trusted_timestamps_for(capture.warc_sha256 for capture in captures),
        load_review_log_proofs=load_proofs,
    )


@dataclass(frozen=True)
class MissingTimestamps:
    """What still has no trusted timestamp: tokens asked for and not had (`waiting`, with their
    last error), and captures not asked for yet (`unasked`, the first of `unasked_count`)."""

    waiting: list[TrustedTimestamp]
    unasked: list[Snapshot]
    unasked_count: int

    def __bool__(self) -> bool:
        return bool(self.waiting or self.unasked_count)


def trusted_timestamps_missing(*, limit: int = 100) -> MissingTimestamps:
    """The captures and packages without a token, oldest attempt first, at most `limit` of each."""
    waiting = TrustedTimestamp.objects.filter(token=b"").defer("token").order_by("last_attempt_at", "id")
    unasked = (
        Snapshot.objects.exclude(warc_sha256="")
        .exclude(warc_sha256__in=TrustedTimestamp.objects.values("digest"))
        .only("id", "requested_url", "fetched_at", "warc_sha256")
        .order_by("id")
    )
    return MissingTimestamps(
        waiting=list(waiting[:limit]), unasked=list(unasked[:limit]), unasked_count=unasked.count()
    )


@dataclass(frozen=True)
class SnapshotCitation:
    """One evidence item whose published verdict cites a snapshot: its quote was checked in it."""

    claim_id: int
    claim_text: str
    version: int
    evidence_id: int
    quote: str
    quote_status: str


def snapshot_citations(snapshot: Snapshot) -> list[SnapshotCitation]:
    """The evidence items that a published verdict's fingerprint cites with this snapshot, each
    once (from its newest such version), by claim and evidence. Empty: the snapshot is not part
    of any published record, so readers have no archive page for it."""
    evidence = {
        row.pk: row
        for row in Evidence.objects.filter(
            source_id=snapshot.source_id, claim__status=Claim.Status.PUBLISHED
        ).select_related("claim")
    }
    if not evidence:
        return []
    verdicts = (
        Verdict.objects.filter(
            claim_id__in={row.claim_id for row in evidence.values()}, state=Verdict.State.APPROVED
        )
        .only("claim_id", "version", "state", "evidence_fingerprint")
        .order_by("-version")
    )
    citations: dict[int, SnapshotCitation] = {}
    for verdict in verdicts:
        for entry in verdict.fingerprint():
            row = evidence.get(entry["evidence"])
            if row is None or entry.get("snapshot") != snapshot.pk or row.pk in citations:
                continue
            citations[row.pk] = SnapshotCitation(
                claim_id=row.claim_id,
                claim_text=row.claim.text,
                version=verdict.version,
                evidence_id=row.pk,
                quote=row.quote,
                quote_status=entry.get("quote_status") or row.quote_status,
            )
    return sorted(citations.values(), key=lambda citation: (citation.claim_id, citation.evidence_id))


def _package_capture(snapshot: Snapshot, warc_name: str) -> PackageCapture:
    return PackageCapture(
        snapshot=snapshot.pk,
        url=snapshot.requested_url,
        fetched_at=snapshot.fetched_at,
        title=snapshot.title,
        text_sha256=snapshot.text_sha256,
        warc_sha256=snapshot.warc_sha256,
        warc_bytes=snapshot.warc_bytes,
        load_text=partial(_snapshot_text, snapshot.pk),
        open_warc=partial(_open_stored, warc_name),
    )


def _snapshot_text(snapshot_id: int) -> str:
    return Snapshot.objects.values_list("text", flat=True).get(pk=snapshot_id)


def _open_stored(name: str) -> IO[bytes]:
    return default_storage.open(name, "rb")


def _iso(moment: date | datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
