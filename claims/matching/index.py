"""The in-memory claim index: vectors for recall, text and facts for the judgement.

Search runs in two tiers. The semantic tier finds the nearest claims by sentence vector in an HNSW
graph (usearch, vectors quantised to int8: 512 bytes a claim); the lexical tier scores each
candidate's characters against the query (rapidfuzz on folded text), which separates a copy or a
typo from a mere translation. A logistic model turns both into a calibrated `score`, and
`same_claim` additionally needs the facts (numbers, entities, negation, names) not to contradict.
"""

import math
import sys
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Protocol

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz
from usearch.index import Index

from claims.matching.embedding import TextEncoder, Vectors
from claims.matching.facts import ClaimFacts, UnpairedWords, claim_facts, facts_conflict, words_unpaired
from claims.matching.language import language_detect
from claims.matching.normalise import text_clean, text_fold
from claims.matching.wording import (
    WORDING_MIN_PROBABILITY,
    WordingFeatures,
    WordVectors,
    wording_features,
    wording_probability,
)

# Logistic calibration of `score` = P(same claim), fitted on the tuning half of the labelled
# fixture by `benchmarks/claim_matching.py --calibrate --sizes 100000` (the candidates of every
# tuning query among the fixture's 160 claims and 99,840 synthetic look-alikes; positives are the
# query's own claim). One weight per feature of `MatchEvidence`, in the order of `evidence_features`.
# The words the query writes and the claim does not weigh most against it: look-alikes cover part
# of a query. A fact only the claim states weighs less than one only the query states: a short form
# drops the claim's facts ("cloroquina previne covid" / "…a COVID-19"), a look-alike the query's.
# Each weight is held to a sign (SCORE_WEIGHT_SIGNS) under which the identical text scores at least
# as high as any other wording; unheld, the fit weighs the claim's unpaired words and the
# characters' similarity the other way, and a paraphrase outscored the identical text. Both are
# held at 0. Fitted among 1,000 claims instead, the weights rank the right claim among 100,000 worse
# (holdout same-language recall@5 0.863): look-alikes are what the score must learn to rank below.
SCORE_INTERCEPT = -11.13
SCORE_COSINE_WEIGHT = 12.66
SCORE_LEXICAL_WEIGHT = 0.00
SCORE_SAME_LANGUAGE_WEIGHT = 4.04
SCORE_CONFLICT_WEIGHT = -10.42
SCORE_SHARED_FACTS_WEIGHT = -0.06
SCORE_QUERY_FACTS_UNPAIRED_WEIGHT = -3.38
SCORE_CLAIM_FACTS_UNPAIRED_WEIGHT = -1.31
SCORE_UNFAMILIAR_LANGUAGE_WEIGHT = 0.80
SCORE_QUERY_UNPAIRED_WEIGHT = -11.95
SCORE_CLAIM_UNPAIRED_WEIGHT = 0.00
SCORE_WEIGHTS = (
    SCORE_INTERCEPT,
    SCORE_COSINE_WEIGHT,
    SCORE_LEXICAL_WEIGHT,
    SCORE_SAME_LANGUAGE_WEIGHT,
    SCORE_CONFLICT_WEIGHT,
    SCORE_SHARED_FACTS_WEIGHT,
    SCORE_QUERY_FACTS_UNPAIRED_WEIGHT,
    SCORE_CLAIM_FACTS_UNPAIRED_WEIGHT,
    SCORE_UNFAMILIAR_LANGUAGE_WEIGHT,
    SCORE_QUERY_UNPAIRED_WEIGHT,
    SCORE_CLAIM_UNPAIRED_WEIGHT,
)
# The sign each weight is held to when fitted, in the order of SCORE_WEIGHTS: for what the identical
# text has the most of (cosine, characters, the same language), against what it has none of (a
# conflict, unpaired facts or words); 0, either sign: the intercept, shared facts (the identical text
# shares all of the query's, and a fact it shares and another does not is unpaired there) and an
# unfamiliar language (which the identical text has only when every candidate has it or is of
# another language).
SCORE_WEIGHT_SIGNS = (0, 1, 1, 1, -1, 0, -1, -1, 0, -1, -1)
# A claim of the query's language whose every content word the query writes, while this share of
# the query's content words or more are not in the claim, states only part of the query ("Switzerland
# supplies Ukraine" for "Switzerland supplies ammunition to Ukraine"): related, not the same claim.
# A short form asks in the other direction (the query's words all in the claim) and is not affected.
# On the tuning split among 100,000 claims, a quarter separates these look-alikes from the reordered
# and paraphrased wordings of the right claim.
PARTIAL_MIN_UNPAIRED = 0.25
# Conflicts found in the wording, not the facts: they withhold the "same claim" judgement from a
# candidate that scored for it, but leave its score (and rank) as the facts and vectors made it.
WORDING_CONFLICTS = frozenset({"partial", "substitution"})
# Counts of facts saturate: a third shared entity says little more than the second.
FACT_COUNT_CAP = 3
# `same_claim` needs at least this score and no conflict. The score is the odds of one candidate
# among the dozens of look-alikes that 100,000 claims put near a query, so a right claim in another
# language, whose cosine runs lower, scores far below even odds. Chosen by `--calibrate --sizes
# 100000` on the tuning half as the lowest threshold at which none of its queries that must not
# match is answered "already checked" (0.02: 3.2 %); the right claim is then judged the same for
# 65.0 % of the same-language and 71.3 % of the cross-language queries (0.5: 55.0 % and 7.5 %).
SAME_CLAIM_MIN_SCORE = 0.05
# Candidates taken by vector for the judgement, which reorders them by score: the CANDIDATE_POOL
# nearest, and of the next ones up to CANDIDATE_SEARCH the LEXICAL_POOL closest in characters (a
# typo or a claim cut short can lose to look-alikes by cosine, not by spelling). The benchmark's
# recall@5 at 100,000 claims is measured with these pools: a short form or a noisy social post can
# be the 40th nearest (30 nearest: holdout same-language recall@5 0.950 with these weights, 50: 0.963).
CANDIDATE_POOL = 50
CANDIDATE_SEARCH = 100
LEXICAL_POOL = 10
# Up to this many claims the vectors are searched exhaustively (about 10 ms of one core at 100,000
# claims, int8 SIMD): the HNSW graph's approximate search missed the true nearest claim of one
# query in four at 100,000 look-alike claims with the default expansion (0.74 of the tuning
# queries' claims among its 30 first, 0.94 searched exactly). Beyond, the graph's search is the
# only one fast enough.
EXACT_SEARCH_MAX_CLAIMS = 250_000
ENCODE_BATCH = 256


