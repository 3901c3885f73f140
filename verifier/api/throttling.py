"""Request rates of the API (SPEC §5): anonymous clients by address (verifier.api.client_address),
token holders by account.

The rates are the settings API_THROTTLE_ANON and API_THROTTLE_USER ("120/minute", "none" for no
limit), read at every request. The counts live in the default cache, which every web process
shares when it is Redis.

DRF's own throttles keep a list of every request time per client and rewrite it on each request,
so their cost grows with the rate; these count requests in fixed windows instead: one counter per
client and window (a client may burst to twice its rate across a window boundary). No more than the
limit is ever admitted in a window, across all processes.

With Redis, each process leases blocks of a window's allowance and admits from memory
(core.rate_leases): usually no round trip per request, and a refusal can come early by at most the
small leases other processes hold unspent. With another cache each request is counted there, at
most two cache operations. When the cache is down the throttles let requests through
(core.cache_outage): a Redis outage must not take the API down with it.

Where requests are counted one by one, the response cache's WSGI layer (verifier.api.http_cache)
counts an anonymous request together with its cache lookup and leaves the count in the request's
environ under EARLY_COUNT: the throttle takes that count instead of counting the same request twice.
"""

from functools import lru_cache
from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from config.env import parse_rate
from core.cache_outage import cache_outages
from core.content_version import WindowCounter
from verifier.api.client_address import client_address

# The rate settings hold a few strings: parsed once each, not at every request.
_parsed_rate = lru_cache(maxsize=16)(parse_rate)

# A WSGI environ key, which no request header can set: (counter key, count) of this request.
EARLY_COUNT = "verifier.throttle_count"


class _WindowThrottle(SimpleRateThrottle):
    setting_name = ""

    def __init__(self) -> None:
        # SimpleRateThrottle reads its rate once, from a class attribute; this reads it per request.
        self.window_end = 0.0

    def get_rate(self) -> str | None:
        return getattr(settings, self.setting_name)

    def get_ident(self, request: Any) -> str:
        return client_address(request)

    def window_counter(self, request: Any, view: Any) -> tuple[WindowCounter, int] | None:
        """The counter of this client's current window and how many requests it allows; None when
        the request is not limited."""
        limit = _parsed_rate(self.get_rate())
        if limit is None:
            return None
        client_key = self.get_cache_key(request, view)
        if client_key is None:
            return None
        allowed, seconds = limit
        window = int(self.timer() // seconds)
        self.window_end = (window + 1) * seconds
        return WindowCounter(key=f"{client_key}:{window}", seconds=seconds), allowed

    def allow_request(self, request: Any, view: Any) -> bool:
        limited = self.window_counter(request, view)
        if limited is None:
            return True
        counter, allowed = limited
        early: tuple[str, int] | None = request.META.get(EARLY_COUNT)
        if early is not None and early[0] == counter.key:
            return early[1] <= allowed
        try:
            return counter.admit(allowed)
        except Exception as error:  # the cache is down: serve the request rather than fail it
            cache_outages.record(what="a request was let through the throttle", error=error)
            return True

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
