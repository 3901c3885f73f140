"""The evidence of a claim as every output shows it (SPEC §7, first point): the public page, the API
list and detail, webhook payloads and the CSV export all read it here.

A published claim shows the evidence its published verdict cites, each with the snapshot frozen in
that verdict's fingerprint and the quote check made against it, never a later snapshot. What became
of the source since then is a separate `since_publication`, null until a fetch after publication.
A correction's approval freezes a new fingerprint, so it moves the public evidence forward. A claim
never published (staff only) shows its work in progress: all its evidence, each with the snapshot
its quote was last checked against, else the source's latest one.

A snapshot of a fetch that got no content (a 404, a timeout, a refused address) is shown as that
failure, its outcome code and reason, and never with a content hash.

Everything comes from one evidence query that joins each source's latest snapshot
(Source.latest_snapshot) and the snapshot the quote was last checked against, which is the frozen
one until the source changes; only frozen snapshots that are neither cost one more query.
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from claims.models import Evidence
from core.compiled_rows import CompiledRows, OneOfIds
from sources.models import Snapshot, Source, change_of_failed_fetch
from verifier.models import FingerprintEntry, Verdict, fingerprint_entries

Row = dict[str, Any]

SNAPSHOT_COLUMNS = (
    "id", "fetched_at", "final_url", "title", "http_status", "content_sha256", "text_sha256",
    "outcome", "error_detail",
)
_CHECKED = "quote_checked_snapshot__"
_LATEST = "source__latest_snapshot__"
EVIDENCE_COLUMNS = (
    "id", "claim_id", "stance", "quote", "quote_status", "note", "quote_checked_at", "source_id",
    "source__url", "source__status", "source__fetch_requested_at", "source__last_fetched_at",
    *(_CHECKED + column for column in SNAPSHOT_COLUMNS),
    *(_LATEST + column for column in SNAPSHOT_COLUMNS),
)
# The columns of a verdict row (from Verdict.objects.values) this module reads.
VERDICT_COLUMNS = ("state", "approved_at", "evidence_fingerprint")


# The evidence rows of some claims (by claim id), oldest first: evidence_by_claim groups them.
EVIDENCE_ROWS = CompiledRows(
    lambda ids: Evidence.objects.filter(OneOfIds("claim_id", ids)).order_by("id").values(*EVIDENCE_COLUMNS)
)


def evidence_of_claims(claim_ids: Iterable[int]) -> dict[int, list[Row]]:
    """The evidence rows (EVIDENCE_COLUMNS) of each claim, oldest first: one query."""
    return evidence_by_claim(EVIDENCE_ROWS.rows(list(claim_ids)))


def evidence_by_claim(rows: Iterable[Row]) -> dict[int, list[Row]]:
    """Evidence rows (EVIDENCE_ROWS) by claim id, in their order."""
    by_claim: dict[int, list[Row]] = defaultdict(list)
    for row in rows:
        by_claim[row["claim_id"]].append(row)
    return by_claim


class ShownEvidence:
    """The evidence records of some claims, given their evidence rows (evidence_of_claims) and the
    verdict each shows (VERDICT_COLUMNS; the published one for a published claim)."""

    def __init__(self, evidence: dict[int, list[Row]], verdicts: dict[int, Row | None]) -> None:
        self._evidence = evidence
        self._verdicts = verdicts
        # What each published verdict froze, by evidence id; no entry for a claim not published.
        self._frozen = {
            claim_id: {
                entry["evidence"]: entry for entry in fingerprint_entries(verdict["evidence_fingerprint"])
            }
            for claim_id, verdict in verdicts.items()
            if verdict is not None and _published(verdict)
        }
        self._snapshots: dict[int, Row] = {}
        frozen_ids: set[int] = set()
        for items in evidence.values():
            for item in items:
                for prefix in (_CHECKED, _LATEST):
                    snapshot = _joined_snapshot(item, prefix)
                    if snapshot is not None:
                        self._snapshots[snapshot["id"]] = snapshot
        for entries in self._frozen.values():
            for entry in entries.values():
                if entry.get("snapshot") is not None:
                    frozen_ids.add(entry["snapshot"])  # type: ignore[arg-type]
        missing = frozen_ids - self._snapshots.keys()
        if missing:
            # Only when a source changed after publication: the frozen snapshot is no longer the
            # one the quote was last checked against.
            self._snapshots |= {
                row["id"]: row for row in Snapshot.objects.filter(pk__in=missing).values(*SNAPSHOT_COLUMNS)
            }

    def shown_rows(self, claim_id: int) -> list[Row]:
        """The claim's evidence rows its record shows: for a published claim, exactly those its
        published verdict cites."""
        items = self._evidence.get(claim_id, [])
        frozen = self._frozen.get(claim_id)
        if frozen is None:
            return items
        return [item for item in items if item["id"] in frozen]

    def of_claim(self, claim_id: int) -> list[Row]:
        """The claim's evidence records, as the API declares them (EvidenceSerializer)."""
        verdict = self._verdicts.get(claim_id)
        frozen = self._frozen.get(claim_id)
        if verdict is None or frozen is None:
            return [work_in_progress_record(item) for item in self.shown_rows(claim_id)]
        return [
            self._published_record(item, frozen[item["id"]], published_at=verdict["approved_at"])
            for item in self.shown_rows(claim_id)
        ]

    def _published_record(self, item: Row, entry: FingerprintEntry, *, published_at: datetime | None) -> Row:
        if "snapshot" not in entry:
            # A fingerprint written before approvals froze snapshots: the check is all there is.
            return work_in_progress_record(item)
        snapshot_id = entry["snapshot"]
        snapshot = self._snapshots.get(snapshot_id) if snapshot_id is not None else None
        if snapshot is None:
            status = Source.Status.PENDING
        elif snapshot["outcome"] == Snapshot.Outcome.FETCHED:
            status = Source.Status.FETCHED
        else:
            status = Source.Status.FAILED
        return _record(
            item,
            snapshot=snapshot,
            quote_status=entry.get("quote_status", item["quote_status"]),
            source_status=status,
            since=since_publication(
                frozen=snapshot, latest=_joined_snapshot(item, _LATEST), published_at=published_at
            ),
        )


