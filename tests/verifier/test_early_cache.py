"""The response cache's WSGI layer (verifier.api.http_cache.PublicCacheApplication): what it answers
before Django's handler runs, and every guarantee of the cache kept there.

Each test runs twice: on the cache the settings configure (local memory with SQLite, Redis on the
PostgreSQL pair) and on a private Redis server, where the lookup and the throttle's count share one
pipelined round trip (config.cache).
"""

import os
import subprocess
import sys
import time
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler, WSGIRequest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client, RequestFactory
from redis import Redis

from core.cache_outage import cache_outages
from core.content_version import public_content_changed, public_content_version_in_memory
from core.rate_leases import counts_by_lease
from tests.processes import RedisProcess
from verifier.api.http_cache import (
    Answer,
    Entry,
    PublicCacheApplication,
    Validators,
    _public_key,
    _serve,
    answer_from_entry,
    entry_key,
)
from verifier.services.claims import claim_create

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("queued")]

CLAIMS = "/api/v1/claims/"

needs_redis = pytest.mark.skipif(
    not RedisProcess.available() and not os.environ.get("CI"),
    reason="needs redis-server on PATH (always present in CI, where its absence fails the test)",
)


@pytest.fixture(scope="module")
def private_redis():
    redis = RedisProcess()
    redis.start()
    yield redis
    redis.stop()


