"""The Redis Celery broker: kombu's redis transport, made to survive losing Redis mid-task.

When a worker loses Redis, celery's consumer first `collect()`s the broken connection and then
`close()`s it (celery.worker.consumer.Consumer.on_connection_error_after_connected). `collect()`
tries to close the channel, which fails on the dead socket before the channel is marked closed,
and then drops the transport's reference to its kombu Connection (`Connection._do_close_transport`
sets `transport.client = None`). `close()` then closes the channel again; with an acks_late task
still running, the channel restores that unacknowledged message, needs a fresh Redis client for
it, and builds its parameters from `transport.client.hostname`: AttributeError on None. That is
not a connection error, so the worker stops with "Unrecoverable error: 'NoneType' object has no
attribute 'hostname'". The running task's acknowledgement goes through the same channel and fails
the same way, so its message would come back after the visibility timeout and run twice.

Here the transport keeps the last Connection it was given, so the channel can still build a
client: with Redis down that raises redis' ConnectionError, which celery expects (it logs and
reconnects, and logs an acknowledgement it could not send); with Redis back the restore or the
acknowledgement goes through. Nothing else reads the cleared reference, and the Connection is
only its address and options, so keeping it alive as long as the old channel costs nothing.

`config.celery` registers this transport for `redis://` and `rediss://` URLs in every process.
Reproduced and tested by tests/test_worker_broker_loss.py.
"""

from __future__ import annotations

from typing import Any

from kombu.transport import redis


class Transport(redis.Transport):
    @property
    def client(self) -> Any:
        return self._broker_connection

    @client.setter
    def client(self, connection: Any) -> None:
        # kombu sets None when it closes the connection; the channels built on this transport
        # still need the broker's address for their last restore or acknowledgement.
        if connection is not None:
            self._broker_connection = connection
