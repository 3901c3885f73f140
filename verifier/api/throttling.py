"""Request rates of the API (SPEC §5): anonymous clients by address, token holders by account.

The rates are the settings API_THROTTLE_ANON and API_THROTTLE_USER ("120/minute", "none" for no
limit), read at every request. The counts live in the default cache, which every web process
shares when it is Redis.

DRF's own throttles keep a list of every request time per client and rewrite it on each request,
so their cost grows with the rate; these count requests in fixed windows instead: one counter per
client and window, at most two cache operations per request whatever the rate (a client may burst to
twice its rate across a window boundary).
"""

from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from config.env import parse_rate


class _WindowThrottle(SimpleRateThrottle):
    setting_name = ""

    def __init__(self) -> None:
        # SimpleRateThrottle reads its rate once, from a class attribute; this reads it per request.
        self.window_end = 0.0

    def get_rate(self) -> str | None:
        return getattr(settings, self.setting_name)

    def allow_request(self, request: Any, view: Any) -> bool:
        limit = parse_rate(self.get_rate())
        if limit is None:
            return True
        client_key = self.get_cache_key(request, view)
        if client_key is None:
            return True
        allowed, seconds = limit
        now = self.timer()
        window = int(now // seconds)
        self.window_end = (window + 1) * seconds
        key = f"{client_key}:{window}"
        try:
            count = self.cache.incr(key)
        except ValueError:
            # First request of the window; the counter expires with it.
            count = 1 if self.cache.add(key, 1, timeout=seconds + 1) else self.cache.incr(key)
        return count <= allowed

    def wait(self) -> float:
        return max(0.0, self.window_end - self.timer())


class AnonThrottle(_WindowThrottle):
    """Requests without credentials, counted per client address."""

    scope = "anon"
    setting_name = "API_THROTTLE_ANON"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        # The response cache asks before Django's authentication has run: no `user` there means
        # a request without credentials.
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class ClientThrottle(_WindowThrottle):
    """Requests with a token (or a session), counted per account: the higher rate."""

    scope = "user"
    setting_name = "API_THROTTLE_USER"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if not request.user or not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}
