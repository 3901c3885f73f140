"""values() queries over "the rows of these ids", compiled to SQL once per process and run again
with each new list of ids: the reads that fill every page of the API with its claims' tags,
verdicts and evidence (verifier.selectors.records, verifier.selectors.evidence).

Two costs these reads would otherwise pay on every page, each larger than running the query:
Django compiling the queryset to SQL (joins, columns, ordering), and, on PostgreSQL, Django's
timestamptz loader, written in Python, which parses every timestamp with a regular expression.
Here the SQL is made once per database vendor, with the ids as a single parameter (an array on
PostgreSQL, a JSON array on SQLite) so that its text does not depend on how many there are, and
the rows are loaded by psycopg's own timestamptz loader (its C implementation), which gives the
same aware datetimes in UTC: Django sets the connection's time zone to UTC.
The statements of one page go to PostgreSQL together, in one round trip (rows_together).
Django's converters still run (a JSON column's decoding, SQLite's datetimes), so a row is what
values() would have returned.

ShapedRows does the same for queries whose SQL is fixed but for a few values (a list's page at a
cursor's position, one claim by id), compiled once per key with probe values in their place.
On PostgreSQL the statements compiled once are also prepared on the connection (_prepared), so the
database parses and plans each once per connection, not on every page.
"""

import functools
import json
import threading
import uuid
from collections.abc import Callable, Hashable, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import DataError, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorDebugWrapper
from django.db.models import BooleanField, Expression, F, QuerySet
from django.db.models.query import ValuesIterable
from django.db.models.sql import UpdateQuery
from django.db.models.sql.compiler import SQLCompiler

Row = dict[str, Any]
# The values a shaped statement takes, each a parameter of its SQL.
Shapeable = datetime | int | str | uuid.UUID


class _Ids:
    """Stands for the list of ids in a compiled query's parameters until it is run."""


class OneOfIds(Expression):
    """A condition: `column` is one of a list of ids given as one parameter."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, column: str | F, ids: object) -> None:
        super().__init__()
        self.column: Any = F(column) if isinstance(column, str) else column
        self.ids = ids

    def get_source_expressions(self) -> list[Any]:
        return [self.column]

    def set_source_expressions(self, exprs: Sequence[Any]) -> None:
        (self.column,) = exprs

    def resolve_expression(self, *args: Any, **kwargs: Any) -> "OneOfIds":
        resolved = self.copy()
        resolved.column = self.column.resolve_expression(*args, **kwargs)
        return resolved

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> tuple[str, tuple[Any, ...]]:
        column, params = compiler.compile(self.column)
        # SQLite (and its JSON1 functions, which Django's JSONField requires).
        return f"{column} IN (SELECT value FROM json_each(%s))", (*params, self.ids)

    def as_postgresql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
    ) -> tuple[str, tuple[Any, ...]]:
        column, params = compiler.compile(self.column)
        return f"{column} = ANY(%s)", (*params, self.ids)


class _Compiled:
    def __init__(
        self, queryset: QuerySet[Any], alias: str, *, takes_ids: bool = True, reused: bool = True
    ) -> None:
        query = queryset.query
        compiler: SQLCompiler = query.get_compiler(alias)
        sql, params = compiler.as_sql()
        self.sql = sql
        self.params = list(params)
        self.ids_at = [index for index, param in enumerate(self.params) if isinstance(param, _Ids)]
        if takes_ids and len(self.ids_at) != 1:
            raise ValueError("A compiled query takes its ids once: filter it with OneOfIds(column, ids).")
        self.names = [*query.extra_select, *query.values_select, *query.annotation_select]
        selected = [column for column, _, _ in compiler.select[: compiler.col_count]]
        self.converters = [
            (position, functions, expression)
            for position, (functions, expression) in compiler.get_converters(selected).items()
        ]
        self.postgresql = compiler.connection.vendor == "postgresql"
        # Run again and again (not a one-off's SQL): worth a prepared statement.
        self.reused = reused


class CompiledRows:
    """The rows of `build(ids)` (a values() queryset filtered with OneOfIds), as dicts, for any list
    of ids; compiled on first use on each database vendor.

        EVIDENCE = CompiledRows(lambda ids: Evidence.objects.filter(OneOfIds("claim_id", ids))
                                .order_by("id").values(*COLUMNS))
        EVIDENCE.rows(claim_ids)
    """

    def __init__(self, build: Callable[[object], QuerySet[Any]], *, using: str = "default") -> None:
        self._build = build
        self._using = using
        self._compiled: dict[tuple[str, str], _Compiled] = {}
        self._lock = threading.Lock()

    @property
    def names(self) -> list[str]:
        return self._for(connections[self._using]).names

    def rows(self, ids: Sequence[int]) -> list[Row]:
        """The rows of these ids, in the query's order."""
        [rows] = rows_together((self, ids))
        return rows

    def _statement(self, connection: BaseDatabaseWrapper, ids: Sequence[int]) -> tuple[_Compiled, list[Any]]:
        compiled = self._for(connection)
        params: list[Any] = list(compiled.params)
        params[compiled.ids_at[0]] = list(ids) if compiled.postgresql else json.dumps(list(ids))
        return compiled, params

    def _for(self, connection: BaseDatabaseWrapper) -> _Compiled:
        # Settings a compiled query depends on (a test's USE_TZ) are part of the key.
        key = (connection.vendor, str(settings.USE_TZ))
        compiled = self._compiled.get(key)
        if compiled is None:
            with self._lock:
                compiled = _Compiled(self._build(_Ids()), connection.alias)
                self._compiled[key] = compiled
        return compiled


