"""Reads of provenance records shared by the API, pages, commands and package building."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from verifier.models import ReviewLogEntry
from verifier.provenance.merkle import inclusion_proofs, leaf_hash
from verifier.provenance.models import ReviewLogCheckpoint, SigningKey, TrustedTimestamp


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
    entries = list(
        ReviewLogEntry.objects.filter(claim_id=claim_id, sequence__lte=up_to_sequence).order_by("sequence")
    )
    checkpoint = review_log_checkpoint_covering(up_to_sequence)
    proofs: dict[int, list[str]] = {}
    if checkpoint is not None:
        leaves = [leaf_hash(entry_hash) for _, entry_hash in review_log_hashes(size=checkpoint.size)]
        proofs = inclusion_proofs(leaves, [entry.sequence - 1 for entry in entries])
    part = [
        {
            "content": entry.content(),
            "previous_hash": entry.previous_hash,
            "entry_hash": entry.entry_hash,
            **({"proof": proofs[entry.sequence - 1]} if checkpoint is not None else {}),
        }
        for entry in entries
    ]
    return part, checkpoint_document(checkpoint) if checkpoint is not None else None


def trusted_timestamps_for(digests: Iterable[str]) -> dict[str, bytes]:
    """The tokens held for these SHA-256 digests (hex), by digest; missing ones are left out."""
    rows = TrustedTimestamp.objects.filter(digest__in=list(digests)).exclude(token=b"")
    return {row.digest: bytes(row.token) for row in rows.only("digest", "token")}
