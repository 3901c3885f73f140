"""Whether two wordings of one language say the same thing: a learned judgement over word alignments.

The facts comparison (claims.matching.facts) catches a swapped number, entity, name or polarity. What
it cannot see is a swapped phrase: "…supplied ballistic missiles to Russia" / "…supplied drones to
Russia", "reopened a coal plant" / "closed its last coal plant". Counting rules do not separate
those from paraphrases ("bought" / "acquired"): both leave content words unpaired by spelling. What
separates them is whether each unpaired word has a counterpart of like meaning on the other side,
so every unpaired content word is aligned with its nearest content word of the other text by the
sentence encoder's vectors of single words, and a logistic model reads those alignments with the
counts and shares of unpaired words. Its weights are fitted on the `tune` split of the labelled
fixture by `benchmarks/claim_matching.py --fit-wording` and stored here.
"""

import math
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from claims.matching.embedding import TextEncoder, Vectors
from claims.matching.facts import ClaimFacts, UnpairedWords, is_content_word
from claims.matching.normalise import text_clean, text_fold

# Logistic weights, one per feature of `WordingFeatures.as_row`, in its order. Fitted by
# `benchmarks/claim_matching.py --fit-wording --sizes 100000` on the tuning split alone: the
# same-language candidates about to be judged the same claim among the first CANDIDATE_POOL of each
# tuning query, searched among the fixture's 160 claims and 99,840 synthetic look-alikes (positives:
# the query's own claim), and 154 content swaps made from the tuning queries as negatives. Fitted
# with the score's earlier weights and pools (the 30 nearest; "the same claim" from 0.5) and not
# refitted since the score was refitted among 100,000 claims.
WORDING_WEIGHTS = (
    -6.98,
    0.02,
    5.94,
    2.55,
    0.01,
    -4.60,
    2.73,
    0.30,
    3.32,
    -4.38,
)
# A candidate about to be judged the same claim is judged related instead below this probability.
# The model's odds are those of its fitting set, where swaps outnumber the right claims two to one.
# Chosen on the tuning split at 100,000 claims as the lowest threshold at which none of the queries
# that must not match is answered "already checked" (0.18 and above; 0.16: 3.2 %) and at most 5 % of
# the made-up swaps pass (0.4: 3.9 %; 0.2: 9.1 %). The cost: the right claim is judged the same for
# 64 % of the same-language queries (0.2: 71 %; no wording judgement: 90 %, with 6.5 % false).
WORDING_MIN_PROBABILITY = 0.4
# Unpaired words beyond this many say little more: the shares carry the rest.
UNPAIRED_COUNT_CAP = 4
# Words whose vectors a process keeps (float16, 1 KB each): the words of recent candidates recur.
WORD_VECTOR_CACHE = 4096


@dataclass(frozen=True, slots=True)
class WordingFeatures:
    """How the content words one text writes and the other does not align with the other text."""

    # The lowest and the mean, over the unpaired content words of both texts, of each word's best
    # cosine with a content word of the other text; 1 when every content word is paired.
    weakest_alignment: float
    mean_alignment: float
    # Cosine of the query's unpaired words written together with the claim's (1 when either side
    # has none): a phrase can mean what another does though no single word matches.
    span_cosine: float
    unpaired_count: int
    query_content_unpaired: float
    claim_content_unpaired: float
    # An unpaired word is capitalised inside its sentence: a name the gazetteer does not know.
    unpaired_name: bool
    cosine: float

    def as_row(self) -> tuple[float, ...]:
        """The features as the model reads them, in the order of WORDING_WEIGHTS."""
        return (
            1.0,
            self.weakest_alignment,
            self.mean_alignment,
            self.span_cosine,
            float(min(self.unpaired_count, UNPAIRED_COUNT_CAP)),
            self.query_content_unpaired,
            self.claim_content_unpaired,
            float(self.unpaired_name),
            self.cosine,
            self.cosine_shortfall,
        )

    @property
    def cosine_shortfall(self) -> float:
        """How far the sentence cosine falls short of 1 though the texts write the same words: a
        rewording keeps the cosine high with few words in common, a swap lowers it with most."""
        shared = 1 - (self.query_content_unpaired + self.claim_content_unpaired) / 2
        return (1 - self.cosine) * shared