def rows_together(*reads: tuple[CompiledRows, Sequence[int]]) -> list[list[Row]]:
    """The rows of each query for its ids. On PostgreSQL the statements are sent in one round trip
    (psycopg's pipeline mode), each still a statement of its own; elsewhere one after the other.
    The queries read the same database."""
    if len({query._using for query, _ in reads}) > 1:
        raise ValueError("Rows read together come from one database.")
    results: list[list[Row]] = [[] for _ in reads]
    wanted = [(index, query, ids) for index, (query, ids) in enumerate(reads) if ids]
    if not wanted:
        return results
    connection = connections[wanted[0][1]._using]
    statements = [query._statement(connection, ids) for _, query, ids in wanted]
    for (index, _, _), rows in zip(wanted, _run(connection, statements), strict=True):
        results[index] = rows
    return results


def values_rows(queryset: QuerySet[Any]) -> list[Row]:
    """The rows of a values() queryset, as iterating it gives them, read as CompiledRows reads its
    own (timestamps by psycopg's C loader): for a query whose shape varies from one request to the
    next, such as a filtered page, so it is compiled each time."""
    connection = connections[queryset.db]
    try:
        compiled = _Compiled(queryset, connection.alias, takes_ids=False, reused=False)
    except EmptyResultSet:  # a filter no row can match, which Django answers without a query
        return []
    [rows] = _run(connection, [(compiled, compiled.params)])
    return rows


class ShapedRows:
    """The rows of values() querysets whose SQL, for a given key, differs only in the values of some
    parameters (a page's cursor position): compiled once per key with probe values in their place,
    then run with the values of each call.

        PAGES = ShapedRows()
        PAGES.rows(("published", 21), lambda moment, pk: claims.filter(...)[:21], moment, pk)

    The key names everything else the SQL depends on. Values are datetimes, ints, strs and UUIDs, each a
    parameter of the compiled SQL (found by its probe, in the form Django gives the database).
    """

    # Keys come from requests (a page size, a staff member's status list): a bounded number is kept.
    MAX_SHAPES = 512

    def __init__(self, *, using: str = "default") -> None:
        self._using = using
        self._compiled: dict[tuple[Hashable, str, str], tuple[_Compiled, list[list[int]]]] = {}
        self._lock = threading.Lock()

    def rows(self, key: Hashable, build: Callable[..., QuerySet[Any]], *values: Shapeable) -> list[Row]:
        """The rows of build(*values)."""
        connection = connections[self._using]
        compiled, places = self._for(connection, key, build, values)
        params = _with_values(connection, compiled.params, places, values)
        [rows] = _run(connection, [(compiled, params)])
        return rows

    def sql(
        self, key: Hashable, build: Callable[..., QuerySet[Any]], *values: Shapeable
    ) -> tuple[str, list[Any]]:
        """The SQL and parameters of build(*values), to embed in another statement (RawSQL) that
        would otherwise compile the queryset on every call."""
        connection = connections[self._using]
        compiled, places = self._for(connection, key, build, values)
        return compiled.sql, _with_values(connection, compiled.params, places, values)

    def _for(
        self,
        connection: BaseDatabaseWrapper,
        key: Hashable,
        build: Callable[..., QuerySet[Any]],
        values: Sequence[Shapeable],
    ) -> tuple[_Compiled, list[list[int]]]:
        full_key = (key, connection.vendor, str(settings.USE_TZ))
        found = self._compiled.get(full_key)
        if found is not None:
            return found
        probes = [_probe(value, index) for index, value in enumerate(values)]
        queryset = build(*probes)
        if queryset._iterable_class is not ValuesIterable:
            raise TypeError("A shaped query reads rows: build a values() queryset.")
        compiled = _Compiled(queryset, connection.alias, takes_ids=False)
        places = _probe_places(connection, compiled.params, probes)
        with self._lock:
            if len(self._compiled) >= self.MAX_SHAPES:
                self._compiled.clear()
            self._compiled[full_key] = (compiled, places)
        return compiled, places