@dataclass(frozen=True, slots=True)
class IndexedClaim:
    claim_id: int
    text: str
    language: str


class ClaimTexts(Protocol):
    """Where the index reads the text of its candidates, so a large index need not hold them."""

    def texts_of(self, claim_ids: Sequence[int]) -> Mapping[int, tuple[str, str]]:
        """(text, language) of each of the claims the searcher may see; the others are left out."""
        ...


class _TextsInMemory:
    def __init__(self) -> None:
        self.claims: dict[int, tuple[str, str]] = {}

    def texts_of(self, claim_ids: Sequence[int]) -> Mapping[int, tuple[str, str]]:
        return {claim_id: self.claims[claim_id] for claim_id in claim_ids if claim_id in self.claims}


@dataclass(frozen=True, slots=True)
class MatchEvidence:
    """What the score of one candidate rests on."""

    cosine: float
    lexical: float
    same_language: bool
    # Why it cannot be the same claim despite the wording: "number", "entity", "negation", "name",
    # "partial" (the claim states only part of what the query does) or "substitution" (content
    # words swapped for others that mean something else: claims.matching.wording).
    conflict: str | None
    # Numbers and entities that both texts state, that only the query states and that only the
    # claim states.
    shared_facts: int
    query_facts_unpaired: int
    claim_facts_unpaired: int
    # Either text is in a language the encoder was not trained on (Ukrainian): its cosines run lower.
    unfamiliar_language: bool
    # Shares of the query's and of the claim's words that the other does not write (`words_unpaired`);
    # 0 across languages, where words cannot be paired by spelling.
    query_unpaired: float = 0.0
    claim_unpaired: float = 0.0
    # Numbers and entities only the query states: with none only the claim states, the claim says
    # less than the query ("…drones from North Korea" / "…drones").
    query_only_facts: int = 0
    # The same over content words (CONTENT_WORD_MIN letters or more, not numbers), which the
    # "partial" judgement reads (not the score).
    query_content_unpaired: float = 0.0
    claim_content_unpaired: float = 0.0


