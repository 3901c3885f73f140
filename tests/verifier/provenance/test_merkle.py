"""The review log's Merkle tree: RFC 6962 heads and inclusion proofs."""

import hashlib

import pytest

from verifier.provenance.merkle import inclusion_proofs, inclusion_valid, leaf_hash, tree_head


def rfc6962_head(leaves: list[bytes]) -> bytes:
    """RFC 6962 section 2.1, as written: split at the largest power of two below n."""
    if len(leaves) == 1:
        return leaves[0]
    split = 1
    while split * 2 < len(leaves):
        split *= 2
    return hashlib.sha256(b"\x01" + rfc6962_head(leaves[:split]) + rfc6962_head(leaves[split:])).digest()


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 13, 31, 64, 65])
def test_every_entry_proves_its_place_under_the_rfc_6962_head(size):
    entry_hashes = [hashlib.sha256(str(n).encode()).hexdigest() for n in range(size)]
    leaves = [leaf_hash(entry_hash) for entry_hash in entry_hashes]
    head = tree_head(leaves)
    proofs = inclusion_proofs(leaves, range(size))

    assert head == rfc6962_head(leaves).hex()
    for index, entry_hash in enumerate(entry_hashes):
        assert inclusion_valid(entry_hash=entry_hash, index=index, size=size, proof=proofs[index], head=head)


def test_a_proof_fails_for_another_entry_position_or_head():
    entry_hashes = [hashlib.sha256(str(n).encode()).hexdigest() for n in range(7)]
    leaves = [leaf_hash(entry_hash) for entry_hash in entry_hashes]
    head = tree_head(leaves)
    proof = inclusion_proofs(leaves, [3])[3]

    assert not inclusion_valid(entry_hash=entry_hashes[4], index=3, size=7, proof=proof, head=head)
    assert not inclusion_valid(entry_hash=entry_hashes[3], index=2, size=7, proof=proof, head=head)
    assert not inclusion_valid(entry_hash=entry_hashes[3], index=3, size=4, proof=proof, head=head)
    assert not inclusion_valid(entry_hash=entry_hashes[3], index=3, size=7, proof=proof, head="0" * 64)
