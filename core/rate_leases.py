"""Rate-limit allowance leased to this process: a request counted against a shared limit without a
round trip per request, and without ever admitting more than the limit across processes.

A limit is a counter in Redis per client and fixed window (verifier.api.throttling). Instead of
adding one per request, a process takes a lease: in one atomic step (config.cache.Counters.take),
Redis adds to the counter what it grants, never more than is left under the limit, and the process
admits that many requests of the client's window from memory. The counter is therefore the sum of
the leases handed out; every admitted request was granted by Redis once, so the requests admitted
across all processes never exceed the limit.

The size of a lease adapts to what is left: the larger of 1 and the smaller of LEASE_MOST and a
LEASE_SHARE-th of the allowance not yet leased. A client far from its limit costs one round trip
per LEASE_MOST requests; near it, each lease is one request. When Redis grants nothing, the
process refuses the client until the window ends, from memory too: the counter never goes down
within a window.

The price is early refusal. Allowance leased to another process and not spent there is not
available here: a client is refused once the admitted requests reach the limit minus what the
other processes hold unspent. Each process holds at most one lease per client window, whatever its
threads (it takes the next only once the last is spent), of at most LEASE_MOST requests and at most
a LEASE_SHARE-th of what was left when it was taken, one of which admitted the request that took
it: with 2 processes and a limit of 120, at most 6 requests early, and none when one process serves
the client. Leases die with their window;
what is left unspent is not returned.
"""

import os
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.core.cache import cache, caches
from django.core.signals import setting_changed

# A lease is at most this many requests: the early refusal another process can cause...
LEASE_MOST = 64
# ...and at most this share of what is left, so that leases shrink towards the limit.
LEASE_SHARE = 16
# Client windows held in memory; more (many clients at once) forgets the expired, then all.
LEASES_KEPT = 4096


@dataclass
class _Lease:
    unspent: int
    # time.monotonic() at which the window's counter dies, and with it the lease.
    ends: float
    # Redis granted nothing: the window's allowance is all leased.
    exhausted: bool = False


class AllowanceLeases:
    """This process's leases, by counter key; thread-safe. A child process starts with none: a
    lease belongs to the process that took it."""

    def __init__(self) -> None:
        self._start_empty()
        os.register_at_fork(after_in_child=self._start_empty)

    def _start_empty(self) -> None:
        # A new lock too: a thread of the parent may have held the old one when it forked.
        self._lock = threading.Lock()
        self._leases: dict[str, _Lease] = {}

    def forget(self) -> None:
        """Drops every lease, which only refuses earlier: for counters cleared from the cache."""
        with self._lock:
            self._leases = {}

    def admit(self, key: str, *, allowed: int, seconds: int) -> bool:
        """Whether one more request of the window counted under `key` (`allowed` requests in
        `seconds`) is admitted; raises what the cache raises when a lease cannot be taken."""
        now = time.monotonic()
        # Held across the round trip too, which the process's one connection for counters serializes
        # anyway (config.cache.Counters): one lease per client window at a time, whatever the threads.
        with self._lock:
            lease = self._leases.get(key)
            if lease is not None and lease.ends > now:
                if lease.unspent > 0:
                    lease.unspent -= 1
                    return True
                if lease.exhausted:
                    return False
            lessor: Any = cache  # config.cache.ReusedClientRedisCache (counts_by_lease)
            granted, lives_ms = lessor.take(
                key, limit=allowed, timeout=seconds + 1, most=LEASE_MOST, share=LEASE_SHARE
            )
            self._make_room(now)
            # This request takes one of the lease.
            self._leases[key] = _Lease(
                unspent=max(0, granted - 1),
                ends=now + (lives_ms / 1000 if lives_ms > 0 else seconds + 1),
                exhausted=granted == 0,
            )
        return granted > 0

    def _make_room(self, now: float) -> None:
        if len(self._leases) < LEASES_KEPT:
            return
        # Forgetting a live lease only refuses earlier: its allowance stays counted in Redis.
        live = {key: lease for key, lease in self._leases.items() if lease.ends > now}
        self._leases = live if len(live) < LEASES_KEPT else {}


allowance_leases = AllowanceLeases()


@lru_cache(maxsize=1)
def counts_by_lease() -> bool:
    """Whether the cache leases allowance (Redis); otherwise each request is counted there. Kept:
    looking through Django's per-thread cache proxy costs more than the rest of an admission."""
    return hasattr(caches["default"], "take")


def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "CACHES":
        counts_by_lease.cache_clear()


setting_changed.connect(_settings_changed)