@dataclass(frozen=True, slots=True)
class ClaimMatch:
    claim_id: int
    score: float
    same_claim: bool
    evidence: MatchEvidence


@lru_cache(maxsize=16_384)
def _claim_facts_cached(text: str, language: str) -> ClaimFacts:
    return claim_facts(text, language=language)


def text_vectors(encoder: TextEncoder, texts: Sequence[str]) -> Vectors:
    """The vectors an index stores for these claim texts, one row each."""
    return encoder.encode([text_clean(text) for text in texts])


def lexical_similarity(left: str, right: str) -> float:
    """Character-level similarity of two folded texts in 0..1, insensitive to word order."""
    return fuzz.token_set_ratio(left, right) / 100


def evidence_features(evidence: MatchEvidence) -> tuple[float, ...]:
    """The evidence as the score's model reads it, in the order of SCORE_WEIGHTS."""
    return (
        1.0,
        evidence.cosine,
        evidence.lexical,
        float(evidence.same_language),
        float(evidence.conflict is not None and evidence.conflict not in WORDING_CONFLICTS),
        float(min(evidence.shared_facts, FACT_COUNT_CAP)),
        float(min(evidence.query_facts_unpaired, FACT_COUNT_CAP)),
        float(min(evidence.claim_facts_unpaired, FACT_COUNT_CAP)),
        float(evidence.unfamiliar_language),
        evidence.query_unpaired,
        evidence.claim_unpaired,
    )


def match_score(evidence: MatchEvidence) -> float:
    """The calibrated probability that a candidate is the same claim as the query."""
    logit = sum(
        weight * feature for weight, feature in zip(SCORE_WEIGHTS, evidence_features(evidence), strict=True)
    )
    return 1 / (1 + math.exp(-logit))


def match_evidence(
    *,
    query: ClaimFacts,
    claim: ClaimFacts,
    cosine: float,
    lexical: float,
    same_language: bool,
    unfamiliar_language: bool,
) -> tuple[MatchEvidence, UnpairedWords]:
    """The evidence, and what of each text the other does not write (nothing across languages)."""
    # Across languages words cannot be paired by spelling: nothing is counted unpaired.
    unpaired = words_unpaired(query.words, claim.words) if same_language else UnpairedWords(0, 0, 0, 0)
    facts_query = {*query.entities, *map(str, query.numbers)}
    facts_claim = {*claim.entities, *map(str, claim.numbers)}
    conflict = facts_conflict(query, claim, same_language=same_language)
    return (
        MatchEvidence(
            cosine=cosine,
            lexical=lexical,
            same_language=same_language,
            conflict=conflict,
            shared_facts=len(facts_query & facts_claim),
            query_facts_unpaired=len(facts_query - facts_claim),
            claim_facts_unpaired=len(facts_claim - facts_query),
            query_only_facts=len(facts_query - facts_claim) if facts_claim <= facts_query else 0,
            unfamiliar_language=unfamiliar_language,
            query_unpaired=round(unpaired.query, 4),
            claim_unpaired=round(unpaired.claim, 4),
            query_content_unpaired=round(unpaired.query_content, 4),
            claim_content_unpaired=round(unpaired.claim_content, 4),
        ),
        unpaired,
    )


# (claim id, cosine, (text, language)) of one candidate.
_Candidate = tuple[int, float, tuple[str, str]]


def _pool(lexical: Sequence[float], *, by_vector: int, kept: int) -> list[int]:
    """Positions of the candidates worth judging, of the `by_vector` nearest first (best first)
    and then those found lexically: the `kept` nearest, the LEXICAL_POOL closest in characters among
    the other nearest, and every one found lexically."""
    first = list(range(min(kept, by_vector)))
    rest = sorted(range(len(first), by_vector), key=lambda position: -lexical[position])[:LEXICAL_POOL]
    return [*first, *rest, *range(by_vector, len(lexical))]


