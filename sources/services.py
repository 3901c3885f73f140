"""Writes for sources: queueing fetches, recording snapshots, checking quotes, watching for rot."""

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from claims.models import Claim, Evidence
from sources.fetcher import FetchLimits, FetchResult, Outcome, UrlRefused, check_url, fetch
from sources.models import HostFetchSlot, Snapshot, Source
from sources.quotes import quote_found
from verifier.errors import DomainError
from verifier.http_cache import public_content_changed

logger = logging.getLogger(__name__)


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

    With queue=False the caller runs the fetch itself: source_fetch(source_id=..., token=...).
    """
    token = uuid.uuid4()
    Source.objects.filter(pk=source.pk).update(
        status=Source.Status.PENDING,
        fetch_token=token,
        fetch_requested_at=timezone.now(),
        fetch_started_at=None,
    )
    source.status, source.fetch_token = Source.Status.PENDING, token
    _public_record_changed(source.pk)
    if queue:
        transaction.on_commit(lambda: enqueue_fetch(source_id=source.pk, token=token))
    return token


def enqueue_fetch(*, source_id: int, token: uuid.UUID) -> bool:
    """Sends the fetch task; with the broker down the source stays pending for the stale sweep."""
    from sources.tasks import fetch_source

    try:
        fetch_source.delay(source_id, str(token))
    except Exception as error:  # kombu raises a variety of transport errors
        logger.warning(
            "Could not queue fetch of source %s (%s); the stale-fetch sweep will retry it.",
            source_id,
            error,
        )
        return False
    return True


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
    *, source_id: int, token: str, record_transient: bool = True
) -> Snapshot | TransientFailure | HostBusy | None:
    """Runs the fetch identified by `token` once; None if it is no longer wanted or already done."""
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
        _public_record_changed(source_id)
        # No transaction is open here: the fetch can take up to SOURCES_TIMEOUT_TOTAL seconds.
        result = fetch(source.url, limits=fetch_limits())
    finally:
        HostFetchSlot.objects.filter(holder=holder).delete()
    if result.transient and not record_transient:
        return TransientFailure(reason=result.reason, retry_after=result.retry_after)
    return snapshot_record(source=source, token=token, result=result)


def _store_by_hash(data: bytes, sha256: str, *, folder: str, suffix: str = "") -> str:
    """Stores the bytes once under their hash and returns the storage name."""
    name = f"{folder}/{sha256[:2]}/{sha256}{suffix}"
    if not default_storage.exists(name):
        stored = default_storage.save(name, ContentFile(data))
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


def snapshot_record(*, source: Source, token: str, result: FetchResult) -> Snapshot | None:
    """Stores the outcome as an immutable snapshot and checks every quote citing the source."""
    body_name = (
        _store_by_hash(result.body, result.content_sha256, folder="snapshots") if result.body else ""
    )
    warc_name = (
        _store_by_hash(result.warc, result.warc_sha256, folder="captures", suffix=".warc.gz")
        if result.warc
        else ""
    )
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
                    warc=warc_name,
                    warc_sha256=result.warc_sha256,
                    warc_bytes=len(result.warc),
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
        for evidence in source.evidence.all():
            evidence_check_quote(evidence=evidence, snapshot=snapshot)
        # Claims show their sources' latest snapshot; incremental pulls (updated_since) must see it.
        Claim.objects.filter(evidence__source=source).update(updated_at=now)
        _public_record_changed(source.pk)
        if change in (Snapshot.Change.CHANGED, Snapshot.Change.GONE):
            claims_flag_for_source_change(source=source, snapshot=snapshot)
    return snapshot


def evidence_check_quote(*, evidence: Evidence, snapshot: Snapshot) -> str:
    """Records whether the evidence quote appears in the snapshot's text."""
    if snapshot.outcome != Snapshot.Outcome.FETCHED or not snapshot.text:
        status = Evidence.QuoteStatus.NO_TEXT
    elif quote_found(evidence.quote, snapshot.text):
        status = Evidence.QuoteStatus.FOUND
    else:
        status = Evidence.QuoteStatus.NOT_FOUND
    Evidence.objects.filter(pk=evidence.pk).update(
        quote_status=status, quote_checked_snapshot=snapshot, quote_checked_at=timezone.now()
    )
    evidence.quote_status, evidence.quote_checked_snapshot = status, snapshot
    return status


def evidence_check_against_latest(*, evidence: Evidence) -> bool:
    """Checks the quote against the source's latest successful snapshot, if there is one."""
    snapshot = evidence.source.snapshots.filter(outcome=Snapshot.Outcome.FETCHED).first()
    if snapshot is None:
        return False
    evidence_check_quote(evidence=evidence, snapshot=snapshot)
    return True


def claims_flag_for_source_change(*, source: Source, snapshot: Snapshot) -> int:
    """Flags published claims citing the source (they stay published) and tells the webhooks."""
    from verifier.models import WebhookEndpoint
    from verifier.webhooks import webhook_events_for_claim

    what = "changed" if snapshot.change == Snapshot.Change.CHANGED else "disappeared"
    reason = f"Source {source.url} {what} (snapshot {snapshot.pk}, {snapshot.fetched_at:%Y-%m-%d})."
    flagged = list(Claim.objects.filter(status=Claim.Status.PUBLISHED, evidence__source=source).distinct())
    Claim.objects.filter(pk__in=[claim.pk for claim in flagged]).update(
        source_flag=reason, source_flagged_at=snapshot.fetched_at, updated_at=timezone.now()
    )
    if flagged:
        public_content_changed()
    for claim in flagged:
        webhook_events_for_claim(claim=claim, event=WebhookEndpoint.Event.FLAG)
    return len(flagged)


def _public_record_changed(source_id: int) -> None:
    # Published claims show their sources' status, latest snapshot and quote checks: if one cites
    # this source, the cached public responses are superseded.
    if Claim.objects.filter(status=Claim.Status.PUBLISHED, evidence__source_id=source_id).exists():
        public_content_changed()


def sources_requeue_stale() -> int:
    """Queues again every fetch left pending or running for too long (lost message, dead worker)."""
    cutoff = timezone.now() - timedelta(minutes=settings.SOURCES_STALE_FETCH_MINUTES)
    stale = Source.objects.filter(
        Q(status=Source.Status.PENDING, fetch_requested_at__lt=cutoff)
        | Q(status=Source.Status.PENDING, fetch_requested_at__isnull=True)
        | Q(status=Source.Status.FETCHING, fetch_started_at__lt=cutoff)
    )
    count = 0
    for source in stale.only("pk"):
        with transaction.atomic():
            source_request_fetch(source=source)
        count += 1
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
    count = 0
    for source in due.only("pk"):
        with transaction.atomic():
            source_request_fetch(source=source)
        count += 1
    return count
