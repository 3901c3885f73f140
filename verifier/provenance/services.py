"""Writes for provenance: signed review-log checkpoints, trusted timestamps, stored packages."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from verifier.errors import DomainError
from verifier.provenance.keys import signing_key_load, signing_key_record
from verifier.provenance.merkle import checkpoint_message, leaf_hash, tree_head
from verifier.provenance.models import ReviewLogCheckpoint
from verifier.provenance.selectors import review_log_checkpoint_latest, review_log_hashes
from verifier.provenance.signing import sign_text


def review_log_checkpoint_store() -> ReviewLogCheckpoint | None:
    """Signs and stores the head of the review log as it is now (None for an empty log); if
    nothing was appended since the latest checkpoint, that one is returned."""
    hashes = review_log_hashes()
    if not hashes:
        return None
    for position, (sequence, _) in enumerate(hashes, start=1):
        if sequence != position:
            # Signing a log with a hole would vouch for the deletion.
            raise DomainError.conflict(
                f"The review log has no entry #{position}; no checkpoint was signed."
            )
    latest = review_log_checkpoint_latest()
    if latest is not None and latest.size == len(hashes):
        return latest
    key = signing_key_load()
    head = tree_head([leaf_hash(entry_hash) for _, entry_hash in hashes])
    created = timezone.now()
    message = checkpoint_message(size=len(hashes), head=head, created=created.isoformat())
    try:
        with transaction.atomic():
            return ReviewLogCheckpoint.objects.create(
                size=len(hashes),
                head=head,
                created_at=created,
                signature=sign_text(key, message),
                key=signing_key_record(key),
            )
    except IntegrityError:
        # Another process checkpointed the same log at the same moment.
        return ReviewLogCheckpoint.objects.get(size=len(hashes))
