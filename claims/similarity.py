"""The process's claim index and the search over it: which recorded claims a text restates.

Vectors live in the database (claims.models.ClaimVector), written by the index task; each process
(gunicorn worker, Celery worker) keeps its own HNSW graph of them and, before each search, adds the
rows indexed since it last looked. A process starts from the saved graph: a web worker maps the file
(pages shared with the other workers, and no copy of its own) and keeps only the changes since in
memory; the process that saves it loads it. Texts are read by id from the claims table, for the few
candidates of a search only, so no process holds 100,000 texts; the model loads on first use.
"""

import json
import logging
import os
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import OperationalError, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import QuerySet
from django.utils import timezone

from claims.matching import ClaimIndex, sentence_encoder, text_clean, text_fold, text_vectors
from claims.matching.embedding import Vectors
from claims.models import Claim, ClaimVector

# Candidates the lexical tier adds to the vector ones: the claims whose characters best match.
LEXICAL_POOL = 10
# The lexical tier reads this many times its pool before the visibility filter (drafts hidden).
LEXICAL_OVERFETCH = 4
LEXICAL_TABLE = "claims_claim_lexical"
# PostgreSQL's folding of diacritics, in the lexical index and its query alike (claims/0008).
LEXICAL_FOLD = "claims_text_fold"
# The PostgreSQL lexical query is cancelled after this long and the search goes on with the vector
# candidates alone: the answer's p95 target is 100 ms, and the trigram query's usual cost is a few ms.
LEXICAL_TIMEOUT_MS = 50
_WORD = re.compile(r"\w+")
# Rows committed late can carry an indexed_at earlier than one already read (the writer took the
# time before its commit): each sync rereads this far back from the previous sync, skipping the rows
# it already has. A row is missed only if its writer's commit, plus any lag of the writer's clock
# behind the reader's, outlasts it.
SYNC_OVERLAP = timedelta(seconds=30)
SYNC_CHUNK = 2000

logger = logging.getLogger("claims.similarity")


class _VisibleTexts:
    """The texts of the claims in a queryset, by id: what one search may show."""

    def __init__(self, visible: QuerySet[Claim]) -> None:
        self._visible = visible

    def texts_of(self, claim_ids: Sequence[int]) -> Mapping[int, tuple[str, str]]:
        rows = self._visible.filter(pk__in=claim_ids).values_list("pk", "text", "language")
        return {pk: (text, _primary_language(language) or "") for pk, text, language in rows}


def _primary_language(language: str | None) -> str | None:
    # The matcher knows languages, not regions: pt-BR and pt-PT are both pt.
    return language.split("-")[0].lower() if language else None


def _snapshot_paths() -> tuple[Path, Path]:
    graph = Path(settings.CLAIM_INDEX_SNAPSHOT)
    return graph, graph.with_name(f"{graph.name}.json")


