"""The fetch task under a real worker: per-host politeness across concurrent fetches."""

import threading
import time

import pytest
from django.db import close_old_connections
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from core.queueing import retry_delay
from sources.models import Snapshot
from tests.factories import FactCheckerFactory
from tests.processes import WorkerProcess, purge_queues, wait_for
from verifier.services.claims import claim_create
from verifier.services.evidence import evidence_add


def test_retry_delay_grows_exponentially_with_jitter_and_honours_retry_after():
    for retries in range(5):
        ceiling = 10.0 * 2**retries
        delays = {retry_delay(retries, None) for _ in range(20)}
        assert all(ceiling / 2 <= delay <= ceiling for delay in delays)
        assert len(delays) > 1, "jitter spreads retries of many sources apart"
    assert retry_delay(0, 120.0) == 120.0


@pytest.mark.worker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_no_more_than_two_fetches_of_one_host_run_at_once(settings):
    lock = threading.Lock()
    running = {"now": 0, "most": 0}

    def slow_page(request: Request) -> Response:
        with lock:
            running["now"] += 1
            running["most"] = max(running["most"], running["now"])
        time.sleep(0.5)
        with lock:
            running["now"] -= 1
        return Response("<html><title>t</title><body><p>drones</p></body></html>", content_type="text/html")

    origin = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    origin.start()
    origin.expect_request("/slow").respond_with_handler(slow_page)
    settings.SOURCES_ALLOW_PRIVATE_NETWORKS = True
    settings.SOURCES_ALLOWED_PORTS = frozenset({origin.port})
    purge_queues()
    worker = WorkerProcess(
        {"SOURCES_ALLOW_PRIVATE_NETWORKS": "1", "SOURCES_ALLOWED_PORTS": str(origin.port)},
        concurrency=6,
    )
    try:
        worker.start()
        author = FactCheckerFactory()
        claim = claim_create(actor=author, text="Drones", claimant_name="Iran")
        for n in range(6):
            evidence_add(
                actor=author, claim=claim, url=origin.url_for(f"/slow?page={n}"),
                quote="drones", stance="supports",
            )

        def all_fetched() -> bool:
            close_old_connections()
            return Snapshot.objects.filter(outcome="fetched").count() == 6

        wait_for(all_fetched, timeout=90, what=f"six fetches\n{worker.log()}")
    finally:
        worker.stop()
        origin.stop()
    assert running["most"] == 2
