"""Celery entry points for claims: thin adapters over the claim index services."""

from celery import shared_task

from claims import services
from claims.similarity import claim_index_snapshot_store


# Acknowledged on receipt, unlike the fetches: an index task lost with its worker costs nothing (the
# sweep below indexes the claim), while an unacknowledged one in flight when the broker connection
# drops makes Celery restore it and die ("Unrecoverable error", kombu 5.x with Redis).
@shared_task(name=services.INDEX_TASK, acks_late=False)
def index_claim(claim_id: int) -> int:
    """Indexes the claim's current text, so every process's matching finds it by it."""
    return services.claims_index(claim_ids=[claim_id])


@shared_task
def index_claims_due() -> int:
    """Indexes the claims a broker outage or a dead worker left unindexed or stale."""
    return services.claims_index_due(limit=services.INDEX_SWEEP_LIMIT)


@shared_task
def store_claim_index_snapshot() -> int:
    """Saves the claim index for web and worker processes to start from instead of rebuilding it."""
    return claim_index_snapshot_store()
