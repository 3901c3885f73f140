"""Per-host fetch slots: at most SOURCES_MAX_FETCHES_PER_HOST fetches of one host at once, across
every worker, each slot a lease that lapses SOURCES_FETCH_LEASE_SECONDS after its last renewal.

With Redis configured (SOURCES_HOST_SLOTS = "redis", the default when REDIS_URL is set) a slot is
a Redis key set with NX and an expiry: taking, renewing and freeing one is one round trip that
touches no database row, and a dead worker's slot expires by itself. Without Redis the slots are
HostFetchSlot rows, taken inside the transaction that claims the source (`in_transaction`), so
that SQLite sees one write transaction per claim; a lapsed row is cleared when it stands in the way.
"""

import logging
import threading
import uuid
from datetime import datetime, timedelta
from functools import cache
from typing import Protocol

from django.conf import settings
from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError, connection, transaction

from sources.models import HostFetchSlot

logger = logging.getLogger(__name__)


class HostSlotsUnavailable(Exception):
    """The store of the slots could not be reached; nothing was taken."""


class HostSlots(Protocol):
    # True: acquire() writes in the caller's transaction, which must be open and whose rollback
    # gives the slot back. False: acquire() takes the slot at once and release() gives it back.
    in_transaction: bool

    def acquire(self, host: str, holder: uuid.UUID, now: datetime) -> bool: ...

    def renew(self, holder: uuid.UUID, now: datetime) -> None: ...

    def release(self, holder: uuid.UUID) -> None: ...


def lease_end(now: datetime) -> datetime:
    """When a lease taken or renewed at `now` lapses."""
    return now + timedelta(seconds=settings.SOURCES_FETCH_LEASE_SECONDS)


class DatabaseHostSlots:
    in_transaction = True

    def acquire(self, host: str, holder: uuid.UUID, now: datetime) -> bool:
        expires_at = lease_end(now)
        if self._take(host, holder, expires_at):
            return True
        # Expired leases (a dead worker's) are cleared only when they stand in the way, sparing
        # every other fetch a write.
        if HostFetchSlot.objects.filter(host=host, expires_at__lt=now).delete()[0]:
            return self._take(host, holder, expires_at)
        return False

    @staticmethod
    def _take(host: str, holder: uuid.UUID, expires_at: datetime) -> bool:
        for slot in range(settings.SOURCES_MAX_FETCHES_PER_HOST):
            try:
                with transaction.atomic():
                    HostFetchSlot.objects.create(host=host, slot=slot, holder=holder, expires_at=expires_at)
            except IntegrityError:
                continue
            return True
        return False

    def renew(self, holder: uuid.UUID, now: datetime) -> None:
        HostFetchSlot.objects.filter(holder=holder).update(expires_at=lease_end(now))

    def release(self, holder: uuid.UUID) -> None:
        try:
            HostFetchSlot.objects.filter(holder=holder).delete()
        except (OperationalError, InterfaceError) as error:
            if connection.in_atomic_block:
                raise
            # A broken connection must not keep the host's slot: free it on a new one, or leave it
            # to lapse within SOURCES_FETCH_LEASE_SECONDS.
            logger.warning("Freeing host slot %s on a fresh connection after: %s", holder, error)
            connection.close()
            try:
                HostFetchSlot.objects.filter(holder=holder).delete()
            except DatabaseError as second_error:
                logger.warning("Host slot %s left to lapse: %s", holder, second_error)


# Takes the first free slot of the host: KEYS are its slot keys, ARGV the holder and the lease in
# milliseconds; the slot's index, or -1 when every slot is held.
_ACQUIRE = """
for index, key in ipairs(KEYS) do
  if redis.call('SET', key, ARGV[1], 'NX', 'PX', ARGV[2]) then return index - 1 end
end
return -1
"""
# Only the holder's own slot is extended or freed: one that lapsed and was taken by another
# fetch meanwhile is left alone.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def redis_slot_key(host: str, slot: int) -> str:
    # The braces keep a host's slots in one hash slot of a Redis cluster, as the scripts need.
    return f"verifier:fetch-slot:{{{host}}}:{slot}"


class RedisHostSlots:
    in_transaction = False

    def __init__(self, url: str) -> None:
        import redis

        self._errors: tuple[type[Exception], ...] = (redis.RedisError,)
        self._client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        self._acquire = self._client.register_script(_ACQUIRE)
        self._renew = self._client.register_script(_RENEW)
        self._release = self._client.register_script(_RELEASE)
        # The key of each slot this process holds, by holder: renewals and releases name it.
        self._held: dict[uuid.UUID, str] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _lease_ms() -> int:
        return settings.SOURCES_FETCH_LEASE_SECONDS * 1000

    def acquire(self, host: str, holder: uuid.UUID, now: datetime) -> bool:
        keys = [redis_slot_key(host, slot) for slot in range(settings.SOURCES_MAX_FETCHES_PER_HOST)]
        try:
            taken = int(self._acquire(keys=keys, args=[holder.hex, self._lease_ms()]))
        except self._errors as error:
            raise HostSlotsUnavailable(str(error)) from error
        if taken < 0:
            return False
        with self._lock:
            self._held[holder] = keys[taken]
        return True

    def renew(self, holder: uuid.UUID, now: datetime) -> None:
        key = self._held.get(holder)
        if key is not None:
            try:
                self._renew(keys=[key], args=[holder.hex, self._lease_ms()])
            except self._errors as error:
                raise HostSlotsUnavailable(str(error)) from error

    def release(self, holder: uuid.UUID) -> None:
        with self._lock:
            key = self._held.pop(holder, None)
        if key is None:
            return
        try:
            self._release(keys=[key], args=[holder.hex])
        except self._errors as error:
            logger.warning("Host slot %s left to lapse: %s", key, error)


@cache
def _redis_host_slots(url: str) -> RedisHostSlots:
    # One client (and its connection pool) per process, shared by every worker thread.
    return RedisHostSlots(url)


_DATABASE_HOST_SLOTS = DatabaseHostSlots()


def host_slots() -> HostSlots:
    """Where the per-host slots live under the current settings."""
    if settings.SOURCES_HOST_SLOTS == "redis":
        return _redis_host_slots(settings.REDIS_URL)
    return _DATABASE_HOST_SLOTS