class ShapedUpdate:
    """UPDATEs whose SQL, for a given key, differs only in the values of some parameters: compiled
    once per key with probe values in their place, as ShapedRows compiles its reads, then run with
    the values of each call. For the writes a worker makes on every task (a fetch's claim, its
    result), where Django building and compiling the UPDATE costs more than running it.

        SETTLE = ShapedUpdate()
        SETTLE.update("settle", lambda pk, status: (Source.objects.filter(pk=pk), {"status": status}),
                      source.pk, "fetched")

    `build` returns the queryset to update and the changes, as QuerySet.update takes them.
    """

    def __init__(self, *, using: str = "default") -> None:
        self._using = using
        self._compiled: dict[tuple[Hashable, str, str], tuple[str, list[Any], list[list[int]]]] = {}
        self._lock = threading.Lock()

    def update(
        self,
        key: Hashable,
        build: Callable[..., tuple[QuerySet[Any], dict[str, Any]]],
        *values: Shapeable,
    ) -> int:
        """Runs build(*values)'s update; the number of rows it changed, as QuerySet.update returns."""
        connection = connections[self._using]
        sql, compiled_params, places = self._for(connection, key, build, values)
        params = _with_values(connection, compiled_params, places, values)
        # As QuerySet.update: an error inside an atomic block the caller catches still rolls it back.
        # Prepared on PostgreSQL, as the reads compiled once are: parsed and planned once per
        # connection, not on every fetch.
        postgresql = connection.vendor == "postgresql"
        with (
            transaction.mark_for_rollback_on_error(using=self._using),
            _prepared(connection) if postgresql else connection.cursor() as cursor,
        ):
            cursor.execute(sql, params)
            return cursor.rowcount

    def _for(
        self,
        connection: BaseDatabaseWrapper,
        key: Hashable,
        build: Callable[..., tuple[QuerySet[Any], dict[str, Any]]],
        values: Sequence[Shapeable],
    ) -> tuple[str, list[Any], list[list[int]]]:
        full_key = (key, connection.vendor, str(settings.USE_TZ))
        found = self._compiled.get(full_key)
        if found is not None:
            return found
        probes = [_probe(value, index) for index, value in enumerate(values)]
        queryset, changes = build(*probes)
        # What QuerySet.update builds, kept instead of run.
        query = cast(UpdateQuery, queryset.query.chain(UpdateQuery))
        query.add_update_values(changes)
        query.clear_ordering(force=True)
        query.clear_select_clause()
        sql, params = query.get_compiler(connection.alias).as_sql()
        if not sql:
            raise ValueError("A shaped update changes at least one column.")
        compiled = (sql, list(params), _probe_places(connection, params, probes))
        with self._lock:
            self._compiled[full_key] = compiled
        return compiled


# Values no real parameter of these queries holds: far from any stored moment, id or token, and
# no text anyone writes.
_PROBE_MOMENT = datetime(1901, 2, 3, 4, 5, 6, 700000, tzinfo=UTC)
_PROBE_INT = 8_765_432_109_876_000
_PROBE_TEXT = "\u2063shaped-query-probe-"


def _probe(value: Shapeable, index: int) -> Shapeable:
    # Each value its own probe, of its type.
    if isinstance(value, datetime):
        return _PROBE_MOMENT + timedelta(microseconds=index)
    if isinstance(value, uuid.UUID):
        return uuid.UUID(int=_PROBE_INT + index)
    if isinstance(value, str):
        return f"{_PROBE_TEXT}{index}"
    if isinstance(value, int) and not isinstance(value, bool):
        return _PROBE_INT + index
    raise TypeError(
        f"A shaped query's values are datetimes, ints, strs and UUIDs, not {type(value).__name__}."
    )


def _adapted(connection: BaseDatabaseWrapper, value: Shapeable) -> Any:
    # As DateTimeField, UUIDField, the text and the integer fields give their values to the database.
    if isinstance(value, datetime):
        return connection.ops.adapt_datetimefield_value(value)
    if isinstance(value, uuid.UUID) and not connection.features.has_native_uuid_field:
        return value.hex
    return value


def _probe_places(
    connection: BaseDatabaseWrapper, compiled_params: Sequence[Any], probes: Sequence[Shapeable]
) -> list[list[int]]:
    """Where each probe's value sits among the compiled statement's parameters."""
    places = []
    for probe in probes:
        adapted = _adapted(connection, probe)
        at = [index for index, param in enumerate(compiled_params) if _same(param, adapted)]
        if not at:
            raise ValueError(f"{probe!r} is not a parameter of the compiled query.")
        places.append(at)
    return places


