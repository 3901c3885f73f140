"""Django's Redis cache backend, with one Redis client per connection pool instead of one per call.

Django builds a new redis.Redis client for every cache operation, and redis-py's constructor
builds its response-callback table each time: about a quarter of a millisecond, which is most of
the cost of serving a cached response or counting a throttled request. A client is thread-safe and
only borrows connections from its pool, so one per pool serves every thread of a process.

`get_many_and_count` reads keys and counts a request in one round trip: a cached response and its
client's rate-limit counter are looked up together (verifier.api.http_cache).
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

    def get_many_and_count(
        self, keys: list[str], *, counter: str, timeout: int
    ) -> tuple[dict[str, Any], int]:
        """`get_many(keys)`, and `counter` incremented (created with `timeout` seconds to live when
        missing), in one pipelined round trip; the counter stays readable by `get` and `incr`."""
        made = {self.make_and_validate_key(key): key for key in keys}
        counter_key = self.make_and_validate_key(counter)
        client = self._cache.get_client(write=True)
        with client.pipeline(transaction=False) as pipeline:
            pipeline.mget(list(made))
            # SET NX EX then INCR rather than EXPIRE NX, which needs Redis 7.
            pipeline.set(counter_key, 0, ex=timeout, nx=True)
            pipeline.incr(counter_key)
            values, _, count = pipeline.execute()
        loads = self._cache._serializer.loads  # type: ignore[attr-defined]  # not in the stubs
        found = {
            key: loads(value) for key, value in zip(made.values(), values, strict=True) if value is not None
        }
        return found, int(count)
