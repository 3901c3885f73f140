"""A saved claim index memory-mapped (ClaimIndex.view), as web workers open it: it answers as the
index it was saved from and follows the changes made since, without writing the file."""

from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from claims.matching import ClaimIndex, IndexedClaim, SentenceEncoder, text_vectors

DRONES = IndexedClaim(claim_id=1, text="Russia has acquired hundreds of drones from Iran.", language="en")
PETROL = IndexedClaim(
    claim_id=2, text="The UK will ban the sale of new petrol and diesel cars from 2030.", language="en"
)
COFFEE = IndexedClaim(claim_id=3, text="Colombia es el mayor productor de café del mundo.", language="es")
BERRIES = "Bananas are berries, botanically speaking."


class Texts:
    """The claims' current texts, as the database gives them to a web worker's index."""

    def __init__(self, *claims: IndexedClaim) -> None:
        self.claims = {claim.claim_id: (claim.text, claim.language) for claim in claims}

    def texts_of(self, claim_ids: Sequence[int]) -> Mapping[int, tuple[str, str]]:
        return {claim_id: self.claims[claim_id] for claim_id in claim_ids if claim_id in self.claims}


@pytest.fixture
def saved(index: ClaimIndex, tmp_path: Path) -> Path:
    index.add([DRONES, PETROL, COFFEE])
    path = tmp_path / "claims.usearch"
    index.save(str(path))
    return path


@pytest.fixture
def viewed(encoder: SentenceEncoder, saved: Path) -> ClaimIndex:
    index = ClaimIndex(encoder=encoder)
    index.view(str(saved))
    return index


def found(index: ClaimIndex, text: str, texts: Texts) -> list[int]:
    return [match.claim_id for match in index.search(text, texts=texts) if match.same_claim]


def test_a_viewed_index_answers_as_the_index_it_was_saved_from(viewed: ClaimIndex) -> None:
    texts = Texts(DRONES, PETROL, COFFEE)

    assert len(viewed) == 3 and 2 in viewed
    assert found(viewed, "Rusia ha adquirido cientos de drones de Irán.", texts) == [1]
    assert found(viewed, "Colombia is the world's largest coffee producer", texts) == [3]


def test_a_viewed_index_follows_edits_additions_and_removals_without_writing_its_file(
    viewed: ClaimIndex, saved: Path, encoder: SentenceEncoder
) -> None:
    before = saved.read_bytes()
    edited = IndexedClaim(claim_id=1, text=BERRIES, language="en")
    added = IndexedClaim(claim_id=4, text="Iran admits sending drones to Russia.", language="en")
    viewed.add_vectors([1, 4], text_vectors(encoder, [edited.text, added.text]))
    viewed.remove(2)
    texts = Texts(edited, COFFEE, added)

    assert found(viewed, "bananas are botanically berries", texts) == [1]
    assert 1 not in found(viewed, "Rusia ha adquirido cientos de drones de Irán.", texts)
    assert found(viewed, "Iran admitted it sent drones to Russia", texts) == [4]
    # Removed: not found even where its text is still readable.
    assert 2 not in viewed and len(viewed) == 3
    assert 2 not in [match.claim_id for match in viewed.search(PETROL.text, texts=Texts(PETROL))]
    assert saved.read_bytes() == before


def test_saving_a_viewed_index_writes_the_saved_graph_with_its_changes(
    viewed: ClaimIndex, encoder: SentenceEncoder, tmp_path: Path
) -> None:
    viewed.add_vectors([1], text_vectors(encoder, [BERRIES]))
    viewed.remove(2)
    path = tmp_path / "merged.usearch"
    viewed.save(str(path))
    loaded = ClaimIndex(encoder=encoder)
    loaded.load(str(path))
    texts = Texts(IndexedClaim(claim_id=1, text=BERRIES, language="en"), COFFEE)

    assert len(loaded) == 2 and 2 not in loaded
    assert found(loaded, "bananas are botanically berries", texts) == [1]
    assert found(loaded, "Colombia is the world's largest coffee producer", texts) == [3]
