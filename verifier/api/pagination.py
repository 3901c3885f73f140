"""Keyset cursor pages for the claim lists, newest first.

A cursor is a position in the ordering (timestamp, id), never an offset: a page holds the rows strictly
after (or, going back, strictly before) that position, so claims published while a client pages
through cannot shift a page, and claims sharing a timestamp are told apart by their id, so none is
skipped or repeated.
"""

import base64
import binascii
import json
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db.models import Model, Q, QuerySet
from django.db.models.query import ValuesIterable
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import APIView

from core.compiled_rows import ShapedRows, values_rows

# The largest value of the BigAutoField ids the lists page on.
MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class Position:
    """Where a page starts: after (`backwards` false) or before this timestamp and id, and whether
    the row at the position itself belongs to the page (the way back from an empty page)."""

    field: str
    moment: datetime
    pk: int
    backwards: bool = False
    inclusive: bool = False

    def encode(self) -> str:
        raw = json.dumps([self.field, self.moment.isoformat(), self.pk, self.backwards, self.inclusive])
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, cursor: str, *, field: str) -> "Position":
        """The position a cursor names; a 400 for anything encode() cannot have written."""
        invalid = ValidationError({"cursor": ["Invalid cursor; use the next or previous link."]})
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            cursor_field, moment, pk, backwards, inclusive = json.loads(raw)
            if not _is_id(pk) or not all(isinstance(flag, bool) for flag in (backwards, inclusive)):
                raise invalid
            position = cls(cursor_field, datetime.fromisoformat(moment), pk, backwards, inclusive)
            if position.moment.tzinfo is not None:
                # Python allows offsets that move a moment out of the years a database stores.
                position.moment.astimezone(UTC)
        except (binascii.Error, UnicodeDecodeError, TypeError, ValueError, OverflowError):
            raise invalid from None
        if position.field != field or position.moment.tzinfo is None:
            raise ValidationError({"cursor": ["This cursor belongs to another listing."]})
        return position


# The pages of lists named by a shape (KeysetCursorPagination.paginate_rows), by shape, ordering,
# size and direction.
_PAGES = ShapedRows()


def _rows(queryset: QuerySet) -> list:
    # The API pages values() rows, read as the rest of its pages (core.compiled_rows); the public
    # site pages model instances.
    if queryset._iterable_class is ValuesIterable:
        return values_rows(queryset)
    return list(queryset)


def _is_id(value: object) -> bool:
    """A primary key as encode() writes it: a JSON integer in the range of a 64-bit id column."""
    return type(value) is int and 0 < value <= MAX_ID