class _SyncedIndex:
    """The process's index and where its sync with the database stands.

    `writable` loads the saved graph into memory, as the process that saves it needs; otherwise it is
    memory-mapped (ClaimIndex.view), as a web worker, which only searches, maps it.
    """

    def __init__(self, *, writable: bool, from_saved: bool = True) -> None:
        self.index = ClaimIndex(encoder=sentence_encoder())
        self.writable = writable
        self.synced_until: datetime | None = None
        # When the previous sync began: every row indexed more than SYNC_OVERLAP before it was read.
        self.read_at: datetime | None = None
        # claim id -> indexed_at of the rows read within the overlap, so a reread skips them.
        self.recent: dict[int, datetime] = {}
        self.lock = threading.Lock()
        # The saved graph's version (its metadata's mtime) this index started from; None: none.
        self.snapshot_version: int | None = None
        if from_saved:
            self._load_snapshot()

    def _load_snapshot(self) -> None:
        graph, meta = _snapshot_paths()
        try:
            # Even if unreadable: only another save can make it readable.
            self.snapshot_version = meta.stat().st_mtime_ns
        except OSError:
            return
        try:
            # The metadata first: the graph beside it is at least as recent (claim_index_snapshot_store).
            state = json.loads(meta.read_text())
            synced_until = datetime.fromisoformat(state["synced_until"])
            read_at = datetime.fromisoformat(state["read_at"]) if "read_at" in state else None
            recent = {
                int(claim_id): datetime.fromisoformat(moment)
                for claim_id, moment in state.get("recent", {}).items()
            }
            if self.writable:
                self.index.load(str(graph))
            else:
                self.index.view(str(graph))
        except (OSError, ValueError, KeyError, RuntimeError):
            return
        # The saver's own sync state: the first sync here reads what the saver would have read
        # next, skipping the rows it had (a bulk import indexes tens of thousands within the overlap,
        # and adding them again would cost a minute and a second copy of their graph nodes).
        self.synced_until, self.read_at, self.recent = synced_until, read_at, recent

    def outdated(self) -> bool:
        """A newer graph was saved since this read-only index opened its own: reopening it drops the
        changes this one holds in memory, which the new graph has."""
        if self.writable:
            return False
        try:
            return _snapshot_paths()[1].stat().st_mtime_ns != self.snapshot_version
        except OSError:
            # None saved yet, or it went away: the index in use stays valid.
            return False

    def snapshot(self) -> None:
        with self.lock:
            if self.synced_until is None:
                return
            graph, meta = _snapshot_paths()
            partial = graph.with_name(f"{graph.name}.partial")
            self.index.save(str(partial))
            state = {
                "synced_until": self.synced_until.isoformat(),
                "read_at": (self.read_at or self.synced_until).isoformat(),
                "recent": {str(claim_id): moment.isoformat() for claim_id, moment in self.recent.items()},
            }
            # Written under the lock that sync takes: the state is the graph's.
            os.replace(partial, graph)
            partial_meta = meta.with_name(f"{meta.name}.partial")
            partial_meta.write_text(json.dumps(state))
            os.replace(partial_meta, meta)

    def sync(self) -> None:
        with self.lock:
            rows = ClaimVector.objects.order_by("indexed_at")
            reread_from = self.reread_from()
            if reread_from is not None:
                rows = rows.filter(indexed_at__gte=reread_from)
            self.read_at = timezone.now()
            batch_ids: list[int] = []
            batch_vectors: list[bytes] = []
            for claim_id, vector, indexed_at in rows.values_list("claim_id", "vector", "indexed_at").iterator(
                chunk_size=SYNC_CHUNK
            ):
                if self.recent.get(claim_id) == indexed_at:
                    continue
                self.recent[claim_id] = indexed_at
                self.synced_until = max(self.synced_until or indexed_at, indexed_at)
                batch_ids.append(claim_id)
                batch_vectors.append(bytes(vector))
                if len(batch_ids) == SYNC_CHUNK:
                    self._add(batch_ids, batch_vectors)
                    batch_ids, batch_vectors = [], []
            self._add(batch_ids, batch_vectors)
            horizon = self.reread_from()
            if horizon is not None:
                self.recent = {key: moment for key, moment in self.recent.items() if moment >= horizon}

    def reread_from(self) -> datetime | None:
        """The indexed_at from which the next sync reads (None: everything). Measured from the last
        sync, not from the last row read: after a bulk import the newest rows stay the newest, and
        rereading the 30 s before them would cost every search thousands of rows long after."""
        if self.synced_until is None:
            return None
        return max(self.synced_until, self.read_at or self.synced_until) - SYNC_OVERLAP

    def _add(self, claim_ids: list[int], vectors: list[bytes]) -> None:
        if claim_ids:
            matrix = np.frombuffer(b"".join(vectors), dtype=np.float16).reshape(len(claim_ids), -1)
            self.index.add_vectors(claim_ids, matrix.astype(np.float32))


_process_index: _SyncedIndex | None = None
_process_index_lock = threading.Lock()


def _synced_index(*, writable: bool = False) -> _SyncedIndex:
    global _process_index
    with _process_index_lock:
        if _process_index is None or (writable and not _process_index.writable) or _process_index.outdated():
            _process_index = _SyncedIndex(writable=writable)
    _process_index.sync()
    return _process_index


def claim_index_snapshot_store(*, afresh: bool = False) -> int:
    """Brings this process's index up to date and saves it for processes to start from; returns the
    number of claims it holds. `afresh` builds it from the stored vectors alone instead of from the
    saved graph: a sync only adds, so the saved graph keeps every claim deleted since it was first
    built (a load deleted and made again three times holds three copies of every claim), and past
    250,000 vectors (claims.matching.index.EXACT_SEARCH_MAX_CLAIMS) its search turns approximate and
    misses right claims."""
    global _process_index
    if afresh:
        fresh = _SyncedIndex(writable=True, from_saved=False)
        fresh.sync()
        if fresh.synced_until is None:
            # No claim is stored, so there is no graph to save: processes start from the database
            # rather than from the old graph. The metadata first, which a process reads first.
            graph, meta = _snapshot_paths()
            meta.unlink(missing_ok=True)
            graph.unlink(missing_ok=True)
        fresh.snapshot()
        with _process_index_lock:
            _process_index = fresh
        return len(fresh.index)
    synced = _synced_index(writable=True)
    synced.snapshot()
    return len(synced.index)


def claim_text_vectors(texts: Sequence[str]) -> Vectors:
    """The vectors the index keeps for these claim texts; loads the model, not the index."""
    return text_vectors(sentence_encoder(), texts)


@dataclass(frozen=True)
class SimilarClaim:
    claim_id: int
    score: float
    same_claim: bool


def claims_similar(
    *,
    text: str,
    visible: QuerySet[Claim],
    limit: int = 5,
    language: str | None = None,
    excluding: int | None = None,
) -> list[SimilarClaim]:
    """The claims among `visible` most likely to make the same assertion as the text, best first,
    with the calibrated score and the "already checked" judgement (claims.matching)."""
    if excluding is not None:
        visible = visible.exclude(pk=excluding)
    matches = _synced_index().index.search(
        text,
        limit=limit,
        language=_primary_language(language),
        texts=_VisibleTexts(visible),
        also=lexical_candidates(text=text, visible=visible),
    )
    return [SimilarClaim(match.claim_id, match.score, match.same_claim) for match in matches]


