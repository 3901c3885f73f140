"""Failing open when the shared cache is down.

The cache (Redis in production) only makes things faster or counts requests: the API throttles,
the response cache and the public content version all go on without it, so a Redis outage never
turns a request into a 500. Each request served without it is counted here, per process, shown in
/healthz, and logged at most once a minute so an outage does not flood the log.
"""

import logging
import threading
import time

from django.core.cache import cache

logger = logging.getLogger(__name__)

LOG_INTERVAL_SECONDS = 60.0
_PROBE_KEY = "verifier:cache-probe"


class CacheOutages:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0
        self._last_logged: float | None = None

    def record(self, *, what: str, error: Exception) -> None:
        """`what` went ahead without the cache because of `error`."""
        now = time.monotonic()
        with self._lock:
            self._count += 1
            count = self._count
            due = self._last_logged is None or now - self._last_logged >= LOG_INTERVAL_SECONDS
            if due:
                self._last_logged = now
        if due:
            logger.warning(
                "The cache is unavailable (%s: %s); %s without it (%d times in this process so far)",
                type(error).__name__, error, what, count,
            )

    def count(self) -> int:
        with self._lock:
            return self._count


cache_outages = CacheOutages()


def cache_available() -> bool:
    """Whether the cache answers a read now."""
    try:
        cache.get(_PROBE_KEY)
    except Exception as error:  # each backend raises its own connection errors
        cache_outages.record(what="the health check ran", error=error)
        return False
    return True
