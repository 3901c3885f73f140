"""Django's Redis cache backend, with one Redis client per connection pool instead of one per call.

Django builds a new redis.Redis client for every cache operation, and redis-py's constructor
builds its response-callback table each time: about a quarter of a millisecond, which is most of
the cost of serving a cached response or counting a throttled request. A client is thread-safe and
only borrows connections from its pool, so one per pool serves every thread of a process.

`take` leases a part of a rate-limit window's allowance to the process in one atomic step
(core.rate_leases). `tracked` keeps one key's value in process memory, exact without a round trip
per read (TrackedValue).
"""

import os
import select
import threading
from functools import cached_property
from typing import Any

import redis
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

    def take(self, counter: str, *, limit: int, timeout: int, most: int, share: int) -> tuple[int, int]:
        """A lease of `counter`'s allowance (Counters.take): (requests granted, milliseconds the
        counter still lives), in one round trip."""
        return self._counters.take(
            self.make_and_validate_key(counter), limit=limit, timeout=timeout, most=most, share=share
        )

    @cached_property
    def _counters(self) -> "Counters":
        return Counters(*self._write_server())

    def _write_server(self) -> tuple[str, dict[str, Any]]:
        """The URL and OPTIONS of the server Django's RedisCache writes to (the first): it sees every
        change of a key."""
        servers: list[str] = self._servers  # type: ignore[attr-defined]  # not in the stubs
        options: dict[str, Any] = self._options  # type: ignore[attr-defined]  # not in the stubs
        return servers[0], options

    def tracked(self, key: str) -> "TrackedValue":
        """The value under `key`, kept in this process and dropped the moment Redis says it changed."""
        url, options = self._write_server()
        return TrackedValue(url, self.make_and_validate_key(key), options)


def _command(*parts: str | bytes | int) -> bytes:
    """A command in the Redis protocol: an array of bulk strings."""
    encoded = [part if isinstance(part, bytes) else str(part).encode() for part in parts]
    return b"".join([b"*%d\r\n" % len(encoded), *(b"$%d\r\n%s\r\n" % (len(part), part) for part in encoded)])


# The cache's OPTIONS that the connections of their own take too: a Redis that stopped answering
# costs a read at most these seconds.
_SOCKET_OPTIONS = ("socket_connect_timeout", "socket_timeout")


class _OwnConnection:
    """A connection to Redis of this process's own, outside the cache's pool, opened by redis-py
    (authentication, database) and used under a lock. One inherited from the parent process is the
    parent's: left alone, never closed, and a new one opened."""

    def __init__(self, url: str, options: dict[str, Any]) -> None:
        self._url = url
        self._options = {name: value for name, value in options.items() if name in _SOCKET_OPTIONS}
        self._lock = threading.Lock()
        self._connection: Any = None
        self._pid = 0

    def _kept(self) -> Any:
        """This process's open connection, or None."""
        return self._connection if self._connection is not None and self._pid == os.getpid() else None

    def _keep(self, connection: Any) -> None:
        self._connection, self._pid = connection, os.getpid()

    def _open(self, protocol: int = 2) -> Any:
        pool = redis.ConnectionPool.from_url(self._url, protocol=protocol, **self._options)
        connection: Any = pool.make_connection()
        try:
            connection.connect()
        except BaseException:
            connection.disconnect()
            raise
        return connection

    def _drop(self) -> None:
        connection, self._connection = self._kept(), None
        if connection is not None:
            connection.disconnect()


# A lease of a rate-limit window's allowance, taken atomically: never more than is left under the
# limit, so that the counter is the sum of the leases handed out and never passes the limit. The
# lease is the larger of 1 and the smaller of `most` and a `share`-th of what is left. The counter
# is created with the window's lifetime and dies with it.
_TAKE_LEASE = """
local limit, timeout, most, share = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local left = limit - tonumber(redis.call('GET', KEYS[1]) or '0')
local granted = 0
if left > 0 then
  granted = math.max(1, math.min(most, math.floor(left / share)))
  if redis.call('INCRBY', KEYS[1], granted) == granted then
    redis.call('EXPIRE', KEYS[1], timeout)
  end
end
return {granted, redis.call('PTTL', KEYS[1])}
"""