@dataclass(frozen=True, slots=True)
class _Found:
    keys: npt.NDArray[np.uint64]
    distances: npt.NDArray[np.float32]


class _ViewedVectors:
    """A saved vector graph memory-mapped read-only, with the claims changed since in a graph of
    their own. The mapped pages are the file's: shared by every process that maps it, read from disk
    only where searches go, and never copied into a process's own memory as `load` copies them.
    """

    def __init__(self, path: str, *, ndim: int) -> None:
        self._saved = Index(ndim=ndim, metric="cos", dtype="i8")
        self._saved.view(path)
        self._changed = Index(ndim=ndim, metric="cos", dtype="i8")
        # Saved claims replaced (their current vector is in _changed) or removed since.
        self._hidden: set[int] = set()

    def __len__(self) -> int:
        return len(self._saved) - len(self._hidden) + len(self._changed)

    def __contains__(self, key: int) -> bool:
        return key in self._changed or (key not in self._hidden and key in self._saved)

    def add(self, keys: npt.NDArray[np.uint64], vectors: Vectors) -> None:
        self._hidden.update(int(key) for key in keys if int(key) in self._saved)
        self._changed.add(keys, vectors)

    def remove(self, key: int) -> None:
        if key in self._changed:
            self._changed.remove(key)
        if key in self._saved:
            self._hidden.add(key)

    def get(self, key: int, dtype: str) -> object:
        return (self._changed if key in self._changed else self._saved).get(key, dtype=dtype)

    def search(self, vector: Vectors, count: int, *, exact: bool = False, threads: int = 1) -> _Found:
        """The `count` nearest, as usearch answers: the saved graph is asked for as many more as
        it hides, so hidden claims never take a place."""
        found = [
            (float(distance), int(key))
            for key, distance in _nearest(
                self._saved, vector, count + len(self._hidden), exact=exact, threads=threads
            )
            if int(key) not in self._hidden
        ]
        found += [
            (float(distance), int(key))
            for key, distance in _nearest(self._changed, vector, count, exact=exact, threads=threads)
        ]
        found = sorted(found)[:count]
        return _Found(
            keys=np.array([key for _, key in found], dtype=np.uint64),
            distances=np.array([distance for distance, _ in found], dtype=np.float32),
        )

    def save(self, path: str) -> None:
        """Writes the saved graph with the changes applied, as a graph `load` or `view` reads."""
        merged = self._saved.copy()
        for key in self._hidden:
            merged.remove(key)
        keys = np.fromiter(self._changed.keys, dtype=np.uint64, count=len(self._changed))
        if len(keys):
            merged.add(keys, np.asarray(self._changed.get(keys, dtype="f32"), dtype=np.float32))
        merged.save(path)


def _nearest(
    vectors: Index, vector: Vectors, count: int, *, exact: bool, threads: int
) -> list[tuple[int, float]]:
    if not len(vectors) or count < 1:
        return []
    found = vectors.search(vector, count, exact=exact, threads=threads)
    return list(zip(found.keys, found.distances, strict=True))


