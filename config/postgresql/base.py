"""Django's PostgreSQL backend with a health check that costs no round trip while the connection
is idle and sound.

With CONN_HEALTH_CHECKS (config.settings turns them on) Django checks a reused connection with a
`SELECT 1` before the first query of every request and every Celery task (config.celery resets
the check between tasks): one more round trip for each fetch, which waits for the GIL like every
other (a worker's threads spend most of their time extracting pages). Between two queries nothing
is due from the server, so a socket with nothing to read is an idle, open connection; one the
server closed (restart, terminated backend, idle timeout) or wrote to (its reason for closing,
an asynchronous notice) is readable, and only then is the `SELECT 1` run to tell which.
"""

import select

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        if self.connection is None or self.connection.closed or self.connection.broken:
            return False
        # poll, not select: a process with many files open can hold the socket above select's 1024.
        poller = select.poll()
        try:
            poller.register(self.connection.fileno(), select.POLLIN)
            readable = poller.poll(0)
        except (OSError, ValueError):
            return False
        return not readable or super().is_usable()
