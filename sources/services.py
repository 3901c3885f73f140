"""Writes for sources: queueing fetches, running them, recording snapshots, watching for rot.

This layer knows nothing of the claims citing a source. Two hooks tell the layers above:
`source_fetch_state_changed` (sources.signals) whenever a source's fetch state moves, and the
`on_recorded` callback of source_fetch / snapshot_record, run inside the transaction that stores
the snapshot, where verifier.services.sources checks quotes and flags published claims.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from core.errors import DomainError
from core.queueing import task_queue
from core.roles import require_fact_checker
from sources.fetcher import FetchLimits, FetchResult, Outcome, UrlRefused, check_url, fetch
from sources.models import HostFetchSlot, Snapshot, Source
from sources.signals import source_fetch_state_changed

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
    Source.objects.filter(pk=source.pk).update(
        status=Source.Status.PENDING,
        fetch_token=token,
        fetch_requested_at=timezone.now(),
        fetch_started_at=None,
    )
    source.status, source.fetch_token = Source.Status.PENDING, token
    _fetch_state_changed(source.pk)
    if queue:
        transaction.on_commit(lambda: enqueue_fetch(source_id=source.pk, token=token))
    return token


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


def _host_slot_take(host: str, holder: uuid.UUID, expires_at: datetime) -> bool:
    for slot in range(settings.SOURCES_MAX_FETCHES_PER_HOST):
        try:
            with transaction.atomic():
                HostFetchSlot.objects.create(
                    host=host, slot=slot, holder=holder, expires_at=expires_at
                )
        except IntegrityError:
            continue
        return True
    return False


def _host_slot_acquire(host: str, holder: uuid.UUID) -> bool:
    now = timezone.now()
    expires_at = now + timedelta(seconds=settings.FETCH_TASK_TIME_LIMIT)
    if _host_slot_take(host, holder, expires_at):
        return True
    # A lease outlives a killed worker only until the longest a fetch task may run. Expired
    # leases are cleared only when they stand in the way, sparing every other fetch a write.
    if HostFetchSlot.objects.filter(host=host, expires_at__lt=now).delete()[0]:
        return _host_slot_take(host, holder, expires_at)
    return False


def source_fetch(
    *,
    source_id: int,
    token: str,
    record_transient: bool = True,
    on_recorded: SnapshotHook | None = None,
) -> Snapshot | TransientFailure | HostBusy | None:
    """Runs the fetch identified by `token` once; None if it is no longer wanted or already done.

    A transient failure is recorded only with `record_transient` (the last attempt); otherwise it is
    returned for the caller to retry. `on_recorded`: see snapshot_record.
    """
    source = Source.objects.filter(pk=source_id, fetch_token=token).first()
    if source is None or source.status not in (Source.Status.PENDING, Source.Status.FETCHING):
        return None
    host = urlsplit(source.url).hostname or ""
    holder = uuid.uuid4()
    # The host slot and the claim are written in one transaction: SQLite serialises writers, and
    # every write transaction is another wait for its lock when many fetches run at once.
    with transaction.atomic():
        if not _host_slot_acquire(host, holder):
            return HostBusy(host=host)
        claimed = Source.objects.filter(
            pk=source_id,
            fetch_token=token,
            status__in=[Source.Status.PENDING, Source.Status.FETCHING],
        ).update(status=Source.Status.FETCHING, fetch_started_at=timezone.now())
        if not claimed:
            transaction.set_rollback(True)  # gives the slot back
            return None
    try:
        _fetch_state_changed(source_id)
        # No transaction is open here: the fetch can take up to SOURCES_TIMEOUT_TOTAL seconds.
        result = fetch(source.url, limits=fetch_limits())
    finally:
        HostFetchSlot.objects.filter(holder=holder).delete()
    if result.transient and not record_transient:
        return TransientFailure(reason=result.reason, retry_after=result.retry_after)
    return snapshot_record(source=source, token=token, result=result, on_recorded=on_recorded)


def _store_body(body: bytes, sha256: str) -> str:
    """Stores the raw body once under its hash and returns its storage name."""
    name = f"snapshots/{sha256[:2]}/{sha256}"
    if not default_storage.exists(name):
        stored = default_storage.save(name, ContentFile(body))
        if stored != name:
            # Another worker stored the same bytes at the same moment; keep a single copy.
            default_storage.delete(stored)
    return name


def _classify_change(*, source: Source, result: FetchResult) -> str:
    # Only hashes are compared: loading whole snapshots would read their text for nothing.
    if not source.snapshots.exists():
        return Snapshot.Change.FIRST
    if result.outcome == Outcome.FETCHED:
        last_good_sha256 = (
            source.snapshots.filter(outcome=Snapshot.Outcome.FETCHED)
            .values_list("text_sha256", flat=True)
            .first()
        )
        if last_good_sha256 is not None and last_good_sha256 == result.text_sha256:
            return Snapshot.Change.SAME
        return Snapshot.Change.CHANGED
    if result.outcome == Outcome.HTTP_ERROR and result.http_status in (404, 410):
        return Snapshot.Change.GONE
    if result.outcome in (Outcome.BLOCKED, Outcome.INVALID_URL):
        return Snapshot.Change.BLOCKED
    return Snapshot.Change.UNREACHABLE


def snapshot_record(
    *, source: Source, token: str, result: FetchResult, on_recorded: SnapshotHook | None = None
) -> Snapshot | None:
    """Stores the outcome as an immutable snapshot, classified against the previous one
    (`snapshot.change`); None if a redelivered task already recorded this attempt.

    `on_recorded` runs with the new snapshot inside the same transaction, so what the layers above
    derive from it commits with it, or not at all.
    """
    body_name = _store_body(result.body, result.content_sha256) if result.body else ""
    now = timezone.now()
    with transaction.atomic():
        change = _classify_change(source=source, result=result)
        try:
            with transaction.atomic():
                snapshot = Snapshot.objects.create(
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
                    title=result.title,
                    author=result.author,
                    published=result.published,
                    text=result.text,
                    outcome=result.outcome.value,
                    error_detail=result.reason,
                    change=change,
                )
        except IntegrityError:
            # A redelivered task already recorded this attempt.
            return None
        Source.objects.filter(pk=source.pk, fetch_token=token).update(
            status=(
                Source.Status.FETCHED
                if result.outcome == Outcome.FETCHED
                else Source.Status.FAILED
            ),
            outcome=result.outcome.value,
            outcome_reason=result.reason,
            last_fetched_at=now,
            next_check_at=now + timedelta(days=settings.SOURCES_RECHECK_DAYS),
        )
        _fetch_state_changed(source.pk)
        if on_recorded is not None:
            on_recorded(snapshot=snapshot)
    return snapshot


def _fetch_state_changed(source_id: int) -> None:
    source_fetch_state_changed.send(sender=Source, source_id=source_id)


def sources_requeue_stale() -> int:
    """Queues again every fetch left pending or running for too long (lost message, dead worker)."""
    cutoff = timezone.now() - timedelta(minutes=settings.SOURCES_STALE_FETCH_MINUTES)
    stale = Source.objects.filter(
        Q(status=Source.Status.PENDING, fetch_requested_at__lt=cutoff)
        | Q(status=Source.Status.PENDING, fetch_requested_at__isnull=True)
        | Q(status=Source.Status.FETCHING, fetch_started_at__lt=cutoff)
    )
    return sources_request_fetch(sources=stale.only("pk"))


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
