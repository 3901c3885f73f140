"""Issue 14, point 2: the cache fails open, a database outage is a 503 with Retry-After; never a 500."""

import json
import os
import urllib.error
import urllib.request

import pytest
from django.db.utils import OperationalError
from rest_framework.authtoken.models import Token

from claims.models import Evidence
from core.cache_outage import cache_outages
from sources.models import Source
from tests.factories import FactCheckerFactory
from tests.processes import RedisProcess, WebProcess, free_port, wait_for
from verifier.services.claims import claim_create

CLAIMS = "/api/v1/claims/"
QUOTE = "these drones were exported before the attack on Ukraine"


@pytest.fixture
def cache_down(settings):
    """Django's cache pointed at a Redis port nothing listens on."""
    working = settings.CACHES
    settings.CACHES = {
        "default": {
            "BACKEND": "config.cache.ReusedClientRedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    yield
    # Back before the suite's own fixtures clear the cache.
    settings.CACHES = working


@pytest.mark.django_db
def test_with_the_cache_down_the_api_answers_unthrottled(api_client, settings, cache_down, published_claim):
    settings.API_THROTTLE_ANON = "2/minute"
    before = cache_outages.count()

    statuses = [api_client.get(url).status_code for url in [CLAIMS] * 4 + [f"{CLAIMS}{published_claim.pk}/"]]

    assert statuses == [200] * 5
    assert cache_outages.count() > before


@pytest.mark.django_db
def test_with_the_cache_down_evidence_is_saved(client_for, fact_checker, cache_down, queued):
    claim = claim_create(actor=fact_checker, text="Iran exported drones early", claimant_name="Iran")

    response = client_for(fact_checker).post(
        f"{CLAIMS}{claim.pk}/evidence/",
        {"url": "https://news.example.org/new", "quote": QUOTE, "stance": "supports"},
    )

    assert response.status_code == 201


@pytest.mark.django_db
def test_healthz_reports_the_cache_down_without_failing(client, cache_down):
    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["cache"]) == ("ok", "down")
    assert body["cache_failures"] >= 1


@pytest.fixture
def database_down(monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")

    return lambda: monkeypatch.setattr("django.db.backends.utils.CursorWrapper.execute", refuse)


@pytest.mark.django_db
@pytest.mark.parametrize("url", [CLAIMS, "/api/v1/claimreview/", f"{CLAIMS}1/"])
def test_a_database_outage_is_a_json_503_with_retry_after_on_the_api(client, database_down, url):
    database_down()

    response = client.get(url)

    assert response.status_code == 503
    assert response.json() == {"detail": "The database is unavailable; try again shortly."}
    assert int(response["Retry-After"]) > 0


@pytest.mark.django_db
def test_a_database_outage_is_a_503_page_for_readers_and_staff(
    client, superuser, database_down, published_claim
):
    client.force_login(superuser)
    database_down()

    for url in (f"/claims/{published_claim.pk}/", "/admin/claims/claim/"):
        response = client.get(url)
        assert response.status_code == 503
        assert "The database is unavailable" in response.content.decode()
        assert response["Retry-After"]


def call(method: str, url: str, token: str = "", body: dict | None = None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, method=method, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


needs_redis = pytest.mark.skipif(
    not RedisProcess.available() and not os.environ.get("CI"),
    reason="needs redis-server on PATH (always present in CI, where its absence fails the test)",
)


@needs_redis
@pytest.mark.worker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_with_redis_stopped_gunicorn_serves_reads_and_saves_evidence(published_claim):
    """Redis as cache and broker, stopped under a running web process: no 500, evidence saved."""
    redis = RedisProcess()
    web = WebProcess({"REDIS_URL": redis.url, "API_THROTTLE_ANON": "3/minute"})
    fact_checker = FactCheckerFactory()
    token = Token.objects.create(user=fact_checker).key
    claim = published_claim.pk
    draft = claim_create(actor=fact_checker, text="Iran exported drones early", claimant_name="Iran").pk
    try:
        redis.start()
        web.start()
        assert call("GET", f"{web.base_url}{CLAIMS}")[0] == 200
        redis.stop()

        urls = [CLAIMS] * 5 + [f"{CLAIMS}{claim}/", f"{CLAIMS}{claim}/claimreview/", f"/claims/{claim}/"]
        reads = [call("GET", f"{web.base_url}{url}")[0] for url in urls]
        token_read = call("GET", f"{web.base_url}{CLAIMS}", token)[0]
        posted, _, body = call(
            "POST", f"{web.base_url}{CLAIMS}{draft}/evidence/", token,
            {"url": "https://news.example.org/drones-new", "quote": QUOTE, "stance": "supports"},
        )
        health_status, _, health = call("GET", f"{web.base_url}/healthz")

        assert reads == [200] * 8, web.log()
        assert token_read == 200
        assert posted == 201, body
        evidence = Evidence.objects.select_related("source").get(claim_id=draft)
        assert evidence.source.status == Source.Status.PENDING
        assert health_status == 503
        assert json.loads(health)["cache"] == "down" and json.loads(health)["cache_failures"] > 0

        redis.start()
        wait_for(lambda: call("GET", f"{web.base_url}/healthz")[0] == 200, timeout=30, what="recovery")
        assert "Internal Server Error" not in web.log()
    finally:
        web.stop()
        redis.stop()


@pytest.mark.worker
def test_with_the_database_unreachable_gunicorn_answers_503_never_500():
    web = WebProcess({"DATABASE_URL": f"postgres://postgres@127.0.0.1:{free_port()}/verifier"})
    try:
        web.start()
        api = [
            call("GET", f"{web.base_url}{url}") for url in (CLAIMS, f"{CLAIMS}1/", "/api/v1/claimreview/")
        ]
        write = call("POST", f"{web.base_url}{CLAIMS}", "0" * 40, {"text": "x", "claimant": "Iran"})
        page = call("GET", f"{web.base_url}/claims/1/")
        health = call("GET", f"{web.base_url}/healthz")

        for status, headers, body in [*api, write]:
            assert status == 503, body
            assert headers["Retry-After"] == "10"
            assert json.loads(body)["detail"] == "The database is unavailable; try again shortly."
        assert page[0] == 503 and b"The database is unavailable" in page[2]
        assert health[0] == 503 and json.loads(health[2])["database"] == "down"
        assert "Internal Server Error" not in web.log()
    finally:
        web.stop()