def redis_cache(url: str) -> dict:
    return {
        "default": {
            "BACKEND": "config.cache.ReusedClientRedisCache",
            "LOCATION": url,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }


@pytest.fixture(params=["configured cache", pytest.param("private redis", marks=needs_redis)])
def cache_in_use(request, settings):
    if request.param == "private redis":
        working = settings.CACHES
        settings.CACHES = redis_cache(request.getfixturevalue("private_redis").url)
        cache.clear()
        yield request.param
        cache.clear()
        # Back before the suite's own fixtures clear the cache.
        settings.CACHES = working
    else:
        yield request.param


class DjangoHandler:
    """Django's own WSGI handler, counting the requests that reach it."""

    def __init__(self) -> None:
        self.handler = WSGIHandler()
        self.reached = 0

    def __call__(self, environ, start_response):
        self.reached += 1
        return self.handler(environ, start_response)


@pytest.fixture
def django_handler(cache_in_use) -> DjangoHandler:
    return DjangoHandler()


@pytest.fixture
def app(django_handler) -> PublicCacheApplication:
    return PublicCacheApplication(django_handler)


def get(app, path: str, **headers: Any) -> tuple[int, dict[str, str], bytes]:
    """A GET through the WSGI application, as gunicorn calls it."""
    environ = RequestFactory().get(path, **headers).environ
    # As a WSGI server passes the path (PEP 3333): its bytes decoded as ISO-8859-1, which building
    # the request above replaced with the decoded path.
    environ["PATH_INFO"] = unquote_to_bytes(urlsplit(path).path).decode("iso-8859-1")
    answered: dict = {}

    def start_response(status, response_headers, exc_info=None):
        answered["status"], answered["headers"] = int(status.split()[0]), dict(response_headers)

    # As Django's test client does: the test's transaction keeps its connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        chunks = app(environ, start_response)
        body = b"".join(chunks)
        if hasattr(chunks, "close"):
            chunks.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return answered["status"], answered["headers"], body


def anonymous_count() -> int | None:
    window = int(time.time() // 60)
    return cache.get(f"throttle_anon_127.0.0.1:{window}")


@pytest.fixture
def one_rate_window():
    """Starts the test well inside a minute: the anonymous rate counts per minute, and a test that
    crossed into the next one would read a new, smaller counter."""
    into_the_minute = time.time() % 60
    if into_the_minute > 45:
        time.sleep(60 - into_the_minute + 0.1)


def test_a_cached_response_and_its_304s_are_answered_before_django(
    app, django_handler, published_claim, settled
):
    status, headers, body = get(app, CLAIMS)

    again = get(app, CLAIMS)
    by_etag = get(app, CLAIMS, HTTP_IF_NONE_MATCH=headers["ETag"])
    by_date = get(app, CLAIMS, HTTP_IF_MODIFIED_SINCE=headers["Last-Modified"])

    assert status == 200
    assert again[0] == 200 and again[2] == body
    assert again[1]["ETag"] == headers["ETag"]
    assert again[1]["Content-Type"] == headers["Content-Type"]
    assert (by_etag[0], by_etag[2], by_etag[1]["ETag"]) == (304, b"", headers["ETag"])
    assert by_date[0] == 304
    assert django_handler.reached == 1


def test_requests_with_credentials_never_use_the_anonymous_entry(
    app, django_handler, client_for, fact_checker, published_claim
):
    claim_create(actor=fact_checker, text="A draft only staff can read", claimant_name="Iran")
    url = f"{CLAIMS}?status=draft,published"
    token = client_for(fact_checker)._credentials["HTTP_AUTHORIZATION"]
    signed_in = Client()
    signed_in.force_login(fact_checker)
    cookie_name = django_settings.SESSION_COOKIE_NAME
    session = f"{cookie_name}={signed_in.cookies[cookie_name].value}"

    anonymous = get(app, url)
    with_token = get(app, url, HTTP_AUTHORIZATION=token)
    with_session = get(app, url, HTTP_COOKIE=session)
    anonymous_again = get(app, url)

    assert django_handler.reached == 3
    assert anonymous_again[2] == anonymous[2]
    assert b"A draft only staff can read" not in anonymous[2]
    assert b"A draft only staff can read" in with_token[2]
    assert b"A draft only staff can read" in with_session[2]


@pytest.mark.usefixtures("one_rate_window")
def test_answers_before_django_count_against_the_anonymous_rate(
    app, django_handler, settings, published_claim
):
    settings.API_THROTTLE_ANON = "3/minute"

    statuses = [get(app, CLAIMS)[0] for _ in range(4)]
    refused = get(app, CLAIMS)

    assert statuses == [200, 200, 200, 429]
    assert refused[0] == 429 and refused[1]["Retry-After"]
    assert b"Request was throttled." in refused[2]
    assert django_handler.reached == 1
    # Counted one by one, refusals count too; leased (Redis), the counter is what was granted, which
    # never passes the limit (core.rate_leases).
    assert anonymous_count() == (3 if counts_by_lease() else 5)


@pytest.mark.usefixtures("one_rate_window")
def test_a_request_counted_with_the_lookup_is_not_counted_again(
    app, django_handler, settings, make_published_claim
):
    # A fifth request is refused: one of the first four counted twice would refuse the fourth.
    settings.API_THROTTLE_ANON = "4/minute"
    make_published_claim()
    get(app, CLAIMS)  # rendered: counted by DRF
    get(app, CLAIMS)  # from the cache: counted, and the path is known to be rate-limited from now on

    make_published_claim()
    rendered = get(app, CLAIMS)  # counted with the lookup (or leased), which missed; DRF takes that
    from_cache = get(app, CLAIMS)  # counted with the lookup, or leased
    counted = anonymous_count()
    refused = get(app, CLAIMS)

    assert (rendered[0], from_cache[0], refused[0]) == (200, 200, 429)
    assert django_handler.reached == 2
    assert counted == 4


@pytest.mark.parametrize("path", [f"{CLAIMS}\u0100/", "/claims/\u00fcber/"])
def test_a_path_beyond_ascii_reaches_django_as_sent(app, path):
    assert get(app, path)[0] == 404
    assert get(app, path)[0] == 404


def test_a_publish_is_visible_in_the_very_next_answer(app, make_published_claim):
    first = make_published_claim()
    before = get(app, CLAIMS)

    second = make_published_claim()
    after = get(app, CLAIMS)
    revalidated = get(app, CLAIMS, HTTP_IF_NONE_MATCH=before[1]["ETag"])

    assert f'"id":{second.pk}'.encode() not in before[2]
    assert f'"id":{second.pk}'.encode() in after[2] and f'"id":{first.pk}'.encode() in after[2]
    assert revalidated[0] == 200


@needs_redis
def test_with_redis_down_the_request_goes_to_django_unthrottled(settings, published_claim):
    redis = RedisProcess()
    redis.start()
    working = settings.CACHES
    settings.CACHES = redis_cache(redis.url)
    settings.API_THROTTLE_ANON = "2/minute"
    django_handler = DjangoHandler()
    app = PublicCacheApplication(django_handler)
    try:
        assert get(app, CLAIMS)[0] == 200
        assert get(app, CLAIMS)[0] == 200
        redis.stop()
        before = cache_outages.count()

        statuses = [get(app, CLAIMS)[0] for _ in range(3)]

        assert statuses == [200, 200, 200]
        assert django_handler.reached == 4
        assert cache_outages.count() > before
    finally:
        redis.stop()
        settings.CACHES = working


@pytest.fixture
def on_private_redis(settings, private_redis):
    """The private Redis server as the cache, emptied afterwards; its URL."""
    working = settings.CACHES
    settings.CACHES = redis_cache(private_redis.url)
    yield private_redis.url
    cache.clear()
    settings.CACHES = working


@needs_redis
@pytest.mark.usefixtures("one_rate_window")
def test_a_counted_answer_from_memory_sends_nothing_while_its_lease_lasts(
    settings, on_private_redis, published_claim
):
    settings.API_THROTTLE_ANON = "100/minute"
    app = PublicCacheApplication(DjangoHandler())
    server = Redis.from_url(on_private_redis)
    get(app, CLAIMS)  # rendered and stored; the throttle takes a lease of 100 // 16 = 6 requests
    etag = get(app, CLAIMS)[1]["ETag"]  # read from Redis, kept in memory
    server.config_resetstat()

    def commands() -> dict[str, int]:
        return {
            name: stats["calls"]
            for name, stats in server.info("commandstats").items()
            if not name.startswith("cmdstat_config")
        }

    # The first request spent one of the 6, the second another: 4 left.
    from_the_lease = [get(app, CLAIMS, **headers)[0] for headers in [{}, {"HTTP_IF_NONE_MATCH": etag}] * 2]
    sent_meanwhile = commands()
    with_a_new_lease = get(app, CLAIMS)[0]

    assert from_the_lease == [200, 304] * 2
    # Neither the version, the entry nor the count went to Redis.
    assert sent_meanwhile == {}
    assert with_a_new_lease == 200
    assert commands()["cmdstat_eval"] == 1
    assert anonymous_count() == 6 + 5


PUBLISH_ELSEWHERE = """
import django
django.setup()
from core.content_version import public_content_changed
public_content_changed()
"""


@needs_redis
def test_a_publish_in_another_process_is_seen_by_the_very_next_read(on_private_redis, published_claim):
    django_handler = DjangoHandler()
    app = PublicCacheApplication(django_handler)
    get(app, CLAIMS)  # rendered and stored
    before = get(app, CLAIMS)  # from Redis, kept in memory
    from_memory = get(app, CLAIMS, HTTP_IF_NONE_MATCH=before[1]["ETag"])
    version = public_content_version_in_memory()
    assert (django_handler.reached, from_memory[0]) == (1, 304)

    # Another process (a web worker, a Celery task) publishes; once it returns, nothing is awaited.
    subprocess.run(
        [sys.executable, "-c", PUBLISH_ELSEWHERE],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "REDIS_URL": on_private_redis},
        check=True,
        timeout=120,
    )
    moved = public_content_version_in_memory()
    after = get(app, CLAIMS, HTTP_IF_NONE_MATCH=before[1]["ETag"])

    assert version is not None and moved is not None and moved > version
    assert after[0] == 200 and after[1]["ETag"] != before[1]["ETag"]
    assert django_handler.reached == 2


@needs_redis
def test_a_tracking_connection_the_server_closed_is_opened_again_without_an_outage(on_private_redis):
    public_content_changed()
    version = public_content_version_in_memory()
    server = Redis.from_url(on_private_redis)

    def tracking() -> set[str]:
        return {client["id"] for client in server.client_list() if "t" in client["flags"]}

    closed = tracking()
    before = cache_outages.count()

    for client_id in closed:
        server.client_kill_filter(_id=client_id)
    again = public_content_version_in_memory()

    assert closed and again == version
    assert cache_outages.count() == before
    assert tracking() - closed


@needs_redis
def test_where_redis_will_not_track_the_version_is_read_each_time(settings, private_redis):
    server = Redis.from_url(private_redis.url)
    # Everything but CLIENT, and so not CLIENT TRACKING.
    server.acl_setuser(
        "untracked", enabled=True, passwords=["+secret"], keys=["*"], commands=["+@all", "-client"]
    )
    working = settings.CACHES
    settings.CACHES = redis_cache(private_redis.url.replace("redis://", "redis://untracked:secret@", 1))
    try:
        public_content_changed()
        before = (public_content_version_in_memory(), cache_outages.count())
        server.incrby(cache.make_and_validate_key("verifier:public-content-version"), 5)

        after = (public_content_version_in_memory(), cache_outages.count())

        assert before[0] is not None and after == (before[0] + 5, before[1])
    finally:
        cache.clear()
        settings.CACHES = working
        server.acl_deluser("untracked")


@pytest.mark.parametrize(
    "first, second",
    [
        ({}, {"HTTP_ACCEPT": "text/html"}),
        ({}, {"QUERY_STRING": "status=published"}),
        ({}, {"HTTP_HOST": "example.org"}),
        ({}, {"SERVER_PORT": "8080"}),
        ({}, {"wsgi.url_scheme": "https"}),
        ({}, {"HTTP_X_FORWARDED_PROTO": "https"}),
        ({}, {"PATH_INFO": "/api/v1/claims/\u00c3\u00bc/"}),
        ({}, {"SCRIPT_NAME": "/verifier"}),
    ],
)
def test_the_key_read_from_the_environ_is_the_requests_entry_key(settings, first, second):
    settings.ALLOWED_HOSTS = ["testserver", "example.org"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    environs = []
    for changed in (first, second):
        environ = RequestFactory().get(CLAIMS).environ
        environ.pop("HTTP_COOKIE", None)
        environ["PATH_INFO"] = "/api/v1/claims/"
        environ.update(changed)
        environs.append(environ)

    # Twice each, in turn: the second reads are remembered ones.
    keys = [_public_key(environ) for environ in environs * 2]

    expected = [(entry_key(request), request.path) for request in map(WSGIRequest, map(dict, environs))]
    assert keys == expected * 2
    assert expected[0][0] != expected[1][0]


def _as_served(answer) -> tuple[int, dict[str, str], bytes]:
    if isinstance(answer, Answer):
        return int(answer.status.split()[0]), {k.lower(): v for k, v in answer.headers}, answer.body
    return answer.status_code, {k.lower(): v for k, v in answer.items()}, answer.content


@pytest.mark.parametrize(
    "validators",
    [{}, {"HTTP_IF_NONE_MATCH": "{etag}"}, {"HTTP_IF_NONE_MATCH": '"other", {strong}'}],
    ids=["none", "its etag", "a list naming its strong form"],
)
def test_an_answer_made_from_the_entry_is_the_one_djangos_evaluation_gives(validators, settled):
    entry = Entry(
        version=1_700_000_000_000_000,
        status=200,
        headers=(
            ("Content-Type", "application/json"),
            ("Vary", "Accept, Authorization, Cookie"),
            ("Allow", "GET, POST, HEAD, OPTIONS"),
            ("X-Frame-Options", "DENY"),
        ),
        content=b'{"results": []}',
        throttled=True,
    )
    key = "verifier:public-response:0123456789abcdef0123456789abcdef"
    etag = Validators.of(entry.version, key).etag
    strong = etag.removeprefix("W/")
    headers = {name: value.format(etag=etag, strong=strong) for name, value in validators.items()}
    request = RequestFactory().get(CLAIMS, **headers)

    made = answer_from_entry(request.META, entry, key)

    assert isinstance(made, Answer)
    assert _as_served(made) == _as_served(_serve(request, entry, key))
    assert _as_served(made)[0] == (304 if validators else 200)


@pytest.mark.parametrize(
    "validators",
    [
        {"HTTP_IF_NONE_MATCH": 'W/"1-stale"'},
        {"HTTP_IF_NONE_MATCH": "*"},
        {"HTTP_IF_MODIFIED_SINCE": "Tue, 14 Nov 2023 22:13:20 GMT"},
        {"HTTP_IF_MATCH": "*"},
    ],
)
def test_other_validators_are_left_to_djangos_evaluation(validators, settled):
    entry = Entry(1_700_000_000_000_000, 200, (("Content-Type", "application/json"),), b"{}", True)

    assert answer_from_entry(RequestFactory().get(CLAIMS, **validators).META, entry, "key") is None
