"""Refusals every page, admin view and API endpoint shares: answered before a view can fail on
them, or in place of the 500 a database outage would be."""

import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.utils.html import escape

from verifier.api.client_address import client_address

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"
# How long a client should wait before trying again while the database does not answer.
DATABASE_RETRY_AFTER_SECONDS = 10


def error_response(
    request: HttpRequest, *, status: int, detail: str, field: str | None = None
) -> HttpResponse:
    """An error as the rest of the path answers errors: JSON under /api/ ("detail", and the field at
    fault as the API's 400s name it), else a page."""
    if request.path.startswith(API_PREFIX):
        body: dict[str, object] = {"detail": f"{field}: {detail}" if field else detail}
        if field:
            body[field] = [detail]
        return JsonResponse(body, status=status)
    page = f"<!doctype html><title>{status}</title><h1>{status}</h1><p>{escape(detail)}</p>"
    return HttpResponse(page, status=status)


class RefuseNulMiddleware:
    """A NUL character in the path or a query parameter is a 400: PostgreSQL cannot compare a text
    column with a string holding one, so every filter, search and lookup would fail with a 500."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if "\x00" in request.path:
            return error_response(request, status=400, detail="The address contains a NUL character.")
        for name, values in request.GET.lists():
            if "\x00" in name or any("\x00" in value for value in values):
                return error_response(
                    request, status=400, detail="Contains a NUL character.", field=name.replace("\x00", "")
                )
        return self.get_response(request)


class DatabaseUnavailableMiddleware:
    """A database that cannot be reached (down, restarting, a connection dropped, SQLite's write
    lock held too long) is a 503 with Retry-After, JSON under /api/, never a 500 traceback."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        # The driver's own errors too: Django lets one through where it closes a server-side cursor
        # (QuerySet.iterator()) on a connection that was cut.
        driver = connection.Database  # type: ignore[attr-defined]  # each backend sets it; not in the stubs
        unavailable = (OperationalError, InterfaceError, driver.OperationalError, driver.InterfaceError)
        if not isinstance(exception, unavailable):
            return None
        logger.warning(
            "Database unavailable for %s %s from %s: %s: %s",
            request.method, request.path, client_address(request), type(exception).__name__, exception,
        )
        response = error_response(
            request, status=503, detail="The database is unavailable; try again shortly."
        )
        response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
        return response
