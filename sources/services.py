"""Writes for sources: queueing fetches, running them, recording snapshots, watching for rot.

This layer knows nothing of the claims citing a source. Two hooks tell the layers above:
`source_fetch_state_changed` (sources.signals) whenever a source's fetch state moves, and the
`on_recorded` callback of source_fetch / snapshot_record, run inside the transaction that stores
the snapshot, where verifier.services.sources checks quotes and flags published claims.
"""

import hashlib
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.storage import default_storage
from django.db import (
    DatabaseError,
    DataError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    connection,
    transaction,
)
from django.db.models import (
    BigIntegerField,
    Case,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.db.models.sql import InsertQuery
from django.utils import timezone

from core.compiled_rows import ShapedRows, ShapedUpdate
from core.errors import DomainError
from core.queueing import task_queue
from core.roles import require_fact_checker
from core.storage import storage_save_whole
from sources.fetcher import FetchLimits, FetchResult, Outcome, UrlRefused, check_url, fetch
from sources.host_slots import HostSlotsUnavailable, host_slots
from sources.host_slots import lease_end as _lease_end
from sources.models import Snapshot, Source, change_of_failed_fetch
from sources.signals import source_fetch_state_changed

logger = logging.getLogger(__name__)

# The name sources.tasks registers its fetch task under; queued by name (see core.queueing.task_queue).
FETCH_TASK = "sources.tasks.fetch_source"


class SnapshotHook(Protocol):
    """Runs inside the transaction that stores the snapshot, before it commits."""

    def __call__(self, *, snapshot: Snapshot) -> None: ...


def fetch_limits() -> FetchLimits:
    return FetchLimits(
        max_bytes=settings.SOURCES_MAX_BYTES,
        timeout_connect=settings.SOURCES_TIMEOUT_CONNECT,
        timeout_read=settings.SOURCES_TIMEOUT_READ,
        timeout_total=settings.SOURCES_TIMEOUT_TOTAL,
        max_redirects=settings.SOURCES_MAX_REDIRECTS,
        allow_private_networks=settings.SOURCES_ALLOW_PRIVATE_NETWORKS,
        allowed_ports=settings.SOURCES_ALLOWED_PORTS,
    )


def source_for_url(url: str) -> Source:
    """The source for this URL (normalised), created if new; a URL refused up front is invalid."""
    try:
        normalized = check_url(url.strip(), fetch_limits())
    except UrlRefused as refused:
        raise DomainError.invalid(refused.reason, field="url") from None
    source, _ = Source.objects.get_or_create(url=normalized)
    return source


def source_request_fetch(*, source: Source, queue: bool = True) -> uuid.UUID:
    """Marks the source pending under a new fetch token and queues the fetch once committed.

    With queue=False the caller runs the fetch itself, as the worker would:
    verifier.services.sources.source_fetch_and_apply(source_id=..., token=...).
    """
    token = uuid.uuid4()
    _fetch_request(source=source, token=token, only_if=Q(), queue=queue)
    return token


def _fetch_request(*, source: Source, token: uuid.UUID, only_if: Q, queue: bool) -> bool:
    requested = Source.objects.filter(only_if, pk=source.pk).update(
        status=Source.Status.PENDING,
        fetch_token=token,
        fetch_requested_at=timezone.now(),
        fetch_started_at=None,
        fetch_lease_expires_at=None,
    )
    if not requested:
        return False
    source.status, source.fetch_token = Source.Status.PENDING, token
    _fetch_state_changed(source.pk, never_fetched=None)
    if queue:
        transaction.on_commit(lambda: enqueue_fetch(source_id=source.pk, token=token))
    return True


def enqueue_fetch(*, source_id: int, token: uuid.UUID) -> bool:
    """Sends the fetch task; with the broker down the source stays pending for the stale sweep."""
    return task_queue(name=FETCH_TASK, args=(source_id, str(token)), swept_by="the stale-fetch sweep")


def sources_request_fetch(*, sources: Iterable[Source]) -> int:
    """source_request_fetch for each source, one transaction each, so each fetch is queued as soon
    as its own row commits; returns how many."""
    count = 0
    for source in sources:
        with transaction.atomic():
            source_request_fetch(source=source)
        count += 1
    return count


def sources_refetch(*, actor: User, sources: Iterable[Source]) -> int:
    """A fact-checker's request for a fresh fetch of each source; returns how many were queued."""
    require_fact_checker(actor)
    return sources_request_fetch(sources=sources)


@dataclass(frozen=True)
class TransientFailure:
    reason: str
    retry_after: float | None


@dataclass(frozen=True)
class HostBusy:
    host: str


def _claim(
    *, source_id: int, token: str, host: str, holder: uuid.UUID, now: datetime
) -> bool | HostBusy:
    """Takes a slot of the host, then the fetch (True); HostBusy, or False when the fetch is no
    longer claimable, with the slot given back."""
    slots = host_slots()

    def claim_source() -> bool:
        return bool(
            _SOURCE_UPDATES.update("claim", _claim_update, source_id, uuid.UUID(token), now, _lease_end(now))
        )

    if not slots.in_transaction:
        # The slot lives outside the database: the claim is a single autocommitted UPDATE.
        if not slots.acquire(host, holder, now):
            return HostBusy(host=host)
        if not claim_source():
            slots.release(holder)
            return False
        return True
    # The host slot and the claim are written in one transaction: SQLite serialises writers, and
    # every write transaction is another wait for its lock when many fetches run at once.
    with transaction.atomic():
        if not slots.acquire(host, holder, now):
            return HostBusy(host=host)
        if not claim_source():
            transaction.set_rollback(True)  # gives the slot back
            return False
    return True


def _claim_update(
    source_id: int, token: uuid.UUID, now: datetime, lease_end: datetime
) -> tuple[QuerySet[Source], dict[str, object]]:
    return Source.objects.filter(_claimable(now), pk=source_id, fetch_token=token), {
        "status": Source.Status.FETCHING,
        "fetch_started_at": now,
        "fetch_lease_expires_at": lease_end,
    }


# The UPDATEs of a source that every fetch makes (its claim, its result), compiled once per process:
# building them through the ORM cost the workers more CPU than running them.
_SOURCE_UPDATES = ShapedUpdate()
# The source of a fetch that is still claimable, read as a model from its row.
_CLAIMABLE_SOURCE = ShapedRows()
_SOURCE_FIELDS = [field.attname for field in Source._meta.concrete_fields]


def _claimable_source(source_id: int, token: uuid.UUID, now: datetime) -> QuerySet[Source, Any]:
    return Source.objects.filter(_claimable(now), pk=source_id, fetch_token=token).values(*_SOURCE_FIELDS)


def _claimable(now: datetime) -> Q:
    """Only a pending fetch, or one whose worker let its lease lapse: a duplicated or redelivered
    message for a fetch that is running does not reach the origin a second time."""
    return Q(status=Source.Status.PENDING) | Q(
        Q(fetch_lease_expires_at__lt=now) | Q(fetch_lease_expires_at__isnull=True),
        status=Source.Status.FETCHING,
    )


class _LeaseRenewer:
    """One thread per worker process renews the claim and host slot of every fetch the process is
    running, every third of SOURCES_FETCH_LEASE_SECONDS: a thread started and stopped per fetch
    cost the worker more CPU than its renewals. A fetch that starts just after a round is renewed
    by the next one, at most a third of the lease later, as with a thread of its own."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[uuid.UUID, tuple[int, str]] = {}  # holder -> (source id, fetch token)
        self._thread: threading.Thread | None = None
        self._pid = 0

    def hold(self, *, source_id: int, token: str, holder: uuid.UUID) -> None:
        with self._lock:
            self._held[holder] = (source_id, token)
            # A forked child (a prefork pool) inherits the dict but not the thread.
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="lease-renewer", daemon=True)
                self._thread.start()

    def drop(self, holder: uuid.UUID) -> None:
        with self._lock:
            self._held.pop(holder, None)

    def _run(self) -> None:
        while True:
            time.sleep(settings.SOURCES_FETCH_LEASE_SECONDS / 3)
            try:
                self.renew_all()
            except (DatabaseError, HostSlotsUnavailable) as error:
                # The next round may succeed before the leases lapse; if not, the fetches are redone.
                logger.warning("Could not renew the leases of this process's fetches: %s", error)
            finally:
                # Rounds are seconds apart: no connection is kept idle between them.
                connection.close()

    def renew_all(self) -> None:
        """Extends every lease this process holds now (what each round of the thread does)."""
        with self._lock:
            held = dict(self._held)
        if held:
            self._renew(held)

    @staticmethod
    def _renew(held: dict[uuid.UUID, tuple[int, str]]) -> None:
        # One UPDATE for every claim, then each host slot.
        now = timezone.now()
        running = Q()
        for source_id, token in held.values():
            running |= Q(pk=source_id, fetch_token=token)
        Source.objects.filter(running, status=Source.Status.FETCHING).update(
            fetch_lease_expires_at=_lease_end(now)
        )
        slots = host_slots()
        for holder in held:
            slots.renew(holder, now)


_lease_renewer = _LeaseRenewer()


@contextmanager
def _leases_renewed(*, source_id: int, token: str, holder: uuid.UUID) -> Iterator[None]:
    """Keeps the fetch's claim and host slot alive while the body runs, then frees the slot."""
    _lease_renewer.hold(source_id=source_id, token=token, holder=holder)
    try:
        yield
    finally:
        _lease_renewer.drop(holder)
        host_slots().release(holder)


def source_fetch(
    *,
    source_id: int,
    token: str,
    record_transient: bool = True,
    on_recorded: SnapshotHook | None = None,
) -> Snapshot | TransientFailure | HostBusy | None:
    """Runs the fetch identified by `token` once; None if it is no longer wanted, already done, or
    running under another worker's live lease.

    A transient failure is recorded only with `record_transient` (the last attempt); otherwise the
    source goes back to pending and the failure is returned for the caller to retry.
    `on_recorded`: see snapshot_record.
    """
    now = timezone.now()
    found = _CLAIMABLE_SOURCE.rows("claimable", _claimable_source, source_id, uuid.UUID(token), now)
    if not found:
        return None
    source = Source.from_db(connection.alias, list(found[0]), list(found[0].values()))
    host = urlsplit(source.url).hostname or ""
    holder = uuid.uuid4()
    claimed = _claim(source_id=source_id, token=token, host=host, holder=holder, now=now)
    if isinstance(claimed, HostBusy):
        return claimed
    if not claimed:
        return None
    with _leases_renewed(source_id=source_id, token=token, holder=holder):
        _fetch_state_changed(source_id, never_fetched=source.last_fetched_at is None)
        # No transaction is open here: the fetch can take up to SOURCES_TIMEOUT_TOTAL seconds.
        result = fetch(source.url, limits=fetch_limits())
    if result.transient and not record_transient:
        Source.objects.filter(pk=source_id, fetch_token=token, status=Source.Status.FETCHING).update(
            status=Source.Status.PENDING, fetch_lease_expires_at=None
        )
        return TransientFailure(reason=result.reason, retry_after=result.retry_after)
    return snapshot_record(source=source, token=token, result=result, on_recorded=on_recorded)


def _store_by_hash(data: bytes, sha256: str, *, folder: str, suffix: str = "") -> str:
    """Stores the bytes once under their hash and returns the storage name; a file already there
    with other bytes (edited or damaged on disk) is replaced."""
    name = f"{folder}/{sha256[:2]}/{sha256}{suffix}"
    stored_sha256 = _stored_sha256(name)
    if stored_sha256 == sha256:
        return name
    if stored_sha256 is not None:
        logger.error("File %s hashed %s on disk; replaced with the fetched bytes.", name, stored_sha256)
        default_storage.delete(name)
    stored, _ = storage_save_whole(name, lambda scratch: scratch.write(data))
    if stored != name:
        # Another worker stored the same bytes at the same moment; keep a single copy.
        default_storage.delete(stored)
    return name


def _stored_sha256(name: str) -> str | None:
    """The SHA-256 of the stored file, None if there is none."""
    if not default_storage.exists(name):
        return None
    digest = hashlib.sha256()
    with default_storage.open(name, "rb") as stored:
        for chunk in stored.chunks():
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class BodyMismatch:
    """A snapshot whose stored body file, or WARC capture file, is not the bytes it recorded."""

    snapshot_id: int
    name: str
    expected_sha256: str
    found_sha256: str | None  # None: the file is missing
    kind: str = "body"  # or "capture"

    def __str__(self) -> str:
        found = self.found_sha256 or "no file"
        return f"snapshot {self.snapshot_id}: {self.name} expected {self.expected_sha256}, found {found}"


def snapshot_body_check(*, snapshot: Snapshot) -> BodyMismatch | None:
    """Hashes the snapshot's body file against content_sha256; the mismatch, if any, is logged."""
    return _file_check(snapshot, name=snapshot.body.name or "", expected=snapshot.content_sha256, kind="body")


def snapshot_capture_check(*, snapshot: Snapshot) -> BodyMismatch | None:
    """Hashes the snapshot's WARC capture file against warc_sha256; the mismatch, if any, is logged."""
    return _file_check(snapshot, name=snapshot.warc.name or "", expected=snapshot.warc_sha256, kind="capture")


def _file_check(snapshot: Snapshot, *, name: str, expected: str, kind: str) -> BodyMismatch | None:
    found = _stored_sha256(name) if name else None
    if found == expected:
        return None
    mismatch = BodyMismatch(
        snapshot_id=snapshot.pk, name=name, expected_sha256=expected, found_sha256=found, kind=kind
    )
    logger.error("Snapshot %s integrity: %s", kind, mismatch)
    return mismatch


def snapshots_verify(*, sample: int | None = None) -> list[BodyMismatch]:
    """Checks the body file and the WARC capture file of every snapshot that kept one (or of
    `sample` snapshots chosen at random)."""
    with_files = (
        Snapshot.objects.exclude(body="", warc="")
        .only("pk", "body", "content_sha256", "warc", "warc_sha256")
    )
    chosen = with_files.order_by("?")[:sample] if sample is not None else with_files.order_by("pk")
    mismatches = []
    for snapshot in chosen.iterator():
        if snapshot.body and (mismatch := snapshot_body_check(snapshot=snapshot)) is not None:
            mismatches.append(mismatch)
        if snapshot.warc and (mismatch := snapshot_capture_check(snapshot=snapshot)) is not None:
            mismatches.append(mismatch)
    return mismatches


def snapshot_body_repair(*, snapshot: Snapshot) -> bool:
    """Stores the body again from a re-fetch of the snapshot's URL, only if the bytes fetched now
    hash to what the snapshot recorded; whether the file is sound afterwards."""
    result = fetch(snapshot.final_url or snapshot.requested_url, limits=fetch_limits())
    if not result.body or result.content_sha256 != snapshot.content_sha256:
        logger.warning(
            "Snapshot %s not repaired: the page now hashes %s", snapshot.pk, result.content_sha256
        )
        return False
    _store_by_hash(result.body, result.content_sha256, folder="snapshots")
    return snapshot_body_check(snapshot=snapshot) is None


def snapshot_capture_repair(*, snapshot: Snapshot) -> bool:
    """Stores the WARC capture again from a re-fetch, only if the capture made now hashes to what
    the snapshot recorded; whether the file is sound afterwards.

    A capture records one exchange, with its own dates and record ids, so a re-fetch of a page
    that has not changed still yields other bytes: in practice a damaged capture is named and
    must be restored from a backup."""
    result = fetch(snapshot.final_url or snapshot.requested_url, limits=fetch_limits())
    if not result.warc or result.warc_sha256 != snapshot.warc_sha256:
        logger.warning(
            "Snapshot %s capture not repaired: a re-fetch's capture hashes %s (a capture holds the "
            "dates and ids of its own exchange; restore %s from a backup)",
            snapshot.pk, result.warc_sha256, snapshot.warc.name,
        )
        return False
    _store_by_hash(result.warc, result.warc_sha256, folder="captures", suffix=".warc.gz")
    return snapshot_capture_check(snapshot=snapshot) is None


def _change_from_previous(source_id: int, result: FetchResult) -> RawSQL:
    """The new snapshot's change against the source's previous one, worked out by the INSERT that
    stores it: one round trip less than reading the previous snapshot first. Only hashes are
    compared: loading whole snapshots would read their text for nothing."""
    if result.outcome != Outcome.FETCHED:
        failed = change_of_failed_fetch(outcome=result.outcome, http_status=result.http_status)
        sql, params = _PREVIOUS_SNAPSHOT.sql("exists", _previous_snapshot_exists, source_id)
        params = [*params, failed, Snapshot.Change.FIRST]
        return RawSQL(f"CASE WHEN EXISTS({sql}) THEN %s ELSE %s END", params)
    sql, params = _PREVIOUS_SNAPSHOT.sql("change", _change_to_previous, source_id, result.text_sha256)
    return RawSQL(f"COALESCE(({sql}), %s)", (*params, Snapshot.Change.FIRST))


# The previous snapshot's part in a new one's change, compiled once per process: compiling it on
# every fetch cost the worker more than the round trip it saves.
_PREVIOUS_SNAPSHOT = ShapedRows()


def _previous_snapshot(source_id: int) -> QuerySet[Snapshot, Any]:
    """The source's newest good snapshot if there is one, else any snapshot at all."""
    return Snapshot.objects.filter(source_id=source_id).order_by(
        Case(When(outcome=Snapshot.Outcome.FETCHED, then=Value(0)), default=Value(1)),
        "-fetched_at",
        "-id",
    )


def _previous_snapshot_exists(source_id: int) -> QuerySet[Snapshot, Any]:
    return Snapshot.objects.filter(source_id=source_id).values("id")[:1]


def _change_to_previous(source_id: int, text_sha256: str) -> QuerySet[Snapshot, Any]:
    same_text = Q(outcome=Snapshot.Outcome.FETCHED, text_sha256=text_sha256)
    change = Case(When(same_text, then=Value(Snapshot.Change.SAME)), default=Value(Snapshot.Change.CHANGED))
    return _previous_snapshot(source_id).annotate(change_to_it=change).values("change_to_it")[:1]


def _result_without_extraction(result: FetchResult, *, error: DatabaseError) -> FetchResult:
    # Only what the fetcher measured itself is kept; the error's own message may quote the page.
    return replace(
        result,
        outcome=Outcome.EXTRACTION_FAILED,
        reason=(
            f"The database refused to store what was extracted from the page"
            f" ({type(error).__name__}); none of its text was kept."
        ),
        headers={},
        redirect_chain=(),
        title="",
        author="",
        published="",
        text="",
        text_sha256="",
    )


def _snapshot_create(
    *, source: Source, token: str, result: FetchResult, body_name: str, warc_name: str
) -> Snapshot:
    snapshot = Snapshot(
        source=source,
        fetch_token=token,
        requested_url=result.requested_url,
        final_url=result.final_url,
        redirect_chain=list(result.redirect_chain),
        connected_ip=result.connected_ip,
        http_status=result.http_status,
        headers=result.headers,
        content_type=result.content_type,
        charset=result.charset,
        bytes_received=result.bytes_received,
        body_bytes=len(result.body),
        truncated=result.truncated,
        content_sha256=result.content_sha256,
        text_sha256=result.text_sha256,
        body=body_name,
        warc=warc_name,
        warc_sha256=result.warc_sha256,
        warc_bytes=len(result.warc),
        title=result.title,
        author=result.author,
        published=result.published,
        text=result.text,
        outcome=result.outcome.value,
        error_detail=result.reason,
    )
    # What Model.save() runs for a new row, with the change worked out by the INSERT and read back
    # from it (save() would read back only the id and leave the expression in its place).
    snapshot.change = _change_from_previous(source.pk, result)  # type: ignore[assignment]
    meta = Snapshot._meta
    query = InsertQuery(Snapshot)
    fields = [field for field in meta.local_concrete_fields if field is not meta.auto_field]
    query.insert_values(fields, [snapshot])
    with transaction.mark_for_rollback_on_error():
        [(snapshot.pk, snapshot.change)] = query.get_compiler(connection.alias).execute_sql(
            [meta.pk, meta.get_field("change")]
        )
    snapshot._state.adding = False
    snapshot._state.db = connection.alias
    return snapshot


def snapshot_record(
    *, source: Source, token: str, result: FetchResult, on_recorded: SnapshotHook | None = None
) -> Snapshot | None:
    """Stores the outcome as an immutable snapshot, classified against the previous one
    (`snapshot.change`); None if a redelivered task already recorded this attempt. What the
    database refuses to store (DataError) is recorded as a failed extraction without the page's text.

    `on_recorded` runs with the new snapshot inside the same transaction, so what the layers above
    derive from it commits with it, or not at all.
    """
    body_name = (
        _store_by_hash(result.body, result.content_sha256, folder="snapshots") if result.body else ""
    )
    warc_name = (
        _store_by_hash(result.warc, result.warc_sha256, folder="captures", suffix=".warc.gz")
        if result.warc
        else ""
    )
    try:
        return _on_a_working_connection(
            lambda: _snapshot_record_once(
                source=source, token=token, result=result, body_name=body_name, warc_name=warc_name,
                on_recorded=on_recorded,
            )
        )
    except _AlreadyRecorded:
        # A redelivered task already recorded this attempt.
        return None
    except _RefusedByDatabase as refused:
        # What the page said slipped past the fetcher's checks (a NUL, say) and the database
        # will not store it: record that outcome rather than leave the source fetching forever.
        logger.warning("Snapshot of source %s refused by the database: %s", source.pk, refused.error)
        result = _result_without_extraction(result, error=refused.error)
    try:
        return _on_a_working_connection(
            lambda: _snapshot_record_once(
                source=source, token=token, result=result, body_name=body_name, warc_name=warc_name,
                on_recorded=on_recorded, refused_again=True,
            )
        )
    except _AlreadyRecorded:
        return None


def _on_a_working_connection(record: Callable[[], Snapshot]) -> Snapshot:
    """Runs the record's transaction, and once more on a fresh connection if the one it found had
    died while the page was fetched (cut, database restarted): the fetch is not redone for that.
    Nothing was written by the failed attempt, or, if its commit went through unseen, the
    snapshot's unique fetch token turns the second attempt into _AlreadyRecorded."""
    if connection.in_atomic_block:
        return record()
    connection.ensure_connection()
    found = connection.connection
    try:
        return record()
    except (OperationalError, InterfaceError) as error:
        # Django drops a connection whose rollback failed (and may have opened the next one
        # already); one that is still there and answers failed otherwise (SQLite locked, say),
        # which is the caller's to retry later.
        if connection.connection is found and connection.is_usable():
            raise
        logger.warning("Recording the snapshot on a fresh database connection after: %s", error)
        connection.close()
        return record()


class _AlreadyRecorded(Exception):
    """The snapshot of this fetch attempt exists (snapshot_one_per_fetch_attempt)."""


class _RefusedByDatabase(Exception):
    def __init__(self, error: DataError) -> None:
        super().__init__(str(error))
        self.error = error


def _snapshot_record_once(
    *,
    source: Source,
    token: str,
    result: FetchResult,
    body_name: str,
    warc_name: str,
    on_recorded: SnapshotHook | None,
    refused_again: bool = False,
) -> Snapshot:
    """snapshot_record's one short transaction: the snapshot, the source's state and whatever
    `on_recorded` derives from it. The snapshot is its first write, so a refused insert rolls the
    whole transaction back (raised as _AlreadyRecorded or _RefusedByDatabase) without the
    savepoint, two more round trips, that catching it inside would need."""
    now = timezone.now()
    with transaction.atomic():
        try:
            snapshot = _snapshot_create(
                source=source, token=token, result=result, body_name=body_name, warc_name=warc_name
            )
        except IntegrityError as error:
            raise _AlreadyRecorded from error
        except DataError as error:
            if refused_again:
                raise
            raise _RefusedByDatabase(error) from error
        # The source's outcome is this fetch's only while its token is the current one.
        settled = _SOURCE_UPDATES.update(
            "settle",
            _settle_update,
            source.pk,
            uuid.UUID(token),
            Source.Status.FETCHED.value if result.outcome == Outcome.FETCHED else Source.Status.FAILED.value,
            result.outcome.value,
            result.reason,
            now,
            now + timedelta(days=settings.SOURCES_RECHECK_DAYS),
            snapshot.pk,
            snapshot.fetched_at,
        )
        if not settled:
            Source.objects.filter(pk=source.pk).update(
                latest_snapshot=_newest_snapshot(snapshot.pk, snapshot.fetched_at)
            )
        _fetch_state_changed(source.pk, never_fetched=False)
        if on_recorded is not None:
            on_recorded(snapshot=snapshot)
    return snapshot


def _settle_update(
    source_id: int,
    token: uuid.UUID,
    status: str,
    outcome: str,
    reason: str,
    now: datetime,
    next_check_at: datetime,
    snapshot_id: int,
    fetched_at: datetime,
) -> tuple[QuerySet[Source], dict[str, object]]:
    return Source.objects.filter(pk=source_id, fetch_token=token), {
        "status": status,
        "outcome": outcome,
        "outcome_reason": reason,
        "last_fetched_at": now,
        "next_check_at": next_check_at,
        "latest_snapshot": _newest_snapshot(snapshot_id, fetched_at),
    }


def _newest_snapshot(snapshot_id: int, fetched_at: datetime) -> Case:
    """Whether or not a newer fetch was asked for meanwhile, the snapshot is the source's newest,
    unless a concurrent fetch already recorded a later one."""
    newer_recorded = Exists(
        Snapshot.objects.filter(pk=OuterRef("latest_snapshot_id"), fetched_at__gt=fetched_at)
    )
    return Case(
        When(newer_recorded, then=F("latest_snapshot_id")),
        default=Value(snapshot_id),
        output_field=BigIntegerField(),
    )


def _fetch_state_changed(source_id: int, *, never_fetched: bool | None) -> None:
    source_fetch_state_changed.send(sender=Source, source_id=source_id, never_fetched=never_fetched)


def sources_requeue_stale() -> int:
    """Queues again every fetch left pending or running for too long (lost message, dead worker)."""
    cutoff = timezone.now() - timedelta(minutes=settings.SOURCES_STALE_FETCH_MINUTES)
    stale = Source.objects.filter(
        Q(status=Source.Status.PENDING, fetch_requested_at__lt=cutoff)
        | Q(status=Source.Status.PENDING, fetch_requested_at__isnull=True)
        | Q(status=Source.Status.FETCHING, fetch_started_at__lt=cutoff)
    )
    return sources_request_fetch(sources=stale.only("pk"))


def sources_requeue_expired_leases() -> int:
    """Queues again, under a new token, every fetch whose worker let its lease lapse (killed,
    frozen, cut off from the database); returns how many."""
    now = timezone.now()
    lapsed = Q(status=Source.Status.FETCHING, fetch_lease_expires_at__lt=now)
    count = 0
    for source in Source.objects.filter(lapsed).only("pk"):
        with transaction.atomic():
            # Conditional: a worker that renewed its lease since the read keeps its fetch.
            count += _fetch_request(source=source, token=uuid.uuid4(), only_if=lapsed, queue=True)
    return count


def sources_due_for_recheck(
    *, now: datetime | None = None, include_not_due: bool = False
) -> QuerySet[Source]:
    """Sources with a finished fetch whose link-rot check is due (or all of them)."""
    finished = Source.objects.filter(status__in=[Source.Status.FETCHED, Source.Status.FAILED])
    if include_not_due:
        return finished
    return finished.filter(next_check_at__lte=now or timezone.now())


def sources_recheck_due(*, now: datetime | None = None, include_not_due: bool = False) -> int:
    """Queues a re-fetch of every source whose link-rot check is due (or of all finished ones)."""
    due = sources_due_for_recheck(now=now, include_not_due=include_not_due)
    return sources_request_fetch(sources=due.only("pk"))