def claims_similar_to_each(
    *, texts: Sequence[str], visible: QuerySet[Claim], limit: int = 5
) -> list[list[SimilarClaim]]:
    """claims_similar for each of many texts (a file being imported), encoded in one call."""
    if not texts:
        return []
    index = _synced_index().index
    vectors = claim_text_vectors(texts)
    found = []
    for text, vector in zip(texts, vectors, strict=True):
        matches = index.search(
            text,
            limit=limit,
            texts=_VisibleTexts(visible),
            vector=vector,
            also=lexical_candidates(text=text, visible=visible),
        )
        found.append([SimilarClaim(match.claim_id, match.score, match.same_claim) for match in matches])
    return found


def lexical_candidates(*, text: str, visible: QuerySet[Claim], limit: int = LEXICAL_POOL) -> list[int]:
    """The visible claims whose characters best match the text, best first: pg_trgm word similarity
    on PostgreSQL (none if it takes longer than LEXICAL_TIMEOUT_MS), FTS5 (bm25 over any of the
    words) on SQLite; both compare the folded text (no case, no diacritics) of query and claims."""
    words = _WORD.findall(text_fold(text_clean(text)))
    connection = connections[visible.db]
    if not words or connection.vendor not in ("postgresql", "sqlite"):
        return []
    if connection.vendor == "postgresql":
        ranked = _trigram_ranked(connection, " ".join(words), limit * LEXICAL_OVERFETCH)
    else:
        match = " OR ".join(f'"{word}"' for word in dict.fromkeys(words))
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT rowid FROM {LEXICAL_TABLE} WHERE {LEXICAL_TABLE} MATCH %s"
                f" ORDER BY bm25({LEXICAL_TABLE}), rowid LIMIT %s",
                [match, limit * LEXICAL_OVERFETCH],
            )
            ranked = [row[0] for row in cursor.fetchall()]
    shown = set(visible.filter(pk__in=ranked).values_list("pk", flat=True))
    return [pk for pk in ranked if pk in shown][:limit]


def _trigram_ranked(connection: BaseDatabaseWrapper, query: str, count: int) -> list[int]:
    """Ids of the claims whose text contains the query's words most closely (pg_trgm word
    similarity), best first; none, logged, when the query outlasts LEXICAL_TIMEOUT_MS.

    The query runs in a savepoint, so a cancelled one leaves the caller's transaction usable, with
    its own timeout and plan settings put back: set_config(..., true) lasts to the end of the
    transaction, not of the savepoint, so they are restored explicitly when the query succeeds.
    """
    try:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('statement_timeout'), current_setting('enable_seqscan')")
            timeout, seqscan = cursor.fetchone()
            # A sequential scan rechecks word_similarity on every row (about 50 µs each: seconds at
            # 100,000 claims); the planner picks it when the table's statistics are stale, as after
            # a bulk import. The GIN index answers in milliseconds whatever the statistics.
            cursor.execute(
                "SELECT set_config('statement_timeout', %s, true), set_config('enable_seqscan', 'off', true)",
                [f"{LEXICAL_TIMEOUT_MS}ms"],
            )
            # The query's words are folded already; claims_text_fold (claims/0008) folds the claims
            # alike, in the expression the trigram index is built on, and is idempotent on the query.
            cursor.execute(
                f"SELECT id FROM claims_claim WHERE {LEXICAL_FOLD}(text) %%> {LEXICAL_FOLD}(%s)"
                f" ORDER BY word_similarity({LEXICAL_FOLD}(%s), {LEXICAL_FOLD}(text)) DESC, id LIMIT %s",
                [query, query, count],
            )
            ranked = [row[0] for row in cursor.fetchall()]
            cursor.execute(
                "SELECT set_config('statement_timeout', %s, true), set_config('enable_seqscan', %s, true)",
                [timeout, seqscan],
            )
    except OperationalError as error:
        # Cancelled: the vector tier still answers, a little less sure of typos.
        logger.warning("Lexical candidates skipped, searching by vectors only: %s", error)
        return []
    return ranked


def lexical_texts_store(claims: Sequence[tuple[int, str]]) -> None:
    """Records the claims' current texts for the lexical tier, where it keeps its own copy (SQLite's
    FTS5 table; PostgreSQL's trigram index follows the claims table by itself)."""
    connection = connections["default"]
    if connection.vendor != "sqlite" or not claims:
        return
    with connection.cursor() as cursor:
        cursor.executemany(f"DELETE FROM {LEXICAL_TABLE} WHERE rowid = %s", [(pk,) for pk, _ in claims])
        # Folded as the query is: FTS5's tokenizer strips Latin diacritics, not Cyrillic or Arabic ones.
        cursor.executemany(
            f"INSERT INTO {LEXICAL_TABLE} (rowid, text) VALUES (%s, %s)",
            [(pk, text_fold(text_clean(text))) for pk, text in claims],
        )
