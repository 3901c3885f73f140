"""Claim matching: "was this already checked?" across wordings and languages, offline.

A plain library (no Django, but for the one setting `sentence_encoder` reads when Django is
configured: where it keeps the encoder's table): the index is built from claim rows and kept
current one claim at a time by whoever owns the rows.
"""

from claims.matching.embedding import SentenceEncoder, TextEncoder, sentence_encoder
from claims.matching.facts import ClaimFacts, claim_facts, facts_conflict
from claims.matching.index import (
    ClaimIndex,
    ClaimMatch,
    ClaimTexts,
    IndexedClaim,
    MatchEvidence,
    match_score,
    text_vectors,
)
from claims.matching.language import SUPPORTED_LANGUAGES, language_detect
from claims.matching.normalise import text_clean, text_fold

__all__ = [
    "SUPPORTED_LANGUAGES",
    "ClaimFacts",
    "ClaimIndex",
    "ClaimMatch",
    "ClaimTexts",
    "IndexedClaim",
    "MatchEvidence",
    "SentenceEncoder",
    "TextEncoder",
    "claim_facts",
    "facts_conflict",
    "language_detect",
    "match_score",
    "sentence_encoder",
    "text_clean",
    "text_fold",
    "text_vectors",
]
