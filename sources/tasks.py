"""Celery entry points for sources: thin adapters over sources.services."""

import random

from celery import Task, shared_task
from django.conf import settings

from sources import services


def retry_delay(retries: int, retry_after: float | None) -> float:
    """Exponential backoff with full jitter, never sooner than the server asked."""
    backoff = min(600.0, 10.0 * 2**retries)
    delay = random.uniform(backoff / 2, backoff)
    return max(delay, retry_after or 0.0)


@shared_task(bind=True, acks_late=True, max_retries=settings.SOURCES_FETCH_MAX_RETRIES)
def fetch_source(self: Task, source_id: int, token: str) -> str:
    """Fetches the source for the fetch `token` and records one snapshot, retrying transient errors."""
    final_attempt = self.request.retries >= (self.max_retries or 0)
    outcome = services.source_fetch(
        source_id=source_id, token=token, record_transient=final_attempt
    )
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
