"""Checking the review log held in the database against a checkpoint signed earlier."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from verifier.provenance.merkle import checkpoint_problems, leaf_hash, tree_head
from verifier.provenance.selectors import review_log_hashes, signing_keys_known


def review_log_checkpoint_problems(checkpoint: Mapping[str, Any]) -> list[str]:
    """Every way the log differs from what the checkpoint covered: a bad signature, entries
    deleted (the newest included), edited or reordered among the first `size` entries."""
    problems = checkpoint_problems(checkpoint, trusted_keys=[key.public_key for key in signing_keys_known()])
    if problems and "size" not in checkpoint:
        return problems
    size = int(checkpoint["size"])
    hashes = review_log_hashes(size=size)
    if len(hashes) < size:
        problems.append(
            f"the checkpoint covers {size} entries but the log holds only {len(hashes)}: "
            f"entries were deleted (from #{len(hashes) + 1} on, or earlier ones)"
        )
    elif tree_head([leaf_hash(entry_hash) for _, entry_hash in hashes]) != checkpoint["head"]:
        problems.append(
            f"the first {size} entries no longer hash to the checkpoint's head: an entry it "
            "covers was edited, reordered or deleted"
        )
    return problems
