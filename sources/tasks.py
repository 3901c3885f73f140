"""Celery entry points for sources: thin adapters over the fetch services.

The fetch task reaches up to verifier.services.sources, which applies each new snapshot to the
claims citing the source in the transaction that records it; the sweeps are sources' own.
"""

import random

from celery import Task, shared_task
from django.conf import settings

from core.queueing import retry_delay
from sources import services
from verifier.services.sources import source_fetch_and_apply


@shared_task(
    bind=True, name=services.FETCH_TASK, acks_late=True, max_retries=settings.SOURCES_FETCH_MAX_RETRIES
)
def fetch_source(self: Task, source_id: int, token: str) -> str:
    """Fetches the source for the fetch `token` and records one snapshot, retrying transient errors."""
    final_attempt = self.request.retries >= (self.max_retries or 0)
    outcome = source_fetch_and_apply(source_id=source_id, token=token, record_transient=final_attempt)
    if isinstance(outcome, services.HostBusy):
        # Waiting for a free slot is not a failure: queue the same fetch again, retry count kept.
        fetch_source.apply_async(
            (source_id, token), countdown=random.uniform(0.5, 2.0), retries=self.request.retries
        )
        return "host busy"
    if isinstance(outcome, services.TransientFailure):
        raise self.retry(countdown=retry_delay(self.request.retries, outcome.retry_after))
    return "skipped" if outcome is None else outcome.outcome


@shared_task
def requeue_stale_fetches() -> int:
    """Queues again the fetches that a broker outage or a dead worker left behind."""
    return services.sources_requeue_stale()


@shared_task
def recheck_due_sources() -> int:
    """Queues the link-rot re-check of every source that is due."""
    return services.sources_recheck_due()