class ClaimIndex:
    """Claims by id, searchable by any wording; built from rows and updated one claim at a time.

    `add` keeps the texts in memory; `add_vectors` keeps vectors only, for an index whose searches
    read their candidates' texts elsewhere (`search(texts=...)`: the database, for a web process).
    """

    def __init__(self, *, encoder: TextEncoder) -> None:
        self._encoder = encoder
        self._vectors: Index | _ViewedVectors = self._empty_graph()
        self._in_memory = _TextsInMemory()
        self._word_vectors = WordVectors(encoder)
        # usearch allows concurrent searches but not a removal during one.
        self._lock = threading.RLock()

    def __len__(self) -> int:
        return len(self._vectors)

    def __contains__(self, claim_id: object) -> bool:
        return isinstance(claim_id, int) and claim_id in self._vectors

    def add(self, claims: Iterable[IndexedClaim], *, vectors: Vectors | None = None) -> None:
        """Index the claims, replacing any already indexed under the same id.

        `vectors`, one row per claim, skips the encoder (vectors kept from an earlier encoding).
        Claims are encoded and added a batch at a time, so building a large index never holds more
        than one batch of full-precision vectors.
        """
        batch: list[IndexedClaim] = []
        added = 0
        for claim in claims:
            batch.append(claim)
            if len(batch) == ENCODE_BATCH:
                self._add_batch(batch, None if vectors is None else vectors[added : added + len(batch)])
                added += len(batch)
                batch = []
        if batch:
            self._add_batch(batch, None if vectors is None else vectors[added : added + len(batch)])

    def _add_batch(self, batch: list[IndexedClaim], vectors: Vectors | None) -> None:
        if vectors is None:
            vectors = text_vectors(self._encoder, [claim.text for claim in batch])
        self.add_vectors([claim.claim_id for claim in batch], vectors)
        for claim in batch:
            # Interned: 100,000 claims share eight language strings.
            self._in_memory.claims[claim.claim_id] = (claim.text, sys.intern(claim.language))

    def add_vectors(self, claim_ids: Sequence[int], vectors: Vectors) -> None:
        """Index vectors from `text_vectors`, replacing any already indexed under the same ids."""
        if not claim_ids:
            return
        with self._lock:
            for claim_id in claim_ids:
                if claim_id in self._vectors:
                    self._vectors.remove(claim_id)
            self._vectors.add(np.array(claim_ids, dtype=np.uint64), vectors)

    def _empty_graph(self) -> Index:
        return Index(ndim=self._encoder.dimensions, metric="cos", dtype="i8")

    def save(self, path: str) -> None:
        """Writes the vector graph (not the texts kept in memory) to a file `load` and `view` read."""
        with self._lock:
            self._vectors.save(path)

    def load(self, path: str) -> None:
        """Replaces the vector graph with one `save` wrote: far faster than adding the vectors again,
        which rebuilds the graph (minutes at 100,000 claims)."""
        graph = self._empty_graph()
        graph.load(path)
        with self._lock:
            self._vectors = graph

    def view(self, path: str) -> None:
        """Like `load`, but maps the file instead of reading it into memory: at 100,000 claims, ~75 MB
        that stay out of each process's own memory. Later additions and removals are kept apart
        (in memory, one graph node each), so the file is never written; `save` merges them."""
        graph = _ViewedVectors(path, ndim=self._encoder.dimensions)
        with self._lock:
            self._vectors = graph

    def remove(self, claim_id: int) -> None:
        """Forget the claim; unknown ids are ignored, so a replayed deletion is harmless."""
        with self._lock:
            if claim_id in self._vectors:
                self._vectors.remove(claim_id)
            self._in_memory.claims.pop(claim_id, None)

    def search(
        self,
        text: str,
        *,
        limit: int = 5,
        language: str | None = None,
        allowed: Callable[[int], bool] | None = None,
        texts: ClaimTexts | None = None,
        vector: Vectors | None = None,
        also: Sequence[int] = (),
    ) -> list[ClaimMatch]:
        """The claims most likely to make the same assertion as the text, best first.

        `allowed` hides claims the caller may not see (drafts for anonymous users); so does `texts`,
        where the candidates' texts are read instead of the index's memory. Hidden claims never
        take a place in the result. `vector`, the text's row of `text_vectors`, skips encoding it
        (many texts are encoded faster in one call). `also` names candidates found another way
        (the lexical tier), judged with the vector ones.
        """
        cleaned = text_clean(text)
        if not cleaned or not len(self._vectors):
            return []
        query_language = language or language_detect(cleaned) or ""
        query_vector = vector if vector is not None else self._encoder.encode([cleaned])[0]
        by_vector, by_also = self._candidates(
            query_vector, limit=limit, allowed=allowed, texts=texts or self._in_memory, also=also
        )
        candidates = by_vector + by_also
        query_facts = claim_facts(cleaned, language=query_language)
        query_folded = text_fold(cleaned)
        lexical = [
            lexical_similarity(query_folded, text_fold(text_clean(claim_text)))
            for _, _, (claim_text, _) in candidates
        ]
        scored = []
        for position in _pool(lexical, by_vector=len(by_vector), kept=max(limit, CANDIDATE_POOL)):
            claim_id, cosine, (claim_text, claim_language) = candidates[position]
            facts = _claim_facts_cached(claim_text, claim_language)
            evidence, unpaired = match_evidence(
                query=query_facts,
                claim=facts,
                cosine=round(cosine, 4),
                lexical=round(lexical[position], 4),
                same_language=claim_language == query_language,
                unfamiliar_language=not {query_language, claim_language} <= self._encoder.languages,
            )
            score = match_score(evidence)
            # A partial or swapped wording is still the nearest claim: it keeps its score and its
            # rank, and only loses the "same claim" judgement.
            if evidence.conflict is None and score >= SAME_CLAIM_MIN_SCORE:
                partial = evidence.query_content_unpaired >= PARTIAL_MIN_UNPAIRED
                if (partial and evidence.claim_content_unpaired == 0) or evidence.query_only_facts:
                    evidence = replace(evidence, conflict="partial")
                elif evidence.same_language and self._reworded(
                    wording_features(
                        query_text=cleaned,
                        claim_text=claim_text,
                        query=query_facts,
                        claim=facts,
                        unpaired=unpaired,
                        cosine=evidence.cosine,
                        word_vectors=self._word_vectors,
                    )
                ):
                    evidence = replace(evidence, conflict="substitution")
            match = ClaimMatch(
                claim_id=claim_id,
                score=round(score, 4),
                same_claim=evidence.conflict is None and score >= SAME_CLAIM_MIN_SCORE,
                evidence=evidence,
            )
            scored.append((score, match))
        # By the unrounded score: many close wordings round to 1.0, and many conflicts to 0.0.
        scored.sort(key=lambda item: (-item[0], item[1].claim_id))
        return [match for _, match in scored[:limit]]

    @staticmethod
    def _reworded(features: WordingFeatures) -> bool:
        """Whether the words one text writes and the other does not say something else ("ballistic
        missiles" / "drones"), not the same in other words ("bought" / "acquired"). Asked only of a
        candidate about to be judged the same claim: one encoding of a few words a search or so."""
        return wording_probability(features) < WORDING_MIN_PROBABILITY

    def _candidates(
        self,
        query_vector: Vectors,
        *,
        limit: int,
        allowed: Callable[[int], bool] | None,
        texts: ClaimTexts,
        also: Sequence[int],
    ) -> tuple[list[_Candidate], list[_Candidate]]:
        """(claim id, cosine, (text, language)) of the nearest visible claims, and of the visible
        `also` that are not among them; widens the search while too few are visible."""
        wanted = max(limit, CANDIDATE_SEARCH)
        count = wanted
        extra = self._cosines(query_vector, also)
        while True:
            with self._lock:
                total = len(self._vectors)
                found = self._vectors.search(
                    query_vector, count, exact=total <= EXACT_SEARCH_MAX_CLAIMS, threads=1
                )
            nearest = [
                (int(key), 1.0 - float(distance))
                for key, distance in zip(found.keys, found.distances, strict=True)
                if allowed is None or allowed(int(key))
            ]
            seen = {claim_id for claim_id, _ in nearest}
            nearest += [
                (claim_id, cosine)
                for claim_id, cosine in extra
                if claim_id not in seen and (allowed is None or allowed(claim_id))
            ]
            found_texts = texts.texts_of([claim_id for claim_id, _ in nearest])
            visible = [
                (claim_id, cosine, found_texts[claim_id])
                for claim_id, cosine in nearest
                if claim_id in found_texts
            ]
            by_vector = [candidate for candidate in visible if candidate[0] in seen]
            if len(by_vector) >= wanted or count >= total:
                return by_vector[:wanted], [candidate for candidate in visible if candidate[0] not in seen]
            count *= 4

    def _cosines(self, query_vector: Vectors, claim_ids: Sequence[int]) -> list[tuple[int, float]]:
        """(claim id, cosine) of the indexed among the claims, from their stored vectors."""
        if not claim_ids:
            return []
        cosines = []
        for claim_id in claim_ids:
            with self._lock:
                # One key at a time: usearch answers a batch as a tuple with None for unknown keys.
                vector = self._vectors.get(claim_id, dtype="f32") if claim_id in self._vectors else None
            if not isinstance(vector, np.ndarray):
                continue
            norm = float(np.linalg.norm(vector)) * float(np.linalg.norm(query_vector))
            cosines.append((claim_id, float(np.dot(vector, query_vector)) / norm if norm else 0.0))
        return cosines