class KeysetCursorPagination(BasePagination):
    """Pages ordered by `view.list_ordering` == ("-<timestamp field>", "-id"), read by index seeks
    from a queryset of rows (`values()`) that include the timestamp and the id.

    Besides the `next` and `previous` links in the body, every page sends them as an RFC 8288 `Link`
    header (rel="next", rel="prev").
    """

    page_size = 20
    max_page_size = 100
    cursor_query_param = "cursor"
    page_size_query_param = "page_size"

    def paginate_queryset(
        self, queryset: QuerySet[Any] | Sequence[Any], request: Request, view: APIView | None = None
    ) -> list[Any]:
        if not isinstance(queryset, QuerySet):
            raise TypeError("Keyset pages are read from a queryset, not a list.")
        return self.paginate_rows(lambda: queryset, request, view, shape=None)

    def paginate_rows(
        self,
        rows: Callable[[], QuerySet[Any]],
        request: Request,
        view: APIView | None = None,
        *,
        shape: Hashable | None,
    ) -> list[Any]:
        """The page of the values() queryset `rows()` builds. `shape` names that queryset when it
        is the same for every request so named (a list without filters): its page's SQL is then
        compiled once per shape, size and direction, and `rows` is called only to compile it."""
        self.url = request.build_absolute_uri()
        self.field = self._ordering_field(view)
        self.size = self._page_size(request)
        cursor = request.query_params.get(self.cursor_query_param)
        position = Position.decode(cursor, field=self.field) if cursor else None
        self.next_position: Position | None = None
        self.previous_position: Position | None = None
        self._links: tuple[str | None, str | None] | None = None
        self.shape = shape
        self._build = rows
        if position is not None and position.backwards:
            return self._page_before(position)
        return self._page_after(position)

    def get_paginated_response(self, data: Any) -> Response:
        body = {"next": self.get_next_link(), "previous": self.get_previous_link(), "results": data}
        return self.with_link_header(Response(body))

    def get_next_link(self) -> str | None:
        return self._page_links()[0]

    def get_previous_link(self) -> str | None:
        return self._page_links()[1]

    def _page_links(self) -> tuple[str | None, str | None]:
        # Read twice a page, for its body and its Link header: made once.
        if self._links is None:
            self._links = (self._link(self.next_position), self._link(self.previous_position))
        return self._links

    def with_link_header(self, response: Response) -> Response:
        links = [
            f'<{url}>; rel="{rel}"'
            for url, rel in ((self.get_next_link(), "next"), (self.get_previous_link(), "prev"))
            if url
        ]
        if links:
            response["Link"] = ", ".join(links)
        return response

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        link = {"type": "string", "format": "uri", "nullable": True}
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {
                "next": {**link, "description": "The following (older) page; null on the last page."},
                "previous": {**link, "description": "The preceding (newer) page; null on the first page."},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        return [
            {
                "name": self.cursor_query_param,
                "in": "query",
                "required": False,
                "description": "Opaque position from a `next` or `previous` link.",
                "schema": {"type": "string"},
            },
            {
                "name": self.page_size_query_param,
                "in": "query",
                "required": False,
                "description": f"Results per page: {self.page_size} by default, "
                f"{self.max_page_size} at most.",
                "schema": {"type": "integer", "minimum": 1},
            },
        ]

    def _page_after(self, position: Position | None) -> list:
        field = self.field
        if position is None:
            rows = self._rows(("first",), lambda: self._first(self._build()))
        else:
            inclusive = position.inclusive
            rows = self._rows(
                ("after", inclusive),
                lambda moment, pk: self._beyond(
                    self._build(), moment, pk, inclusive=inclusive, backwards=False
                ),
                position.moment,
                position.pk,
            )
        page = rows[: self.size]
        if len(rows) > self.size:
            self.next_position = self._position(page[-1])
        if position is not None:
            if page:
                self.previous_position = self._position(page[0], backwards=True)
            else:
                # Back from an empty page: the page that ends with the row at the position.
                self.previous_position = Position(
                    field, position.moment, position.pk, backwards=True, inclusive=not position.inclusive
                )
        return page

    def _page_before(self, position: Position) -> list:
        field = self.field
        inclusive = position.inclusive
        rows = self._rows(
            ("before", inclusive),
            lambda moment, pk: self._beyond(self._build(), moment, pk, inclusive=inclusive, backwards=True),
            position.moment,
            position.pk,
        )
        page = list(reversed(rows[: self.size]))
        if len(rows) > self.size:
            self.previous_position = self._position(page[0], backwards=True)
        if page:
            self.next_position = self._position(page[-1])
        else:
            # Forward from an empty page: the page that starts with the row at the position.
            self.next_position = Position(
                field, position.moment, position.pk, inclusive=not position.inclusive
            )
        return page

    def _first(self, queryset: QuerySet) -> QuerySet:
        return queryset.order_by(f"-{self.field}", "-pk")[: self.size + 1]

    def _beyond(
        self, queryset: QuerySet, moment: datetime, pk: int, *, inclusive: bool, backwards: bool
    ) -> QuerySet:
        """The rows after the position (before it, `backwards`), nearest first: a page and one."""
        field = self.field
        side = "gt" if backwards else "lt"
        # The redundant bound lets the database seek the (timestamp, id) index to the position
        # instead of filtering every newer row.
        pk_bound = {f"pk__{side}e" if inclusive else f"pk__{side}": pk}
        beyond = queryset.filter(**{f"{field}__{side}e": moment}).filter(
            Q(**{f"{field}__{side}": moment}) | Q(**pk_bound)
        )
        ordering = (field, "pk") if backwards else (f"-{field}", "-pk")
        return beyond.order_by(*ordering)[: self.size + 1]

    def _rows(self, where: tuple[Any, ...], page: Callable[..., QuerySet], *position: Any) -> list:
        shape = self.shape
        if shape is None:
            return _rows(page(*position))
        # A page of a list whose query is the same for every request but for its position: its SQL
        # is compiled once (Django compiling it cost more than the database running it).
        return _PAGES.rows((shape, self.field, self.size, *where), page, *position)

    def _position(self, row: Mapping[str, Any] | Model, *, backwards: bool = False) -> Position:
        # The API pages values() rows; the public site pages model instances.
        if isinstance(row, Mapping):
            return Position(self.field, row[self.field], row["id"], backwards)
        return Position(self.field, getattr(row, self.field), row.pk, backwards)

    def _link(self, position: Position | None) -> str | None:
        if position is None:
            return None
        return replace_query_param(self.url, self.cursor_query_param, position.encode())

    def _page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None or raw == "":
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if size < 1:
            message = f"A whole number from 1 to {self.max_page_size}."
            raise ValidationError({self.page_size_query_param: [message]})
        return min(size, self.max_page_size)

    @staticmethod
    def _ordering_field(view: APIView | None) -> str:
        ordering = tuple(getattr(view, "list_ordering", ("-published_at", "-id")))
        if len(ordering) != 2 or not ordering[0].startswith("-") or ordering[1] != "-id":
            raise ValueError(f"Keyset pages need an ordering (-<timestamp>, -id), not {ordering!r}.")
        return ordering[0][1:]
