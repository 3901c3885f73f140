"""Small helpers shared by the claim admin's views."""

from collections.abc import Callable
from typing import TypeVar, cast

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
