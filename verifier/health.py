"""GET /healthz: is the database answering and the broker taking messages? 503 when either is not.

The cache is reported too, with how many requests this process served without it, but does not
make the service unavailable: everything that uses it fails open (core.cache_outage)."""

import logging
from typing import Any

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

from config.celery import app as celery_app
from config.filesystem_broker import Transport as FilesystemTransport
from config.filesystem_broker import parked_message_count, queue_folder_problem
from core.cache_outage import cache_available, cache_outages

logger = logging.getLogger(__name__)

# A health probe must answer quickly even when the broker host black-holes packets.
BROKER_TIMEOUT_SECONDS = 2.0


def database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # any failure means "down"; the class name goes to the log
        logger.warning("Health check: database unavailable (%s: %s)", type(error).__name__, error)
        return False
    return True


def broker_status() -> dict[str, Any]:
    """"ok" or "down" with the problem; for the filesystem broker also its parked messages."""
    try:
        with celery_app.connection_for_write(connect_timeout=BROKER_TIMEOUT_SECONDS) as broker:
            broker.ensure_connection(max_retries=1, interval_start=0, timeout=BROKER_TIMEOUT_SECONDS)
            if not isinstance(broker.transport, FilesystemTransport):
                return {"broker": "ok"}
            # Connecting to a folder always succeeds: try what publishing and consuming do.
            options = broker.transport_options
            status = {"broker_parked_messages": parked_message_count(transport_options=options)}
            problem = queue_folder_problem(transport_options=options)
    except Exception as error:  # kombu raises a variety of transport errors
        logger.warning("Health check: broker unavailable (%s: %s)", type(error).__name__, error)
        return {"broker": "down", "broker_problem": f"unreachable ({type(error).__name__})"}
    if problem is not None:
        logger.warning("Health check: filesystem broker unavailable: %s", problem)
        return {"broker": "down", "broker_problem": problem, **status}
    return {"broker": "ok", **status}


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    database = "ok" if database_ok() else "down"
    broker = broker_status()
    healthy = database == "ok" and broker["broker"] == "ok"
    body: dict[str, Any] = {"status": "ok" if healthy else "unavailable", "database": database, **broker}
    body["cache"] = "ok" if cache_available() else "down"
    body["cache_failures"] = cache_outages.count()
    return JsonResponse(body, status=200 if healthy else 503)
