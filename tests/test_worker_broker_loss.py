"""A worker that loses Redis while an acks_late fetch is running carries on (issue 14).

kombu's redis transport made the worker exit with "Unrecoverable error: 'NoneType' object has no
attribute 'hostname'" when it closed the lost connection with an unacknowledged message in hand;
config.redis_broker explains why and what changed. Real processes: a private redis-server, a worker
with the Procfile's pool, a local origin whose answer is held until Redis is gone.
"""

import os
import threading
import time
import uuid
from pathlib import Path

import pytest
from redis import Redis as RedisClient
from redis.exceptions import BusyLoadingError
from werkzeug import Request, Response

from config.celery import app
from sources.models import Snapshot, Source
from sources.services import FETCH_TASK, source_request_fetch
from tests.factories import FactCheckerFactory
from tests.processes import RedisProcess, WorkerProcess, purge_queues, wait_for
from tests.sources import test_faults as faults
from verifier.services.evidence import evidence_add

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(
        not RedisProcess.available() and not os.environ.get("CI"),
        reason="needs redis-server on PATH (always present in CI, where its absence fails the test)",
    ),
]

origin = faults.origin


def fetch_through(redis: RedisProcess, source_id: int) -> None:
    """Queues a fetch of the source on the private broker, as the web process would."""
    token: uuid.UUID = source_request_fetch(source=Source.objects.get(pk=source_id), queue=False)
    with app.connection_for_write(redis.url) as connection:
        app.send_task(FETCH_TASK, args=(source_id, str(token)), connection=connection)


class PersistentRedisProcess(RedisProcess):
    """A private Redis that keeps its data across a restart, as a production one does."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__()
        self.data_dir = data_dir

    def command(self) -> list[str]:
        # Later options win: an append-only file written at every command, in a folder of its own.
        return [
            *super().command(),
            "--dir",
            str(self.data_dir),
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
        ]


def unacknowledged_messages(redis: RedisProcess) -> int | None:
    """Messages delivered to a worker and not acknowledged: kombu restores them to their queue
    after the visibility timeout, so each one would run again. None while Redis loads its data."""
    try:
        return int(RedisClient.from_url(redis.url).hlen("unacked"))
    except BusyLoadingError:
        return None


@pytest.mark.parametrize(
    "redis_back_before_the_fetch_ends", [False, True], ids=["ack-while-down", "ack-after-return"]
)
def test_worker_outlives_redis_stopping_while_an_acks_late_fetch_runs(
    origin, tmp_path, redis_back_before_the_fetch_ends
):
    release = threading.Event()
    requests: list[float] = []

    def answer_when_released(request: Request) -> Response:
        requests.append(time.monotonic())
        release.wait(timeout=60)
        return Response(faults.ARTICLE, content_type="text/html")

    origin.expect_request("/slow").respond_with_handler(answer_when_released)
    origin.expect_request("/later").respond_with_data(faults.ARTICLE, content_type="text/html")
    redis = PersistentRedisProcess(tmp_path) if redis_back_before_the_fetch_ends else RedisProcess()
    worker = WorkerProcess(faults.fetch_env(origin, CELERY_BROKER_URL=redis.url))
    with faults.stopped_in_any_case(worker, redis):
        redis.start()
        worker.start()
        author = FactCheckerFactory()
        in_flight = faults.cite_in_a_claim(author, origin.url_for("/slow"))
        later = evidence_add(
            actor=author,
            claim=in_flight.claim,
            url=origin.url_for("/later"),
            quote=faults.QUOTE,
            stance="supports",
        )
        purge_queues()  # citing queued both on this run's own broker, which no worker here reads
        fetch_through(redis, in_flight.source_id)
        wait_for(lambda: requests, what=f"the fetch to start\n{worker.log()}")

        redis.stop()
        wait_for(
            lambda: "Connection to broker lost" in worker.log(),
            what=f"the worker to notice Redis is gone\n{worker.log()}",
        )
        if redis_back_before_the_fetch_ends:
            redis.start()
            # The in-flight message came back with Redis's data, still waiting for its ack.
            wait_for(
                lambda: unacknowledged_messages(redis) == 1,
                what=f"Redis to load the unacknowledged message\n{worker.log()}",
            )
        # The fetch finishes and acknowledges its message, with Redis down or back with its data.
        release.set()
        wait_for(
            lambda: faults.snapshots_of(in_flight.source_id),
            what=f"the fetch in flight to finish\n{worker.log()}",
        )
        assert worker.process.poll() is None, worker.log()

        if redis_back_before_the_fetch_ends:
            wait_for(
                lambda: unacknowledged_messages(redis) == 0,
                what=f"the acknowledgement to reach Redis\n{worker.log()}",
            )
        else:
            redis.start()
        fetch_through(redis, later.source_id)
        wait_for(
            lambda: faults.snapshots_of(later.source_id),
            what=f"a fetch queued after Redis came back\n{worker.log()}",
        )
        # Room for a redelivery of the in-flight message to show up as a duplicate.
        time.sleep(3)
        assert worker.process.poll() is None, worker.log()

    assert "Unrecoverable error" not in worker.log()
    [snapshot] = faults.snapshots_of(in_flight.source_id)
    assert snapshot.outcome == Snapshot.Outcome.FETCHED
    assert len(requests) == 1
    [later_snapshot] = faults.snapshots_of(later.source_id)
    assert later_snapshot.outcome == Snapshot.Outcome.FETCHED
