"""The public content version: one number that moves forward whenever what the public can read
changes, so every cached public response and validator made before it is superseded at once.

The services call `public_content_changed` when they publish, correct, flag or re-fetch what a
published claim shows; the HTTP layer (verifier.api.http_cache) reads the version to answer
conditional requests and to serve its response cache. Nothing here knows about HTTP.

Where the version lives: in the cache when every process shares it with an atomic increment (Redis,
memcached), read in the same round trip as a cached entry; otherwise (the local-memory default) in
a file under VAR_DIR, which all the processes of a single-machine setup share, as the filesystem
broker is.
"""

import fcntl
import logging
import os
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings
from django.core.cache import cache, caches
from django.core.signals import setting_changed
from django.db import transaction

from core.cache_outage import cache_outages
from core.rate_leases import allowance_leases, counts_by_lease

logger = logging.getLogger(__name__)

VERSION_KEY = "verifier:public-content-version"
SHARED_CACHE_BACKENDS = frozenset({"RedisCache", "PyMemcacheCache", "PyLibMCCache"})


def _now_us() -> int:
    return time.time_ns() // 1000


@dataclass(frozen=True)
class WindowCounter:
    """A counter in the cache that expires with its window (a rate limit's)."""

    key: str
    seconds: int

    @property
    def leased(self) -> bool:
        """Whether requests are admitted from leases of the allowance (core.rate_leases), which
        Redis grants, rather than each counted in the cache."""
        return counts_by_lease()

    def admit(self, allowed: int) -> bool:
        """Whether one more request fits in the window's `allowed`; it is counted either way.
        Raises what the cache raises."""
        if self.leased:
            return allowance_leases.admit(self.key, allowed=allowed, seconds=self.seconds)
        return self.count() <= allowed

    def count(self) -> int:
        """Adds one; the new count (a cache that cannot lease)."""
        try:
            return int(cache.incr(self.key))
        except ValueError:
            # First of the window; the counter expires with it.
            return 1 if cache.add(self.key, 1, timeout=self.seconds + 1) else int(cache.incr(self.key))


class _VersionStore(Protocol):
    def read(self) -> int: ...

    def read_with_entry(self, key: str, counter: WindowCounter | None) -> tuple[int, Any, int | None]: ...

    def read_in_memory(self) -> int | None: ...

    def bump(self) -> None: ...


class _CacheVersion:
    """The version in a cache every process shares; entry and version come in one round trip. Where
    the backend can track a key (Redis), each process also holds the version in memory, which Redis
    invalidates when it moves."""

    def __init__(self) -> None:
        self.tracked = cache.tracked(VERSION_KEY) if hasattr(cache, "tracked") else None

    def read(self) -> int:
        version = self.read_in_memory() if self.tracked is not None else cache.get(VERSION_KEY)
        return version if version is not None else self._start()

    def read_in_memory(self) -> int | None:
        """The version without a round trip while it has not moved; None where the backend cannot
        track it or it is not set yet."""
        if self.tracked is None:
            return None
        raw = self.tracked.get()
        # Django's Redis serializer stores integers as their digits.
        return None if raw is None else int(raw)

    def read_with_entry(self, key: str, counter: WindowCounter | None) -> tuple[int, Any, int | None]:
        keys = [VERSION_KEY, key]
        count = None
        found = cache.get_many(keys)
        if counter is not None:
            count = counter.count()
        version = found.get(VERSION_KEY)
        if version is None:
            return self._start(), None, count
        return version, found.get(key), count

    def bump(self) -> None:
        current = cache.get(VERSION_KEY)
        try:
            if current is None:
                raise ValueError("no version yet")
            # Forward by at least one, to about now in microseconds: Last-Modified is read from it.
            cache.incr(VERSION_KEY, max(1, _now_us() - current))
        except ValueError:
            self._start()
        if self.tracked is not None:
            self.tracked.forget()
            # Redis has written the invalidation to every process's tracking connection by the time
            # it answers a later command (config.cache.TrackedValue): once this returns, the next read
            # in any process sees the new version.
            cache.get(VERSION_KEY)

    def _start(self) -> int:
        # Evicted or never set: now in microseconds is past every version handed out before.
        cache.add(VERSION_KEY, _now_us(), timeout=None)
        version = cache.get(VERSION_KEY)
        return version if version is not None else _now_us()


class _FileVersion:
    """The version in a file shared by the processes of one machine; bumps hold a file lock."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock_path = path.with_suffix(".lock")

    def read(self) -> int:
        try:
            return int(self.path.read_text())
        except (FileNotFoundError, ValueError):
            self.bump()
            return int(self.path.read_text())

    def read_with_entry(self, key: str, counter: WindowCounter | None) -> tuple[int, Any, int | None]:
        return self.read(), cache.get(key), None if counter is None else counter.count()

    def read_in_memory(self) -> int | None:
        # A file read costs no round trip; the caller reads it with the entry as before.
        return None

    def bump(self) -> None:
        with self.lock_path.open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                current = int(self.path.read_text())
            except (FileNotFoundError, ValueError):
                current = 0
            # Written aside and renamed, so a reader never sees a half-written number.
            scratch = self.path.with_suffix(f".{os.getpid()}.tmp")
            scratch.write_text(str(max(current + 1, _now_us())))
            os.replace(scratch, self.path)


@lru_cache(maxsize=1)
def _versions() -> _VersionStore:
    backend = type(caches["default"])
    if any(klass.__name__ in SHARED_CACHE_BACKENDS for klass in backend.__mro__):
        return _CacheVersion()
    return _FileVersion(Path(settings.VAR_DIR) / "public-content-version")


def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in ("CACHES", "VAR_DIR"):
        _versions.cache_clear()


setting_changed.connect(_settings_changed)


def public_content_changed() -> None:
    """Supersedes every cached public response and validator. Call it where public content changes:
    the version moves now, for readers inside this transaction, and again once it commits, for the
    copies other processes rendered from the old rows meanwhile."""
    _bump()
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(_bump)


def _bump() -> None:
    try:
        _versions().bump()
    except Exception as error:
        # The change itself goes ahead; cached copies then live until API_CACHE_SECONDS.
        logger.exception("Could not move the public content version forward")
        cache_outages.record(what="a change was saved", error=error)


def public_content_version() -> int | None:
    """The current version; None when the store cannot be read (nothing is cached or validated then)."""
    try:
        return _versions().read()
    except Exception as error:
        cache_outages.record(what="a response was rendered without the response cache", error=error)
        return None


def public_content_version_in_memory() -> int | None:
    """The current version, without a round trip, where the store tells each process when it moves
    (Redis); None elsewhere (read it with `public_content_version_and_entry`). Raises what the store
    raises."""
    return _versions().read_in_memory()


def public_content_version_and_entry(
    key: str, *, counter: WindowCounter | None = None
) -> tuple[int, Any, int | None]:
    """The current version, the cache entry under `key` and, with a `counter`, its count after
    adding one (else None), in one round trip where the store allows; raises what the store raises."""
    return _versions().read_with_entry(key, counter)
