"""Conditional GET and a shared cache of rendered public responses (SPEC §5).

Both are keyed on the public content version (core.content_version), which the services move
forward whenever what the public can read changes. The public read endpoints (decorated with
`public_read`) are validated and cached against it:

- the ETag is the version plus a digest of the request (URL, Accept, settings), and Last-Modified is
  when the version last moved, so a conditional request is answered with 304 before the view runs;
- a rendered 200 is kept in Django's cache with the version it was rendered under, and served to
  requests without credentials before Django handles them: by `PublicCacheApplication`, the WSGI
  layer in front of Django's handler (config.wsgi), or, where Django is called without it (the test
  client, runserver), by `PublicCacheMiddleware`, the outermost middleware. Requests with a token are
  served it by `public_read`, after authentication and throttling. A new version makes every older
  entry unusable at once.

The WSGI layer reads the version and the entry in one cache round trip (core.content_version),
with the client's anonymous request counter where requests are counted one by one and the path is
rate-limited, and hands what it read to the middleware and the throttle when it cannot answer, so
that nothing is looked up or counted twice. Where each process holds the version in memory, kept
exact by the cache (Redis: core.content_version.public_content_version_in_memory), it also keeps
the entries it read under the current version: a request for one of them is answered without a
round trip, the anonymous rate admitting it from the process's lease of the client's allowance
(core.rate_leases), which takes a round trip only when a new lease is needed.

Staff can read drafts, whose changes do not move the version: their responses get an ETag computed
from the body and are never cached.
"""

import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import wraps
from typing import TYPE_CHECKING, Any, NamedTuple

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import SuspiciousOperation
from django.core.handlers.wsgi import WSGIRequest
from django.core.signals import setting_changed
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.utils.cache import get_conditional_response
from django.utils.http import http_date, parse_etags
from django.views.decorators.http import conditional_page
from rest_framework.exceptions import Throttled
from rest_framework.request import Request

from core.cache_outage import cache_outages
from core.content_version import (
    public_content_version,
    public_content_version_and_entry,
    public_content_version_in_memory,
)
from verifier.api.throttling import EARLY_COUNT, AnonThrottle

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

logger = logging.getLogger(__name__)

ENTRY_PREFIX = "verifier:public-response:"
# Bump when the shape of cached entries or of the rendered output changes across a deployment.
FORMAT = "2"
# Set by the views; replaced on every hit.
PER_REQUEST_HEADERS = frozenset({"etag", "last-modified", "date", "content-length", "set-cookie"})
_VERSION_ATTR = "_public_content_version"
_LOOKED_UP_ATTR = "_public_cache_looked_up"
_TO_STORE_ATTR = "_public_cache_store"
# A WSGI environ key, which no request header can set: the version PublicCacheApplication read
# (None: the cache could not be read) when it could not answer the request itself.
EARLY_LOOKUP = "verifier.public_cache_version"
# How many paths PublicCacheApplication remembers as rate-limited, and how many request URLs with
# their entry keys, before it starts over.
THROTTLED_PATHS_KEPT = 10_000
# How many entries of the current version each process keeps in memory (a list page is ~55 KB).
RECENT_ENTRIES_KEPT = 256


