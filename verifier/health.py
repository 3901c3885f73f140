"""GET /healthz: is the database answering and the broker reachable? 503 when either is not.

The cache is reported too, with how many requests this process served without it, but does not
make the service unavailable: everything that uses it fails open (core.cache_outage)."""

import logging

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

from config.celery import app as celery_app
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


def broker_ok() -> bool:
    try:
        with celery_app.connection_for_write(connect_timeout=BROKER_TIMEOUT_SECONDS) as broker:
            broker.ensure_connection(max_retries=1, interval_start=0, timeout=BROKER_TIMEOUT_SECONDS)
    except Exception as error:  # kombu raises a variety of transport errors
        logger.warning("Health check: broker unavailable (%s: %s)", type(error).__name__, error)
        return False
    return True


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": database_ok(), "broker": broker_ok()}
    healthy = all(checks.values())
    body: dict[str, str | int] = {"status": "ok" if healthy else "unavailable"}
    body.update({name: "ok" if ok else "down" for name, ok in checks.items()})
    body["cache"] = "ok" if cache_available() else "down"
    body["cache_failures"] = cache_outages.count()
    return JsonResponse(body, status=200 if healthy else 503)