def work_in_progress_record(item: Row) -> Row:
    """An evidence row (EVIDENCE_COLUMNS) as staff see it before publication: the snapshot its
    quote was last checked against, else the source's latest one."""
    snapshot = _joined_snapshot(item, _CHECKED) or _joined_snapshot(item, _LATEST)
    return _record(
        item, snapshot=snapshot, quote_status=item["quote_status"], source_status=item["source__status"],
        since=None,
    )


def evidence_item_record(pk: int) -> Row:
    """One evidence item as a claim in progress shows it: one query."""
    return work_in_progress_record(Evidence.objects.filter(pk=pk).values(*EVIDENCE_COLUMNS).get())


def verdict_columns(verdict: Verdict | None) -> Row | None:
    """The columns of a loaded verdict ShownEvidence reads."""
    return None if verdict is None else {column: getattr(verdict, column) for column in VERDICT_COLUMNS}


def claim_evidence_records(claim_id: int, verdict: Verdict | None) -> list[Row]:
    """The evidence records of one claim showing `verdict` (its published one, if published)."""
    shown = ShownEvidence(evidence_of_claims([claim_id]), {claim_id: verdict_columns(verdict)})
    return shown.of_claim(claim_id)


def since_publication(*, frozen: Row | None, latest: Row | None, published_at: datetime | None) -> Row | None:
    """What the source's latest snapshot says against the frozen one (SNAPSHOT_COLUMNS each): same,
    changed, gone, unreachable or blocked, when it was checked and what its body hashed to; None
    until a fetch after publication."""
    if latest is None or (frozen is not None and latest["id"] == frozen["id"]):
        return None
    if published_at is not None and latest["fetched_at"] <= published_at:
        return None
    if latest["outcome"] == Snapshot.Outcome.FETCHED:
        # As a re-check classifies a change: by the extracted text, which a page's changing
        # markup (a timestamp, a nonce) leaves alone.
        unchanged = (
            frozen is not None
            and frozen["outcome"] == Snapshot.Outcome.FETCHED
            and frozen["text_sha256"] == latest["text_sha256"]
        )
        status: str = Snapshot.Change.SAME if unchanged else Snapshot.Change.CHANGED
    else:
        status = change_of_failed_fetch(outcome=latest["outcome"], http_status=latest["http_status"])
    return {
        "status": str(status),
        "checked_at": latest["fetched_at"],
        "latest_content_sha256": latest["content_sha256"] or None,
    }


def _published(verdict: Row | None) -> bool:
    return verdict is not None and verdict["state"] == Verdict.State.APPROVED


def _joined_snapshot(item: Row, prefix: str) -> Row | None:
    names = _JOINED_NAMES[prefix]
    if item[names[0][1]] is None:
        return None
    return {column: item[name] for column, name in names}


# Each snapshot column with its name in an evidence row, by prefix: made once, not per row.
_JOINED_NAMES = {
    prefix: tuple((column, prefix + column) for column in SNAPSHOT_COLUMNS) for prefix in (_CHECKED, _LATEST)
}


def _record(
    item: Row, *, snapshot: Row | None, quote_status: str, source_status: str, since: Row | None
) -> Row:
    shown: Row = snapshot or dict.fromkeys(SNAPSHOT_COLUMNS)
    failed = snapshot is not None and snapshot["outcome"] != Snapshot.Outcome.FETCHED
    return {
        "stance": item["stance"],
        "quote": item["quote"],
        "quote_status": quote_status,
        "note": item["note"],
        "source": {
            "url": item["source__url"],
            "status": source_status,
            "snapshot": shown["id"],
            "final_url": shown["final_url"],
            "title": shown["title"],
            "http_status": shown["http_status"],
            "fetched_at": shown["fetched_at"],
            "content_sha256": shown["content_sha256"] or None,
            "outcome": shown["outcome"],
            "outcome_reason": (shown["error_detail"] or None) if failed else None,
        },
        "since_publication": since,
    }
