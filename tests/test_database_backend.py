"""config.postgresql: the health check of a reused connection costs no round trip while the
connection is idle and sound, and still finds one the server has closed."""

import select
import time

import psycopg
import pytest
from django.db import close_old_connections, connection, connections
from django.db.backends.postgresql.base import DatabaseWrapper as DjangoDatabaseWrapper

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="config.postgresql is for PostgreSQL"),
]


def sent_statements(monkeypatch) -> list[str]:
    """The statements the health check's own psycopg cursors run from now on."""
    sent: list[str] = []
    execute = psycopg.Cursor.execute

    def recording(self, query, *args, **kwargs):
        sent.append(str(query))
        return execute(self, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", recording)
    return sent


def test_an_idle_sound_connection_is_reused_without_a_select_1(monkeypatch):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    reused = connection.connection
    sent = sent_statements(monkeypatch)

    # Between two tasks (config.celery) or requests: the next query checks the connection first.
    close_old_connections()
    assert not connection.health_check_done
    connection.close_if_health_check_failed()

    assert connection.health_check_done
    assert connection.connection is reused
    assert sent == []
    # Django's own check would have sent one.
    DjangoDatabaseWrapper.is_usable(connection)
    assert sent == ["SELECT 1"]


def test_a_connection_the_server_closed_is_replaced_before_the_next_query():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (terminated_pid,) = cursor.fetchone()
    cut = connection.connection
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [terminated_pid])
    finally:
        other.close()
    # The server's notice and its closing of the socket reach this side at once, not instantly.
    deadline = time.monotonic() + 5
    while not select.select([cut.fileno()], [], [], 0.05)[0] and time.monotonic() < deadline:
        pass

    assert not connection.is_usable()
    close_old_connections()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (new_pid,) = cursor.fetchone()

    assert connection.connection is not cut
    assert new_pid != terminated_pid

