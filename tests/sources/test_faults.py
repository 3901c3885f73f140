"""Nothing lost, nothing duplicated: a worker killed mid-fetch and a broker outage, with real processes."""

import json
import os
import threading
import time
import urllib.request
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone
from pytest_httpserver import HTTPServer
from rest_framework.authtoken.models import Token
from werkzeug import Request, Response

from claims.models import Evidence
from sources.models import Snapshot, Source
from sources.services import sources_requeue_stale
from tests.factories import FactCheckerFactory
from tests.processes import (
    RedisProcess,
    ServiceProcess,
    WebProcess,
    WorkerProcess,
    purge_queues,
    wait_for,
)
from verifier.services.claims import claim_create
from verifier.services.evidence import evidence_add

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

ARTICLE = (
    "<html><head><title>Drones</title></head><body><article><p>Iran says that these drones "
    "were exported before the attack on Ukraine. " + "Background paragraph. " * 40
    + "</p></article></body></html>"
)
QUOTE = "these drones were exported before the attack on Ukraine"


@pytest.fixture
def origin():
    """A threaded local site: a slow first answer must not hold up the next request."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


def fetch_env(origin: HTTPServer, **extra: str) -> dict[str, str]:
    return {
        "SOURCES_ALLOW_PRIVATE_NETWORKS": "1",
        "SOURCES_ALLOWED_PORTS": str(origin.port),
        **extra,
    }


def stopped_in_any_case(*processes: ServiceProcess):
    class Guard:
        def __enter__(self):
            return processes

        def __exit__(self, *exc):
            for process in processes:
                process.stop()

    return Guard()


def snapshots_of(source_id: int) -> list[Snapshot]:
    close_old_connections()
    return list(Snapshot.objects.filter(source_id=source_id))


def pretend_the_fetch_is_stale(source_id: int) -> None:
    """What SOURCES_STALE_FETCH_MINUTES of waiting would do, without the waiting."""
    long_ago = timezone.now() - timedelta(minutes=settings.SOURCES_STALE_FETCH_MINUTES + 1)
    Source.objects.filter(pk=source_id).update(
        fetch_requested_at=long_ago, fetch_started_at=long_ago
    )


def test_worker_killed_mid_fetch_is_redone_once_after_restart(origin, settings):
    settings.SOURCES_ALLOW_PRIVATE_NETWORKS = True
    settings.SOURCES_ALLOWED_PORTS = frozenset({origin.port})
    release = threading.Event()
    requests: list[float] = []

    def first_answer_hangs(request: Request) -> Response:
        requests.append(time.monotonic())
        if len(requests) == 1:
            release.wait(timeout=30)
        return Response(ARTICLE, content_type="text/html")

    origin.expect_request("/slow").respond_with_handler(first_answer_hangs)
    purge_queues()
    first, second = WorkerProcess(fetch_env(origin)), WorkerProcess(fetch_env(origin))
    with stopped_in_any_case(first, second):
        first.start()
        author = FactCheckerFactory()
        claim = claim_create(actor=author, text="Exported early", claimant_name="Iran")
        evidence = evidence_add(
            actor=author, claim=claim, url=origin.url_for("/slow"), quote=QUOTE, stance="supports"
        )
        wait_for(lambda: requests, what=f"the worker to start fetching\n{first.log()}")
        close_old_connections()
        assert Source.objects.get(pk=evidence.source_id).status == Source.Status.FETCHING

        first.kill()
        release.set()
        assert snapshots_of(evidence.source_id) == []

        second.start()
        pretend_the_fetch_is_stale(evidence.source_id)
        assert sources_requeue_stale() == 1  # what beat runs every few minutes
        wait_for(
            lambda: snapshots_of(evidence.source_id),
            what=f"the restarted worker to fetch\n{second.log()}",
        )
        # Room for a redelivery of the killed worker's message to show up as a duplicate.
        time.sleep(3)

    [snapshot] = snapshots_of(evidence.source_id)
    assert snapshot.outcome == Snapshot.Outcome.FETCHED
    assert Evidence.objects.get(pk=evidence.pk).quote_status == Evidence.QuoteStatus.FOUND
    assert len(requests) == 2


def post_json(url: str, token: str, payload: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


@pytest.mark.skipif(
    not RedisProcess.available() and not os.environ.get("CI"),
    reason="needs redis-server on PATH (always present in CI, where its absence fails the test)",
)
def test_broker_outage_loses_no_evidence_and_the_fetch_happens_once_it_is_back(origin):
    origin.expect_request("/article").respond_with_data(ARTICLE, content_type="text/html")
    redis = RedisProcess()
    env = fetch_env(origin, CELERY_BROKER_URL=redis.url)
    web, worker = WebProcess(env), WorkerProcess(env)
    with stopped_in_any_case(web, worker, redis):
        redis.start()
        web.start()
        worker.start()
        token = Token.objects.create(user=FactCheckerFactory()).key
        status, claim = post_json(
            f"{web.base_url}/api/v1/claims/", token,
            {"text": "Iran says the drones were exported before the invasion", "claimant": "Iran"},
        )
        assert status == 201, claim

        redis.stop()
        status, evidence = post_json(
            f"{web.base_url}/api/v1/claims/{claim['id']}/evidence/", token,
            {"url": origin.url_for("/article"), "quote": QUOTE, "stance": "supports"},
        )
        assert status == 201, f"{evidence}\n{web.log()}"
        close_old_connections()
        saved = Evidence.objects.select_related("source").get(claim_id=claim["id"])
        assert saved.source.status == Source.Status.PENDING
        assert "stale-fetch sweep" in web.log()

        redis.start()
        pretend_the_fetch_is_stale(saved.source_id)
        # Beat's sweep, sent through the restarted broker and run by the worker.
        from config.celery import app

        with app.connection_for_write(redis.url) as connection:
            app.send_task("sources.tasks.requeue_stale_fetches", connection=connection)
        wait_for(
            lambda: snapshots_of(saved.source_id),
            what=f"the fetch after the broker came back\n{worker.log()}",
        )
        time.sleep(2)

    [snapshot] = snapshots_of(saved.source_id)
    assert snapshot.outcome == Snapshot.Outcome.FETCHED
    assert Evidence.objects.get(pk=saved.pk).quote_status == Evidence.QuoteStatus.FOUND
