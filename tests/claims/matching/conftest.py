"""The sentence encoder loads once per test session: it is the slow part (about a second)."""

import json
from pathlib import Path

import pytest

from claims.matching import ClaimIndex, SentenceEncoder, sentence_encoder

FIXTURE = Path(__file__).resolve().parents[3] / "benchmarks" / "data" / "claim_matching"


@pytest.fixture(scope="session")
def encoder() -> SentenceEncoder:
    return sentence_encoder()


@pytest.fixture
def index(encoder: SentenceEncoder) -> ClaimIndex:
    return ClaimIndex(encoder=encoder)


@pytest.fixture(scope="session")
def fixture_claims() -> list[dict]:
    with (FIXTURE / "claims.jsonl").open(encoding="utf-8") as claims:
        return [json.loads(line) for line in claims]


@pytest.fixture(scope="session")
def fixture_queries() -> list[dict]:
    with (FIXTURE / "queries.jsonl").open(encoding="utf-8") as queries:
        return [json.loads(line) for line in queries]
