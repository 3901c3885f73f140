"""Celery entry points for sources: thin adapters over the fetch services.

The fetch task reaches up to verifier.services.sources, which applies each new snapshot to the
claims citing the source in the transaction that records it; the sweeps are sources' own.
"""

import logging
import random

from celery import Task, shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from core.queueing import retry_delay
from sources import services
from sources.host_slots import HostSlotsUnavailable
from verifier.services.sources import source_fetch_and_apply

logger = logging.getLogger(__name__)

# Database outages are retried longer than an origin's errors: the fetch itself did nothing wrong.
INFRASTRUCTURE_MAX_RETRIES = 12


@shared_task(
    bind=True, name=services.FETCH_TASK, acks_late=True, max_retries=settings.SOURCES_FETCH_MAX_RETRIES
)
def fetch_source(self: Task, source_id: int, token: str, host_waits: int = 0) -> str:
    """Fetches the source for the fetch `token` and records one snapshot, retrying transient errors
    of the origin and of the database."""
    final_attempt = self.request.retries >= (self.max_retries or 0)
    try:
        outcome = source_fetch_and_apply(source_id=source_id, token=token, record_transient=final_attempt)
    except (OperationalError, InterfaceError, HostSlotsUnavailable) as error:
        # Database gone, connection cut, SQLite locked, Redis holding the host slots unreachable:
        # the claim lapses within the lease, after which this same attempt is claimable again (the
        # token keeps it to one snapshot).
        logger.warning("Fetch of source %s hit a database error, retrying: %s", source_id, error)
        raise self.retry(
            exc=error,
            countdown=settings.SOURCES_FETCH_LEASE_SECONDS + retry_delay(self.request.retries, None),
            max_retries=INFRASTRUCTURE_MAX_RETRIES,
        ) from error
    if isinstance(outcome, services.HostBusy):
        # Waiting for a free slot is not a failure: the same fetch comes back after a growing,
        # jittered wait, its retry count kept.
        fetch_source.apply_async(
            (source_id, token),
            {"host_waits": host_waits + 1},
            countdown=host_wait_delay(host_waits),
            retries=self.request.retries,
        )
        return "host busy"
    if isinstance(outcome, services.TransientFailure):
        raise self.retry(countdown=retry_delay(self.request.retries, outcome.retry_after))
    return "skipped" if outcome is None else outcome.outcome


def host_wait_delay(host_waits: int) -> float:
    """Backoff with jitter while a host's slots are taken: under 0.5 s at first, at most 8 s."""
    ceiling = min(8.0, 0.5 * 2**host_waits)
    return random.uniform(ceiling / 2, ceiling)


@shared_task
def requeue_expired_fetch_leases() -> int:
    """Queues again the fetches whose worker died: their lease lapsed (runs every few seconds)."""
    return services.sources_requeue_expired_leases()


@shared_task
def requeue_stale_fetches() -> int:
    """Queues again the fetches that a broker outage or a dead worker left behind."""
    return services.sources_requeue_stale()


@shared_task
def recheck_due_sources() -> int:
    """Queues the link-rot re-check of every source that is due."""
    return services.sources_recheck_due()


@shared_task
def verify_snapshot_sample() -> int:
    """Hashes a random sample of stored bodies (daily); each mismatch is logged as an error."""
    return len(services.snapshots_verify(sample=settings.SOURCES_VERIFY_SAMPLE))
