"""Small helpers shared by the admin's views."""

from collections.abc import Callable
from typing import Any, TypeVar, cast

from django.contrib import admin
from django.contrib.auth.models import User
from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

from claims.models import Claim

T = TypeVar("T")


def actor(request: HttpRequest) -> User:
    """The signed-in staff member: admin_view lets no one else reach the admin's views."""
    return cast(User, request.user)


def rule(claim: Claim, name: str, evaluate: Callable[[Claim], T]) -> T:
    """Evaluates a service rule once per claim instance: the admin asks for permissions many times
    while rendering one page."""
    cache = claim.__dict__.setdefault("_admin_rules", {})
    if name not in cache:
        cache[name] = evaluate(claim)
    return cache[name]


def safe_next(request: HttpRequest, default: str) -> str:
    """The `next` page a form asked to return to, if it is on this site; else `default`."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


# The largest value of a BigAutoField id.
MAX_RECORD_ID = 2**63 - 1


def record_id(value: str | None) -> int | None:
    """The id a query or form parameter names, or None unless it is plain ASCII digits within the
    range of an id column: str.isdigit() also accepts "²", and SQLite refuses integers past 64 bits."""
    if not value or not (value.isascii() and value.isdigit()):
        return None
    number = int(value)
    return number if 0 < number <= MAX_RECORD_ID else None


class RecordAdmin(admin.ModelAdmin):
    """A record only the services write: people read it, and nobody, superusers included, adds,
    edits or erases it."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