def _with_values(
    connection: BaseDatabaseWrapper,
    compiled_params: Sequence[Any],
    places: Sequence[Sequence[int]],
    values: Sequence[Shapeable],
) -> list[Any]:
    params = list(compiled_params)
    for value, at in zip(values, places, strict=True):
        adapted = _adapted(connection, value)
        for index in at:
            wrapper = type(params[index])
            params[index] = adapted if wrapper is type(adapted) else wrapper(adapted)
    return params


def _same(param: Any, adapted: Any) -> bool:
    if type(param) is type(adapted):
        return bool(param == adapted)
    # On PostgreSQL an int inside an expression (a Value) comes in one of psycopg's sized int
    # types (Int4), which the call's value is given in as well.
    return isinstance(param, int) and type(adapted) is int and param == adapted


def _run(connection: BaseDatabaseWrapper, statements: list[tuple[_Compiled, list[Any]]]) -> list[list[Row]]:
    postgresql = connection.vendor == "postgresql"
    # Each cursor is made (and the connection checked, opened if need be) before the pipeline starts.
    cursors = [
        _prepared(connection) if postgresql and compiled.reused else connection.cursor()
        for compiled, _ in statements
    ]
    try:
        if postgresql and settings.USE_TZ and connection.timezone_name == "UTC":
            for cursor in cursors:
                _load_timestamps_in_c(cursor.cursor)
        fetched: list[list[Any]] = []
        # A pipeline raises the driver's own errors when it ends (a connection cut mid-way): turned
        # into Django's, as its cursors do, so that callers and the 503 middleware recognise them
        # and Django discards the connection.
        with connection.wrap_database_errors, _pipeline(connection, postgresql and len(statements) > 1):
            for cursor, (compiled, params) in zip(cursors, statements, strict=True):
                cursor.execute(compiled.sql, params)
            fetched = [cursor.fetchall() for cursor in cursors]
    finally:
        for cursor in cursors:
            cursor.close()
    results = []
    for (compiled, _), rows in zip(statements, fetched, strict=True):
        if compiled.converters:
            rows = [_converted(row, compiled.converters, connection) for row in rows]
        results.append([dict(zip(compiled.names, row, strict=True)) for row in rows])
    return results


def _prepared(connection: BaseDatabaseWrapper) -> Any:
    """A cursor whose statements PostgreSQL keeps prepared on the connection: parsed and planned
    once, not on every page. Django's cursors bind parameters in the client (its default), which
    psycopg cannot prepare; this one binds them on the server, and Django still wraps it (the
    queries a test captures)."""
    # What connection.cursor() does before making its cursor, without making one to throw away.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    raw = _prepared_cursor_class()(connection.connection)
    return _BoundDebugWrapper(raw, connection) if connection.queries_logged else connection.make_cursor(raw)


class _BoundDebugWrapper(CursorDebugWrapper):
    """Records a statement bound on the server as Django records those of its server_side_binding
    option: with its parameters composed in (a prepared statement leaves Django's usual source of
    the text, the cursor's last client-bound query, empty)."""

    def execute(self, sql: Any, params: Any = None) -> Any:
        try:
            shown = self.db.ops.compose_sql(sql, params)
        except DataError:
            shown = None
        with self.debug_sql(shown, params):
            # CursorWrapper's own execute: Django's error wrapping and execute_wrapper()s.
            return super(CursorDebugWrapper, self).execute(sql, params)


@functools.cache
def _prepared_cursor_class() -> type:
    from psycopg import Cursor

    class PreparedCursor(Cursor[Any]):
        # Prepared from the first run (Django turns psycopg's automatic preparing off).
        def execute(
            self, query: Any, params: Any = None, *, prepare: bool | None = None, binary: bool | None = None
        ) -> Any:
            return super().execute(query, params, prepare=True, binary=binary)

    return PreparedCursor


def _pipeline(connection: BaseDatabaseWrapper, postgresql: bool) -> AbstractContextManager[Any]:
    if not postgresql:
        return nullcontext()
    from psycopg import Pipeline

    # libpq 14 and later; psycopg's binary package ships one.
    return connection.connection.pipeline() if Pipeline.is_supported() else nullcontext()


def _converted(
    row: Sequence[Any],
    converters: list[tuple[int, list[Callable[..., Any]], Any]],
    connection: BaseDatabaseWrapper,
) -> list[Any]:
    values = list(row)
    for position, functions, expression in converters:
        value = values[position]
        for function in functions:
            value = function(value, expression, connection)
        values[position] = value
    return values


def _load_timestamps_in_c(cursor: Any) -> None:
    # Registering psycopg's own loader class picks its C implementation, which gives the zone of the
    # connection (UTC, checked by the caller) as datetime.timezone.utc, as Django's loader does. The
    # cursor's adapters are its own copy: the rest of Django keeps its loader.
    from psycopg.types.datetime import TimestamptzLoader

    cursor.adapters.register_loader("timestamptz", TimestamptzLoader)
