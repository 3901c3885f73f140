"""Paging an admin list over a table of hundreds of thousands of rows in a fixed number of cheap
queries, however deep the page and whatever the filters.

Django's paginator counts every matching row (a scan of the table, or of the filter's whole result)
and fetches a page with OFFSET, which makes the database compute everything the list shows (its
annotations' subqueries) for every row it skips. This one counts only as far as a few pages past the
page asked for, taking PostgreSQL's planner estimate beyond that, and fetches a page's primary keys
first (an index scan however deep), then the rows of those keys with everything the list shows.
A list short enough to show whole is fetched with a LIMIT of its count.
"""

import json
from functools import cached_property
from typing import Any

from django.contrib.admin.views.main import PAGE_VAR, ChangeList
from django.core.paginator import Page, Paginator
from django.db import connections
from django.db.models import QuerySet
from django.http import HttpRequest

# How many pages past the one asked for are counted exactly: the pages the admin links to.
PAGES_COUNTED_AHEAD = 10


class LargeTablePaginator(Paginator):
    """For a QuerySet whose ordering ends on a unique column (the admin's change list adds the
    primary key), so that a page's rows are the same in both of its queries."""

    object_list: QuerySet[Any]

    def __init__(
        self, object_list: QuerySet[Any], per_page: int, *args: Any, page_asked: int = 1, **kwargs: Any
    ) -> None:
        super().__init__(object_list, per_page, *args, **kwargs)
        self.page_asked = max(1, page_asked)

    @cached_property
    def count(self) -> int:
        """Exact up to a few pages past the page asked for; beyond that, at least that many and
        the planner's estimate when it is higher."""
        enough = (self.page_asked + PAGES_COUNTED_AHEAD) * self.per_page + 1
        keys = self.object_list.order_by().values("pk")
        counted = keys[:enough].count()
        if counted < enough:
            return counted
        return max(counted, estimated_rows(keys))

    def page(self, number: Any) -> Page:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        keys = list(self.object_list.values_list("pk", flat=True)[bottom:top])
        return Page(self.object_list.filter(pk__in=keys), number, self)


def estimated_rows(queryset: QuerySet[Any]) -> int:
    """How many rows the query returns: PostgreSQL's planner estimate (no rows read), elsewhere
    an exact count."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return queryset.count()
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        (plan,) = cursor.fetchone()
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


class LargeTableChangeList(ChangeList):
    """For the change list of a ModelAdmin with LargeTablePaging."""

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        if self.multi_page and not (self.show_all and self.can_show_all):
            return
        # Django shows a list this short (one page, or all of it) straight from the filtered query,
        # with no LIMIT: PostgreSQL then costs it for every row of its estimate, the list's
        # subqueries included, and past a cost compiles it with JIT (140 ms for a search finding
        # nothing among 100,000 claims). The count of a list this short is exact (the paginator
        # counts ten pages past the one asked for), so the LIMIT leaves out no row it counted; a
        # count of 0 needs no query at all.
        self.result_list = self.result_list[: self.result_count]


class LargeTablePaging:
    """For a ModelAdmin of a big table: its change list pages with LargeTablePaginator."""

    def get_paginator(
        self,
        request: HttpRequest,
        queryset: QuerySet[Any],
        per_page: int,
        orphans: int = 0,
        allow_empty_first_page: bool = True,
    ) -> LargeTablePaginator:
        try:
            page_asked = int(request.GET.get(PAGE_VAR, 1))
        except ValueError:
            page_asked = 1
        return LargeTablePaginator(
            queryset, per_page, orphans, allow_empty_first_page, page_asked=page_asked
        )