class Counters(_OwnConnection):
    """Rate-limit counters written over a connection of this process's own, directly: redis-py's
    pipeline and script helpers cost more CPU than the round trip's system calls. A reply that
    cannot be read in full drops the connection."""

    def take(self, key: str, *, limit: int, timeout: int, most: int, share: int) -> tuple[int, int]:
        """A lease of the allowance under `key` (the script above): (requests granted, 0 when the
        limit is reached; milliseconds the counter lives, negative when it does not exist)."""
        sent = _command("EVAL", _TAKE_LEASE, 1, key, limit, timeout, most, share)
        with self._lock:
            try:
                sock = self._socket()
                sock.sendall(sent)
                reply = b""
                # An array of two integers (three lines), or an error (one line).
                while reply.count(b"\r\n") < (1 if reply.startswith(b"-") else 3):
                    chunk = sock.recv(256)
                    if not chunk:
                        raise redis.ConnectionError("Redis closed the connection")
                    reply += chunk
            except BaseException:
                self._drop()
                raise
        lines = reply.split(b"\r\n")
        if not lines[0].startswith(b"*"):
            raise redis.ResponseError(lines[0][1:].decode(errors="replace"))
        return int(lines[1][1:]), int(lines[2][1:])

    def _socket(self) -> Any:
        connection = self._kept()
        if connection is None:
            connection = self._open()
            self._keep(connection)
        return connection._sock


class TrackedValue(_OwnConnection):
    """One key's value held in process memory, exact without a round trip per read: the connection
    that read it asked Redis to track the keys it reads (CLIENT TRACKING, RESP3), so Redis pushes an
    invalidation down that connection when the key is written, expires or the db is flushed. A read
    first polls the connection's socket (one system call, no round trip); any byte there (an
    invalidation, or the connection closing) means the copy may be stale, and the key is read again.

    Redis writes the invalidation to the socket in the same event-loop pass as it replies to the
    write; a writer that waits for one more reply after its write (core.content_version does) knows the
    invalidation has been written to every tracking socket by then. redis-py's own client-side cache
    needs Redis 7.4 and checks its connections only when a command goes out; this needs Redis 6.
    """

    def __init__(self, url: str, key: str, options: dict[str, Any]) -> None:
        super().__init__(url, options)
        self._key = key
        self._poll: Any = None
        self._value: bytes | None = None
        self._valid = False
        self._tracks = False

    def get(self) -> bytes | None:
        """The value (raw bytes, None when missing); raises what redis-py raises when Redis cannot be
        reached, and reads it again on the next call."""
        with self._lock:
            kept_open = self._kept() is not None
            if self._valid and kept_open and not self._poll.poll(0):
                return self._value
            try:
                return self._read()
            except redis.ConnectionError:
                if not kept_open:
                    raise
                # The server closed the connection this process kept (a restart, an idle timeout):
                # one new connection before Redis counts as unreachable.
                return self._read()

    def forget(self) -> None:
        """The next `get` reads the key again: this process has just written it."""
        with self._lock:
            self._valid = False

    def _read(self) -> bytes | None:
        self._valid = False
        try:
            connection = self._connected()
            while connection.can_read(0):
                # Invalidations since the last read: the key is read again below, whatever they said.
                connection.read_response(push_request=True)
            connection.send_command("GET", self._key)
            value: bytes | None = connection.read_response()
            # An invalidation already behind the reply: keep the value for this call only.
            self._valid = self._tracks and not connection.can_read(0)
        except BaseException:
            self._drop()
            raise
        self._value = value
        return value

    def _connected(self) -> Any:
        kept = self._kept()
        if kept is not None:
            return kept
        connection = self._open(protocol=3)
        try:
            connection.send_command("CLIENT", "TRACKING", "ON")
            connection.read_response()
            self._tracks = True
        except redis.ResponseError:
            # The server answers but will not track (an ACL that forbids it): the key is read on
            # every call, as exact, at a round trip each.
            connection.disconnect()
            connection, self._tracks = self._open(protocol=2), False
        poll = select.poll()
        poll.register(connection._sock.fileno(), select.POLLIN | select.POLLPRI)
        self._poll = poll
        self._keep(connection)
        return connection

    def _open(self, protocol: int = 2) -> Any:
        try:
            return super()._open(protocol)
        except redis.ResponseError:
            if protocol == 2:
                raise
            # Before Redis 6, no RESP3 (HELLO), and so no tracking.
            return super()._open(protocol=2)
