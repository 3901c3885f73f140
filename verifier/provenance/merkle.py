"""The review log as a Certificate Transparency style Merkle tree (RFC 6962 / RFC 9162).

Each log entry is already hash-chained to the one before it; its entry hash is also a leaf of a
Merkle tree whose head a checkpoint signs. The chain shows an entry was not edited; the tree lets
a package prove that a claim's entries are in the signed log with a few sibling hashes (an
inclusion proof) and without revealing any other entry.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from verifier.provenance.signing import signature_valid

_LEAF = b"\x00"
_NODE = b"\x01"


def leaf_hash(entry_hash: str) -> bytes:
    return hashlib.sha256(_LEAF + bytes.fromhex(entry_hash)).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(_NODE + left + right).digest()


def _levels(leaves: Sequence[bytes]) -> list[list[bytes]]:
    # Pairing from the left and carrying a lone last node up unchanged builds exactly the tree
    # RFC 6962 defines by splitting at the largest power of two.
    levels = [list(leaves)]
    while len(levels[-1]) > 1:
        level = levels[-1]
        parents = [_node(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            parents.append(level[-1])
        levels.append(parents)
    return levels


def tree_head(leaves: Sequence[bytes]) -> str:
    """The Merkle tree hash of the leaf hashes, hex; the hash of nothing for an empty log."""
    if not leaves:
        return hashlib.sha256(b"").hexdigest()
    return _levels(leaves)[-1][0].hex()


def inclusion_proofs(leaves: Sequence[bytes], indexes: Sequence[int]) -> dict[int, list[str]]:
    """For each leaf index (0-based), the sibling hashes (hex) from that leaf up to the head."""
    levels = _levels(leaves)
    proofs: dict[int, list[str]] = {}
    for index in indexes:
        if not 0 <= index < len(leaves):
            raise ValueError(f"leaf {index} is not in a tree of {len(leaves)}")
        path = []
        position = index
        for level in levels[:-1]:
            sibling = position ^ 1
            if sibling < len(level):
                path.append(level[sibling].hex())
            position //= 2
        proofs[index] = path
    return proofs


def inclusion_valid(*, entry_hash: str, index: int, size: int, proof: Sequence[str], head: str) -> bool:
    """RFC 9162 section 2.1.3.2: whether the proof leads from the entry to the tree head."""
    if not 0 <= index < size:
        return False
    try:
        path = [bytes.fromhex(item) for item in proof]
        result = leaf_hash(entry_hash)
    except ValueError:
        return False
    fn, sn = index, size - 1
    for sibling in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            result = _node(sibling, result)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            result = _node(result, sibling)
        fn >>= 1
        sn >>= 1
    return sn == 0 and result.hex() == head


def checkpoint_message(*, size: int, head: str, created: str) -> str:
    """The text a checkpoint's signature covers: its fields as canonical JSON."""
    return json.dumps({"created": created, "head": head, "size": size}, sort_keys=True, separators=(",", ":"))


def checkpoint_problems(checkpoint: Mapping[str, Any], *, trusted_keys: Iterable[str]) -> list[str]:
    """What is wrong with a checkpoint document by itself: missing fields, a key that is not one
    of `trusted_keys` (base64 DER public keys), a signature that does not verify."""
    try:
        size, head = int(checkpoint["size"]), str(checkpoint["head"])
        created, signature = str(checkpoint["created"]), str(checkpoint["signature"])
        public_key = str(checkpoint["publicKey"])
    except (KeyError, TypeError, ValueError):
        return ["the checkpoint lacks one of size, head, created, signature, publicKey"]
    problems = []
    if public_key not in set(trusted_keys):
        problems.append("the checkpoint is signed by a key that is not a trusted Verifier key")
    message = checkpoint_message(size=size, head=head, created=created)
    if not signature_valid(public_key, message, signature):
        problems.append("the checkpoint's signature does not verify")
    return problems
