"""Django's Redis cache backend, with one Redis client per connection pool instead of one per call.

Django builds a new redis.Redis client for every cache operation, and redis-py's constructor
builds its response-callback table each time: about a quarter of a millisecond, which is most of
the cost of serving a cached response or counting a throttled request. A client is thread-safe and
only borrows connections from its pool, so one per pool serves every thread of a process.
"""

from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient


class _ReusedClient(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        index = self._get_connection_pool_index(write)  # type: ignore[attr-defined]  # not in the stubs
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = super().get_client(key, write=write)
        return client


class ReusedClientRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = _ReusedClient