def wording_probability(features: WordingFeatures, weights: Sequence[float] = WORDING_WEIGHTS) -> float:
    """The probability that the two wordings state the same claim, given how their words align."""
    logit = sum(weight * feature for weight, feature in zip(weights, features.as_row(), strict=True))
    return 1 / (1 + math.exp(-max(-30.0, min(30.0, logit))))


class WordVectors:
    """Sentence-encoder vectors of single words, the recent ones kept (a search judges a few
    candidates, whose words recur from one search to the next)."""

    def __init__(self, encoder: TextEncoder, *, capacity: int = WORD_VECTOR_CACHE) -> None:
        self._encoder = encoder
        self._capacity = capacity
        self._kept: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def of(self, words: Sequence[str]) -> Vectors:
        """One L2-normalised row per word, the words missing from the cache encoded in one call."""
        with self._lock:
            found = {word: self._kept[word] for word in words if word in self._kept}
        missing = [word for word in dict.fromkeys(words) if word not in found]
        if missing:
            encoded = self._encoder.encode(missing)
            with self._lock:
                for word, vector in zip(missing, encoded, strict=True):
                    if len(self._kept) >= self._capacity:
                        # The oldest first: dicts keep insertion order.
                        del self._kept[next(iter(self._kept))]
                    self._kept[word] = found[word] = vector.astype(np.float16)
        return np.asarray([found[word] for word in words], dtype=np.float32).reshape(len(words), -1)

    def of_phrases(self, phrases: Sequence[str]) -> Vectors:
        """Vectors of phrases, not kept: they seldom recur."""
        return self._encoder.encode(phrases)


_WORD = re.compile(r"\w+")


def _surface_forms(text: str) -> dict[str, str]:
    """Folded word -> the word as written, lower-cased: the encoder reads "électricité" better than
    the "electricite" the pairing by spelling compares."""
    return {text_fold(word): word.casefold() for word in _WORD.findall(text_clean(text))}


def _best_alignments(unpaired: list[str], other: list[str], vectors: dict[str, np.ndarray]) -> list[float]:
    if not unpaired:
        return []
    if not other:
        return [0.0] * len(unpaired)
    left = np.stack([vectors[word] for word in unpaired])
    right = np.stack([vectors[word] for word in other])
    return [float(best) for best in (left @ right.T).max(axis=1)]


def wording_features(
    *,
    query_text: str,
    claim_text: str,
    query: ClaimFacts,
    claim: ClaimFacts,
    unpaired: UnpairedWords,
    cosine: float,
    word_vectors: WordVectors,
) -> WordingFeatures:
    """The alignment of two same-language texts' unpaired content words (`words_unpaired`), with
    their facts (`claim_facts`) and their sentence vectors' cosine."""
    query_unpaired = sorted(unpaired.query_content_words)
    claim_unpaired = sorted(unpaired.claim_content_words)
    query_content = sorted(filter(is_content_word, query.words))
    claim_content = sorted(filter(is_content_word, claim.words))
    if not query_unpaired and not claim_unpaired:
        alignments: list[float] = []
        span = 1.0
    else:
        written = {**_surface_forms(claim_text), **_surface_forms(query_text)}
        spans = [
            " ".join(written.get(word, word) for word in side) for side in (query_unpaired, claim_unpaired)
        ]
        words = list(dict.fromkeys([*query_content, *claim_content]))
        rows = word_vectors.of([written.get(word, word) for word in words])
        vectors = dict(zip(words, rows, strict=True))
        alignments = _best_alignments(query_unpaired, claim_content, vectors) + _best_alignments(
            claim_unpaired, query_content, vectors
        )
        if query_unpaired and claim_unpaired:
            left, right = word_vectors.of_phrases(spans)
            span = float(np.dot(left, right))
        else:
            span = 1.0
    names = query.names | claim.names
    return WordingFeatures(
        weakest_alignment=round(min(alignments, default=1.0), 4),
        mean_alignment=round(sum(alignments) / len(alignments), 4) if alignments else 1.0,
        span_cosine=round(span, 4),
        unpaired_count=len(query_unpaired) + len(claim_unpaired),
        query_content_unpaired=unpaired.query_content,
        claim_content_unpaired=unpaired.claim_content,
        unpaired_name=bool(names & {*query_unpaired, *claim_unpaired}),
        cosine=cosine,
    )