@dataclass(frozen=True)
class Validators:
    etag: str
    last_modified: int

    @classmethod
    def of(cls, version: int, key: str) -> "Validators":
        changed = version // 1_000_000
        # Two changes within one second share that second as their Last-Modified, so a copy made
        # during the second a change happened claims to be one second older than it.
        if time.time() < changed + 1:
            changed -= 1
        return cls(etag=f'W/"{version:x}-{key[-16:]}"', last_modified=changed)

    def apply(self, response: HttpResponseBase) -> None:
        response["ETag"] = self.etag
        response["Last-Modified"] = http_date(self.last_modified)

    def conditional(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        """304 when the request's validators match (RFC 9110 §13.2.2), else `response`."""
        answer = get_conditional_response(
            request,
            etag=self.etag,
            last_modified=self.last_modified,
            response=response,  # type: ignore[arg-type]  # any response; only its headers are read
        )
        return answer if answer is not None else response

    def matches_if_none_match(self, request: HttpRequest) -> bool:
        """The request names this ETag, so it holds the current representation (which exists: the
        ETag was sent with a 200 under the same version). "*" is left to the rendered response."""
        return self.named_in(request.META)

    def named_in(self, meta: Mapping[str, Any]) -> bool:
        """`matches_if_none_match` of the request with these META (or WSGI environ) headers."""
        tags = parse_etags(meta.get("HTTP_IF_NONE_MATCH", ""))
        return self.etag.removeprefix("W/") in (tag.removeprefix("W/") for tag in tags)

    def not_modified(self, request: HttpRequest) -> HttpResponseBase:
        response = HttpResponse()
        self.apply(response)
        return self.conditional(request, response)


class Entry(NamedTuple):
    version: int
    status: int
    headers: tuple[tuple[str, str], ...]
    content: bytes
    throttled: bool
    # When the cache drops it (time.time()): a copy in process memory lives no longer.
    expires: float = 0.0


def entry_key(request: HttpRequest) -> str:
    """The cache key of the public representation the request asks for."""
    material = "\n".join(
        (
            FORMAT,
            request.build_absolute_uri(),
            request.META.get("HTTP_ACCEPT", ""),
            settings.PUBLIC_BASE_URL,
            settings.VERIFIER_ORG_NAME,
            settings.VERIFIER_ORG_URL,
        )
    )
    return ENTRY_PREFIX + hashlib.blake2b(material.encode(), digest_size=16).hexdigest()


def _caching_enabled() -> bool:
    return settings.API_CACHE_SECONDS > 0


def _response_from(entry: Entry) -> HttpResponse:
    response = HttpResponse(entry.content, status=entry.status)
    for name, value in entry.headers:
        response[name] = value
    response["Content-Length"] = str(len(entry.content))
    return response


def _entry_of(response: HttpResponseBase, version: int, throttled: bool) -> Entry | None:
    if response.status_code != 200 or response.streaming or response.cookies:
        return None
    assert isinstance(response, HttpResponse)
    headers = tuple(
        (name, value) for name, value in response.items() if name.lower() not in PER_REQUEST_HEADERS
    )
    expires = time.time() + settings.API_CACHE_SECONDS
    return Entry(version, response.status_code, headers, response.content, throttled, expires)


def _serve(request: HttpRequest, entry: Entry, key: str) -> HttpResponseBase:
    validators = Validators.of(entry.version, key)
    response = _response_from(entry)
    validators.apply(response)
    return validators.conditional(request, response)


class Answer(NamedTuple):
    """A WSGI response: status line, headers, body."""

    status: str
    headers: list[tuple[str, str]]
    body: bytes


# The headers a 304 keeps of its 200 (RFC 9110 §15.4.5), as django.utils.cache copies them.
NOT_MODIFIED_HEADERS = frozenset(
    {"cache-control", "content-location", "date", "etag", "expires", "last-modified", "vary"}
)
# Validators whose evaluation is left to Django (_serve): they are rare on this path.
_OTHER_VALIDATORS = ("HTTP_IF_MATCH", "HTTP_IF_UNMODIFIED_SINCE", "HTTP_IF_MODIFIED_SINCE")


def answer_from_entry(meta: Mapping[str, Any], entry: Entry, key: str) -> Answer | None:
    """The 200 of a request (its META, or its WSGI environ) without validators, or the 304 of one
    whose If-None-Match names the entry's ETag, made straight from the cached entry: what _serve
    answers, without building a request or response object and running Django's conditional
    evaluation on it. None for anything else (other validators, an If-None-Match that does not
    match), which _serve answers."""
    if entry.status != 200 or any(name in meta for name in _OTHER_VALIDATORS):
        return None
    validators = Validators.of(entry.version, key)
    stamped = [("ETag", validators.etag), ("Last-Modified", http_date(validators.last_modified))]
    if "HTTP_IF_NONE_MATCH" in meta:
        if not validators.named_in(meta):
            return None
        kept = [(name, value) for name, value in entry.headers if name.lower() in NOT_MODIFIED_HEADERS]
        return Answer("304 Not Modified", kept + stamped, b"")
    length = [("Content-Length", str(len(entry.content)))]
    return Answer("200 OK", [*entry.headers, *length, *stamped], entry.content)


def _has_credentials(request: HttpRequest) -> bool:
    return "HTTP_AUTHORIZATION" in request.META or settings.SESSION_COOKIE_NAME in request.COOKIES


class PublicCacheMiddleware:
    """Serves cached public responses to requests without credentials, before anything else runs,
    and stores the responses `public_read` marked once the whole stack has added its headers."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.method != "GET" or _has_credentials(request) or not _caching_enabled():
            return self._finish(request, self.get_response(request))
        if EARLY_LOOKUP in request.META:
            # PublicCacheApplication looked it up already and found nothing to serve.
            early_version: int | None = request.META[EARLY_LOOKUP]
            if early_version is None:
                return self.get_response(request)
            setattr(request, _VERSION_ATTR, early_version)
            setattr(request, _LOOKED_UP_ATTR, True)
            return self._finish(request, self.get_response(request))
        key = entry_key(request)
        try:
            version, entry, _ = public_content_version_and_entry(key)
        except Exception as error:
            cache_outages.record(what="a response was rendered without the response cache", error=error)
            return self.get_response(request)
        setattr(request, _VERSION_ATTR, version)
        setattr(request, _LOOKED_UP_ATTR, True)
        if entry is None or entry.version != version:
            return self._finish(request, self.get_response(request))
        if entry.throttled:
            refusal = _anonymous_throttle_refusal(request)
            if refusal is not None:
                return refusal
        return _serve(request, entry, key)

    def _finish(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        marked: tuple[str, int, bool] | None = getattr(response, _TO_STORE_ATTR, None)
        if marked is None:
            return response
        key, version, throttled = marked
        entry = _entry_of(response, version, throttled) if request.method == "GET" else None
        if entry is not None and _caching_enabled():
            try:
                cache.set(key, entry, timeout=settings.API_CACHE_SECONDS)
            except Exception as error:
                cache_outages.record(what="a rendered response was not stored", error=error)
        # If-Modified-Since and "If-None-Match: *" are answered once the response is known to exist.
        return Validators.of(version, key).conditional(request, response)


def _anonymous_throttle_refusal(request: HttpRequest) -> HttpResponse | None:
    throttle = AnonThrottle()
    if throttle.allow_request(request, None):
        return None
    return _throttled(throttle.wait())


def _throttled(wait: float) -> HttpResponse:
    # The body and header DRF sends for the same refusal.
    response = JsonResponse({"detail": str(Throttled(wait).detail)}, status=429)
    response["Retry-After"] = str(max(1, round(wait)))
    return response


class _RecentEntries:
    """The entries this process read from the cache under the current version, for the WSGI layer
    to answer from memory while the version (held in memory, exact) stays the same. An entry of the
    current version is the response Django would render now, so only the version needs invalidating;
    each copy still lives no longer than its original in the cache (Entry.expires)."""

    def __init__(self) -> None:
        self.version = 0
        self.entries: dict[str, Entry] = {}

    def get(self, key: str, version: int) -> Entry | None:
        entry = self.entries.get(key) if version == self.version else None
        return entry if entry is not None and entry.expires > time.time() else None

    def keep(self, key: str, entry: Entry) -> None:
        if entry.version < self.version:
            return
        if entry.version > self.version or len(self.entries) >= RECENT_ENTRIES_KEPT:
            # Replaced rather than cleared: a thread reading the old dict keeps a consistent view.
            self.version, self.entries = entry.version, {}
        self.entries[key] = entry


class _Environ:
    """A request's WSGI environ as the throttle reads it (`META`, no `user`: no credentials), where
    building a WSGIRequest would cost more than the answer."""

    def __init__(self, environ: "WSGIEnvironment") -> None:
        self.META = environ


# What request.build_absolute_uri() and the Accept header, which entry_key reads, are made of in
# the environ (django.http.request, django.core.handlers.wsgi), besides the settings.
_KEY_MATERIAL = (
    "wsgi.url_scheme",
    "HTTP_HOST",
    "SERVER_NAME",
    "SERVER_PORT",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "SCRIPT_NAME",
    "SCRIPT_URL",
    "REDIRECT_URL",
    "PATH_INFO",
    "QUERY_STRING",
    "HTTP_ACCEPT",
)
# (entry key, path) of the URLs seen, by their environ material; None where Django refuses the Host.
_keys_by_material: dict[tuple[Any, ...], tuple[str, str] | None] = {}


def _key_material_names() -> tuple[str, ...]:
    header = settings.SECURE_PROXY_SSL_HEADER
    return _KEY_MATERIAL if header is None else (*_KEY_MATERIAL, header[0])


def _forget_keys(**kwargs: Any) -> None:
    _keys_by_material.clear()


# The key also depends on settings (ALLOWED_HOSTS, the proxy headers trusted, the site's name).
setting_changed.connect(_forget_keys)


def _public_key(environ: "WSGIEnvironment") -> tuple[str, str] | None:
    """The entry key and path of a request without credentials; None for one with credentials or
    whose Host Django refuses. Without cookies, from the environ: entry_key(request) of the first
    request for the same URL, without building a WSGIRequest again."""
    if "HTTP_AUTHORIZATION" in environ:
        return None
    if environ.get("HTTP_COOKIE"):  # perhaps a session: Django parses it, every time
        return _request_key(WSGIRequest(dict(environ)))
    material = tuple(environ.get(name) for name in _key_material_names())
    try:
        return _keys_by_material[material]
    except KeyError:
        pass
    found = _request_key(WSGIRequest(dict(environ)))
    if len(_keys_by_material) >= THROTTLED_PATHS_KEPT:
        _keys_by_material.clear()
    _keys_by_material[material] = found
    return found


def _request_key(request: HttpRequest) -> tuple[str, str] | None:
    if _has_credentials(request):
        return None
    try:
        return entry_key(request), request.path
    except SuspiciousOperation:  # a Host not allowed: Django refuses the request
        return None


class PublicCacheApplication:
    """The WSGI layer in front of Django's handler: a GET without credentials whose response is
    cached is answered (200, 304 or the anonymous rate limit's 429) before Django's request
    handling, sessions, authentication, CSRF and DRF run: from process memory when this process
    read the entry under the current version (with Redis, the anonymous rate's lease then takes a
    round trip now and then, where the path is rate-limited), else from one cache round trip.

    Whether a path is rate-limited shows in its cached entries (DRF views' are); once this process
    has seen one, a request counted one by one (a cache that cannot lease) is counted in the same
    round trip as the lookup. Everything else, and
    every request it cannot answer, goes to Django, with what was read and counted (EARLY_LOOKUP,
    EARLY_COUNT)."""

    def __init__(self, application: "WSGIApplication") -> None:
        self.application = application
        self.throttled_paths: set[str] = set()
        self.recent = _RecentEntries()

    def __call__(self, environ: "WSGIEnvironment", start_response: "StartResponse") -> Iterable[bytes]:
        response = self._early_response(environ)
        if response is None:
            return self.application(environ, start_response)
        if isinstance(response, Answer):
            start_response(response.status, response.headers)
            return [response.body]
        assert isinstance(response, HttpResponse)  # a 200, 304 or 429 with its body in memory
        start_response(f"{response.status_code} {response.reason_phrase}", list(response.items()))
        return [response.content]

    def _early_response(self, environ: "WSGIEnvironment") -> "HttpResponseBase | Answer | None":
        if environ.get("REQUEST_METHOD") != "GET" or not _caching_enabled():
            return None
        found = _public_key(environ)
        if found is None:
            return None
        key, path = found
        try:
            version = public_content_version_in_memory()
        except Exception as error:
            cache_outages.record(what="a response was rendered without the response cache", error=error)
            environ[EARLY_LOOKUP] = None
            return None
        entry = None if version is None else self.recent.get(key, version)
        if entry is None:
            return self._looked_up(environ, key, path)
        if entry.throttled:
            # Counted as DRF's throttle counts (fails open when the cache is down).
            throttle = AnonThrottle()
            if not throttle.allow_request(_Environ(environ), None):
                return _throttled(throttle.wait())
        return answer_from_entry(environ, entry, key) or _serve(WSGIRequest(dict(environ)), entry, key)

    def _looked_up(
        self, environ: "WSGIEnvironment", key: str, path: str
    ) -> "HttpResponseBase | Answer | None":
        """The answer from one cache round trip: version, entry and the anonymous rate's count."""
        throttle = AnonThrottle()
        limited = throttle.window_counter(_Environ(environ), None) if path in self.throttled_paths else None
        if limited is not None and limited[0].leased:
            # Admitted below from this process's lease, usually without a round trip.
            limited = None
        try:
            version, entry, count = public_content_version_and_entry(
                key, counter=None if limited is None else limited[0]
            )
        except Exception as error:
            cache_outages.record(what="a response was rendered without the response cache", error=error)
            environ[EARLY_LOOKUP] = None
            return None
        environ[EARLY_LOOKUP] = version
        if limited is not None and count is not None:
            environ[EARLY_COUNT] = (limited[0].key, count)
        if entry is None or entry.version != version:
            return None
        self.recent.keep(key, entry)
        if entry.throttled:
            if limited is None or count is None:
                self._remember_throttled(path)
                if not throttle.allow_request(_Environ(environ), None):
                    return _throttled(throttle.wait())
            elif count > limited[1]:
                return _throttled(throttle.wait())
        return answer_from_entry(environ, entry, key) or _serve(WSGIRequest(dict(environ)), entry, key)

    def _remember_throttled(self, path: str) -> None:
        if len(self.throttled_paths) >= THROTTLED_PATHS_KEPT:
            self.throttled_paths.clear()
        self.throttled_paths.add(path)


def _is_private(request: HttpRequest | Request) -> bool:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    # API token holders without staff rights read exactly what anonymous clients read; a signed-in
    # person on a page is served fresh, in case the page greets them.
    return bool(user.is_staff) or not isinstance(request, Request)


def public_read(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Conditional GET for a read view, and the response cache for its public responses.

    For a DRF view, decorate the handler (`method_decorator(public_read, name="list")`), so that
    authentication and throttling have run when it is called.
    """

    @wraps(view)
    def wrapper(request: HttpRequest | Request, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method not in ("GET", "HEAD"):
            return view(request, *args, **kwargs)
        version = None if _is_private(request) else _request_version(request)
        if version is None:
            # ETag from the rendered body, as Django's ConditionalGetMiddleware does.
            return conditional_page(view)(request, *args, **kwargs)
        key = entry_key(request)
        if not getattr(request, _LOOKED_UP_ATTR, False):
            entry = _cached_entry(key, version)
            if entry is not None:
                return _serve(request, entry, key)
        validators = Validators.of(version, key)
        if validators.matches_if_none_match(request):
            return validators.not_modified(request)
        response = view(request, *args, **kwargs)
        if response.status_code == 200:
            validators.apply(response)
            setattr(response, _TO_STORE_ATTR, (key, version, isinstance(request, Request)))
        return response

    return wrapper


def _request_version(request: HttpRequest | Request) -> int | None:
    version: int | None = getattr(request, _VERSION_ATTR, None)
    return version if version is not None else public_content_version()


def _cached_entry(key: str, version: int) -> Entry | None:
    if not _caching_enabled():
        return None
    try:
        entry = cache.get(key)
    except Exception as error:
        cache_outages.record(what="a response was rendered without the response cache", error=error)
        return None
    return entry if entry is not None and entry.version == version else None
