"""The learned wording judgement: a phrase swapped for another is related, a paraphrase the same claim."""

import numpy as np
import pytest

from claims.matching import ClaimIndex, IndexedClaim, SentenceEncoder, claim_facts
from claims.matching.facts import words_unpaired
from claims.matching.index import SAME_CLAIM_MIN_SCORE
from claims.matching.wording import WordVectors, wording_features, wording_probability

DRONES = IndexedClaim(claim_id=1, text="Russia has acquired hundreds of drones from Iran.", language="en")
COAL = IndexedClaim(claim_id=2, text="France closed its last coal-fired power plant in 2022.", language="en")
WAGE = IndexedClaim(
    claim_id=3, text="El salario mínimo en España subió a 1.080 euros en 2023.", language="es"
)
TEA = IndexedClaim(claim_id=4, text="Drinking green tea every day lowers blood pressure.", language="en")
CARS = IndexedClaim(claim_id=5, text="The city council banned cars from the old town centre.", language="en")


@pytest.fixture
def seeded(index: ClaimIndex) -> ClaimIndex:
    index.add([DRONES, COAL, WAGE, TEA, CARS])
    return index


def judged(index: ClaimIndex, text: str, claim: IndexedClaim):
    return next(match for match in index.search(text) if match.claim_id == claim.claim_id)


@pytest.mark.parametrize(
    ("text", "claim"),
    [
        ("Russia has acquired hundreds of combat helicopters from Iran.", DRONES),
        ("France closed its last nuclear power plant in 2022.", COAL),
        ("Drinking black coffee every day lowers blood pressure.", TEA),
        ("Drinking green tea every day raises cholesterol.", TEA),
        ("The city council banned cars from the harbour district.", CARS),
    ],
)
def test_a_phrase_swapped_for_another_is_related_not_the_same_claim(
    seeded: ClaimIndex, text: str, claim: IndexedClaim
) -> None:
    match = judged(seeded, text, claim)

    # Still the nearest claim, by a score that reads the same wording as the claim's.
    assert match.score >= SAME_CLAIM_MIN_SCORE
    assert not match.same_claim
    assert match.evidence.conflict == "substitution"


@pytest.mark.parametrize(
    ("text", "claim"),
    [
        ("En 2023 el salario mínimo subió en España hasta los 1.080 euros.", WAGE),
        ("Daily green tea drinking reduces blood pressure.", TEA),
        ("Cars were banned from the old town centre by the city council.", CARS),
        ("France shut down its final coal power station in 2022.", COAL),
    ],
)
def test_a_paraphrase_or_a_reordering_stays_the_same_claim(
    seeded: ClaimIndex, text: str, claim: IndexedClaim
) -> None:
    match = judged(seeded, text, claim)

    assert match.same_claim
    assert match.evidence.conflict is None


def test_unpaired_words_aligned_with_a_synonym_weigh_for_the_same_claim(encoder: SentenceEncoder) -> None:
    vectors = WordVectors(encoder)
    claim = claim_facts(DRONES.text, language="en")

    def probability(text: str) -> float:
        query = claim_facts(text, language="en")
        return wording_probability(
            wording_features(
                query_text=text,
                claim_text=DRONES.text,
                query=query,
                claim=claim,
                unpaired=words_unpaired(query.words, claim.words),
                cosine=0.9,
                word_vectors=vectors,
            )
        )

    assert probability("Russia has bought hundreds of drones from Iran.") > probability(
        "Russia has sold hundreds of vaccines to Iran."
    )


class CountingEncoder:
    dimensions = 3
    languages = frozenset({"en"})

    def __init__(self) -> None:
        self.encoded: list[str] = []

    def encode(self, texts):
        self.encoded.extend(texts)
        rows = np.array([[len(text), 1.0, 0.0] for text in texts], dtype=np.float32)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_word_vectors_encode_each_word_once_and_forget_the_oldest_beyond_their_capacity() -> None:
    encoder = CountingEncoder()
    vectors = WordVectors(encoder, capacity=2)

    first = vectors.of(["drones", "iran"])
    again = vectors.of(["iran", "drones"])
    vectors.of(["missiles"])
    vectors.of(["drones"])

    assert np.allclose(first[::-1], again, atol=1e-3)
    assert encoder.encoded == ["drones", "iran", "missiles", "drones"]
