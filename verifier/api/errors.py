"""API errors as JSON: every body has a "detail" message; a 400 also names the fields at fault.

Services raise DomainError; this handler turns its kind into 400/403/404/409, so no view has to
catch it. Django's refusals of a request body (larger than DATA_UPLOAD_MAX_MEMORY_SIZE, too many
fields) become a JSON 413 or 400 instead of Django's HTML error page. A path under /api/ that no
route matches (an unknown path, an id that is not a number) gets the same JSON 404 from
`page_not_found`, Django's handler404.
"""

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from core.errors import DomainError, ErrorKind

DOMAIN_ERROR_STATUS = {
    ErrorKind.INVALID: status.HTTP_400_BAD_REQUEST,
    ErrorKind.FORBIDDEN: status.HTTP_403_FORBIDDEN,
    ErrorKind.NOT_FOUND: status.HTTP_404_NOT_FOUND,
    ErrorKind.CONFLICT: status.HTTP_409_CONFLICT,
}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        set_rollback()
        body: dict[str, Any] = {"detail": exc.message}
        if exc.kind == ErrorKind.INVALID and exc.field:
            body[exc.field] = [exc.message]
        return Response(body, status=DOMAIN_ERROR_STATUS[exc.kind])
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return Response(
            {"detail": f"The request body is larger than {limit} bytes."},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, SuspiciousOperation):
        return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, ValidationError):
        response.data = _validation_body(response.data)
    return response


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's 404 page, except under /api/, where clients expect JSON like every other answer."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=status.HTTP_404_NOT_FOUND)
    return defaults.page_not_found(request, exception)


def _validation_body(errors: Any) -> dict[str, Any]:
    """DRF's field errors, plus a "detail" that names the first field at fault."""
    if not isinstance(errors, dict):
        errors = {"non_field_errors": errors if isinstance(errors, list) else [errors]}
    if "detail" in errors:
        return dict(errors)
    field, messages = next(iter(errors.items()), ("", []))
    message = _first_message(messages)
    detail = message if field in ("", "non_field_errors") else f"{field}: {message}"
    return {"detail": detail or "Invalid input.", **errors}


def _first_message(errors: Any) -> str:
    if isinstance(errors, dict):
        return next((_first_message(value) for value in errors.values()), "")
    if isinstance(errors, list):
        return next((_first_message(value) for value in errors), "")
    return str(errors)
