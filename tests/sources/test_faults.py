"""Nothing lost, nothing duplicated: a worker killed mid-fetch and a broker outage, with real processes."""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.db import close_old_connections, connection, transaction
from django.utils import timezone
from pytest_httpserver import HTTPServer
from rest_framework.authtoken.models import Token
from werkzeug import Request, Response

from claims.models import Evidence
from config.celery import app
from config.filesystem_broker import folder_options, parse_claimed_name
from sources.models import Snapshot, Source
from sources.services import (
    FETCH_TASK,
    snapshots_verify,
    source_request_fetch,
    sources_requeue_expired_leases,
    sources_requeue_stale,
)
from tests.factories import FactCheckerFactory
from tests.processes import (
    RedisProcess,
    ServiceProcess,
    WebProcess,
    WorkerProcess,
    fill_disk,
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
def origin(settings):
    """A threaded local site, fetchable from this process: a slow first answer must not hold up
    the next request."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    settings.SOURCES_ALLOW_PRIVATE_NETWORKS = True
    settings.SOURCES_ALLOWED_PORTS = frozenset({server.port})
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


class SlowPage:
    """The origin's /slow answers the article; each of its first `held` requests waits until its
    release is set (30 s at most), so a test can act while a fetch is in flight."""

    def __init__(self, origin: HTTPServer, *, held: int = 1) -> None:
        self.requests: list[float] = []
        self.releases = [threading.Event() for _ in range(held)]
        origin.expect_request("/slow").respond_with_handler(self._answer)

    def _answer(self, request: Request) -> Response:
        self.requests.append(time.monotonic())
        index = len(self.requests) - 1
        if index < len(self.releases):
            self.releases[index].wait(timeout=30)
        return Response(ARTICLE, content_type="text/html")

    def release(self) -> None:
        for release in self.releases:
            release.set()


def test_worker_killed_mid_fetch_is_redone_once_after_restart(origin):
    page = SlowPage(origin)
    requests = page.requests
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
        page.release()
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
    redis = RedisProcess()
    env = fetch_env(origin, CELERY_BROKER_URL=redis.url)
    web, worker = WebProcess(env), WorkerProcess(env)
    with stopped_in_any_case(web, worker, redis):
        redis.start()
        web.start()
        worker.start()
        intake_while_the_broker_is_down(
            origin, web, worker, broker_url=redis.url, transport_options={},
            break_broker=redis.stop, mend_broker=redis.start,
        )


def cite_in_a_claim(author: User, url: str) -> Evidence:
    claim = claim_create(actor=author, text="Exported early", claimant_name="Iran")
    return evidence_add(actor=author, claim=claim, url=url, quote=QUOTE, stance="supports")


def lease_sweep_recovers(recovered: Callable[[], bool], *, worker: WorkerProcess) -> float:
    """Runs the lease sweep as beat does (every SOURCES_FETCH_LEASE_SECONDS) until `recovered`;
    the seconds it took."""
    started = time.monotonic()

    def swept_and_recovered() -> bool:
        close_old_connections()
        sources_requeue_expired_leases()
        return recovered()

    wait_for(
        swept_and_recovered,
        timeout=60,
        interval=settings.SOURCES_FETCH_LEASE_SECONDS,
        what=f"the lease sweep to recover the fetch\n{worker.log()}",
    )
    return time.monotonic() - started


def test_worker_killed_three_times_mid_fetch_is_recovered_by_the_lease_sweep(origin, settings):
    settings.SOURCES_FETCH_LEASE_SECONDS = 3
    page = SlowPage(origin, held=3)
    requests, releases = page.requests, page.releases
    purge_queues()
    env = fetch_env(origin, SOURCES_FETCH_LEASE_SECONDS="3")
    workers = [WorkerProcess(env) for _ in range(4)]
    recoveries: list[float] = []
    with stopped_in_any_case(*workers):
        workers[0].start()
        evidence = cite_in_a_claim(FactCheckerFactory(), origin.url_for("/slow"))
        for kill, (worker, release) in enumerate(zip(workers, releases, strict=False), start=1):
            wait_for(lambda kill=kill: len(requests) == kill, what=f"fetch {kill} to start\n{worker.log()}")
            worker.kill()
            release.set()
            next_worker = workers[kill].start()
            if kill < len(releases):
                recoveries.append(
                    lease_sweep_recovers(
                        lambda kill=kill: len(requests) > kill, worker=next_worker
                    )
                )
        recoveries.append(
            lease_sweep_recovers(lambda: bool(snapshots_of(evidence.source_id)), worker=workers[-1])
        )
        # Room for a redelivery of a killed worker's message to show up as a duplicate.
        time.sleep(3)

    [snapshot] = snapshots_of(evidence.source_id)
    assert snapshot.outcome == Snapshot.Outcome.FETCHED
    assert Evidence.objects.get(pk=evidence.pk).quote_status == Evidence.QuoteStatus.FOUND
    assert len(requests) == 4, "three killed attempts and the one that finished"
    print(f"recovery after each kill: {', '.join(f'{seconds:.1f} s' for seconds in recoveries)}")


def test_duplicate_messages_for_a_running_fetch_reach_the_origin_once(origin):
    page = SlowPage(origin)
    requests = page.requests
    purge_queues()
    worker = WorkerProcess(fetch_env(origin), concurrency=6)
    with stopped_in_any_case(worker):
        worker.start()
        evidence = cite_in_a_claim(FactCheckerFactory(), origin.url_for("/slow"))
        wait_for(lambda: requests, what=f"the fetch to start\n{worker.log()}")
        close_old_connections()
        token = str(Source.objects.get(pk=evidence.source_id).fetch_token)
        for _ in range(4):
            app.send_task(FETCH_TASK, args=(evidence.source_id, token))
        wait_for(
            lambda: worker.log().count("'skipped'") == 4,
            what=f"the four copies to be skipped\n{worker.log()}",
        )
        page.release()
        wait_for(lambda: snapshots_of(evidence.source_id), what=f"the fetch\n{worker.log()}")

    assert len(snapshots_of(evidence.source_id)) == 1
    assert len(requests) == 1


def test_sigterm_mid_fetch_lets_the_fetch_finish_once(origin):
    page = SlowPage(origin)
    requests = page.requests
    purge_queues()
    worker, restarted = WorkerProcess(fetch_env(origin)), WorkerProcess(fetch_env(origin))
    with stopped_in_any_case(worker, restarted):
        worker.start()
        evidence = cite_in_a_claim(FactCheckerFactory(), origin.url_for("/slow"))
        wait_for(lambda: requests, what=f"the fetch to start\n{worker.log()}")
        os.killpg(worker.pid, signal.SIGTERM)
        page.release()
        wait_for(lambda: worker.process.poll() is not None, what=f"warm shutdown\n{worker.log()}")
        restarted.start()
        # Room for a redelivery of the stopped worker's message to show up as a duplicate.
        time.sleep(3)

    [snapshot] = snapshots_of(evidence.source_id)
    assert snapshot.outcome == Snapshot.Outcome.FETCHED
    assert len(requests) == 1


def test_body_file_corrupted_on_disk_is_replaced_by_the_next_fetch(origin):
    origin.expect_request("/article").respond_with_data(ARTICLE, content_type="text/html")
    purge_queues()
    worker = WorkerProcess(fetch_env(origin))
    with stopped_in_any_case(worker):
        worker.start()
        evidence = cite_in_a_claim(FactCheckerFactory(), origin.url_for("/article"))
        wait_for(lambda: snapshots_of(evidence.source_id), what=f"the fetch\n{worker.log()}")
        [first] = snapshots_of(evidence.source_id)
        body_path = Path(settings.MEDIA_ROOT) / first.body.name
        body_path.write_bytes(b"<html>tampered</html>")
        assert [mismatch.snapshot_id for mismatch in snapshots_verify()] == [first.pk]

        with transaction.atomic():
            source_request_fetch(source=evidence.source)
        wait_for(lambda: len(snapshots_of(evidence.source_id)) == 2, what=f"the re-fetch\n{worker.log()}")

    assert body_path.read_bytes() == ARTICLE.encode()
    assert snapshots_verify() == []
    assert "replaced with the fetched bytes" in worker.log()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_terminate_backend is PostgreSQL's")
def test_database_connections_terminated_mid_fetch_lose_and_duplicate_nothing(origin):
    page = SlowPage(origin)
    requests = page.requests
    purge_queues()
    worker = WorkerProcess(fetch_env(origin))
    with stopped_in_any_case(worker):
        worker.start()
        evidence = cite_in_a_claim(FactCheckerFactory(), origin.url_for("/slow"))
        wait_for(lambda: requests, what=f"the fetch to start\n{worker.log()}")
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            assert cursor.fetchall(), "the worker's connections were terminated"
        started = time.monotonic()
        page.release()
        wait_for(lambda: snapshots_of(evidence.source_id), what=f"the fetch\n{worker.log()}")
        print(f"recorded {time.monotonic() - started:.1f} s after the connections were cut")
        time.sleep(3)

    [snapshot] = snapshots_of(evidence.source_id)
    assert snapshot.outcome == Snapshot.Outcome.FETCHED
    assert Evidence.objects.get(pk=evidence.pk).quote_status == Evidence.QuoteStatus.FOUND
    assert len(requests) == 1, "the slot and the snapshot were written on a fresh connection"


def test_worker_killed_with_running_prefetched_and_countdown_messages_loses_none(origin, settings, tmp_path):
    """The embedded broker keeps what a killed worker had claimed — two fetches running, four
    prefetched behind them, two held in memory until their countdown — and the next worker does
    them all: one snapshot each, the origin asked once more only for the two interrupted fetches."""
    settings.SOURCES_FETCH_LEASE_SECONDS = 3
    release = threading.Event()
    hits: dict[str, int] = {}

    def answer(request: Request) -> Response:
        hits[request.path] = hits.get(request.path, 0) + 1
        if request.path.startswith("/running/") and hits[request.path] == 1:
            release.wait(timeout=60)
        return Response(ARTICLE, content_type="text/html")

    origin.expect_request(re.compile("/.*")).respond_with_handler(answer)
    options = folder_options(tmp_path / "broker")
    claimed_folder, queue_folder = Path(options["processed_folder"]), Path(options["data_folder_in"])
    env = fetch_env(
        origin, CELERY_BROKER_URL="filesystem://", FILESYSTEM_BROKER_DIR=str(tmp_path / "broker"),
        SOURCES_FETCH_LEASE_SECONDS="3",
    )
    killed = WorkerProcess(env, concurrency=2, prefetch_multiplier=3)
    restarted = WorkerProcess(env, concurrency=2, prefetch_multiplier=3)

    def queue_fetches(kind: str, count: int, **send_options) -> list[int]:
        source_ids = []
        with app.connection_for_write("filesystem://", transport_options=options) as broker:
            for number in range(count):
                source = Source.objects.create(url=origin.url_for(f"/{kind}/{number}"))
                token = source_request_fetch(source=source, queue=False)
                app.send_task(FETCH_TASK, args=(source.pk, str(token)), connection=broker, **send_options)
                source_ids.append(source.pk)
        return source_ids

    def claimed_messages() -> list[dict]:
        return [json.loads((claimed_folder / name).read_bytes()) for name in os.listdir(claimed_folder)]

    with stopped_in_any_case(killed, restarted):
        killed.start()
        later = queue_fetches("later", 2, countdown=25)
        wait_for(lambda: len(os.listdir(claimed_folder)) == 2, what=f"the countdowns\n{killed.log()}")
        running = queue_fetches("running", 2)
        wait_for(lambda: len(hits) == 2, what=f"two fetches to start\n{killed.log()}")
        prefetched = queue_fetches("prefetched", 4)
        wait_for(
            lambda: len(os.listdir(claimed_folder)) == 8 and not os.listdir(queue_folder),
            what=f"all eight messages to be claimed\n{killed.log()}",
        )
        held_until_due = [message for message in claimed_messages() if message["headers"]["eta"]]
        assert len(held_until_due) == 2

        killed.kill()
        release.set()
        assert len(claimed_messages()) == 8, "nothing acknowledged, nothing dropped"
        assert {parse_claimed_name(name)[1].pid for name in os.listdir(claimed_folder)} == {killed.pid}
        # The interrupted fetches are claimable again once their 3 s lease lapses.
        wait_for(
            lambda: not Source.objects.filter(
                pk__in=running, fetch_lease_expires_at__gte=timezone.now()
            ).exists(),
            what="the killed worker's leases to lapse",
        )
        restarted.start()
        started = time.monotonic()
        every_source = later + running + prefetched
        wait_for(
            lambda: Snapshot.objects.filter(source_id__in=every_source).count() >= len(every_source),
            timeout=60,
            what=f"every fetch after the restart\n{restarted.log()}",
        )
        print(f"all 8 fetches done {time.monotonic() - started:.1f} s after the restart")
        # Room for a second delivery of any message to show up as a duplicate.
        time.sleep(3)

    recorded = Snapshot.objects.filter(source_id__in=every_source).values_list("source_id", flat=True)
    assert sorted(recorded) == sorted(every_source)
    assert hits == {
        **{f"/later/{n}": 1 for n in range(2)},
        **{f"/running/{n}": 2 for n in range(2)},  # the interrupted attempt and the one that finished
        **{f"/prefetched/{n}": 1 for n in range(4)},
    }
    assert os.listdir(claimed_folder) == [] and os.listdir(queue_folder) == []
    assert "Restored broker message" in restarted.log()


def embedded_broker_env(origin: HTTPServer, broker_folder: Path, **extra: str) -> dict[str, str]:
    """Service processes on a filesystem broker of the test's own, on either database."""
    return fetch_env(
        origin, CELERY_BROKER_URL="filesystem://", FILESYSTEM_BROKER_DIR=str(broker_folder), **extra
    )


def health(web: WebProcess) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"{web.base_url}/healthz", timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def intake_while_the_broker_is_down(
    origin: HTTPServer, web: WebProcess, worker: WorkerProcess, *, broker_url: str,
    transport_options: dict[str, str], break_broker: Callable[[], None], mend_broker: Callable[[], None],
) -> None:
    """Evidence posted while the broker cannot take messages is saved (201) and left pending;
    once the broker is mended, the stale-fetch sweep fetches it exactly once."""
    origin.expect_request("/article").respond_with_data(ARTICLE, content_type="text/html")
    author: User = FactCheckerFactory()  # type: ignore[assignment]
    token = Token.objects.create(user=author).key
    status, claim = post_json(
        f"{web.base_url}/api/v1/claims/", token,
        {"text": "Iran says the drones were exported before the invasion", "claimant": "Iran"},
    )
    assert status == 201, claim

    break_broker()
    status, evidence = post_json(
        f"{web.base_url}/api/v1/claims/{claim['id']}/evidence/", token,
        {"url": origin.url_for("/article"), "quote": QUOTE, "stance": "supports"},
    )
    assert status == 201, f"{evidence}\n{web.log()}"
    close_old_connections()
    saved = Evidence.objects.select_related("source").get(claim_id=claim["id"])
    assert saved.source.status == Source.Status.PENDING
    assert "stale-fetch sweep" in web.log()
    health_status, report = health(web)
    assert health_status == 503 and report["broker"] == "down", report
    time.sleep(2)  # the worker polls the broken broker meanwhile
    assert worker.running(), worker.log()

    mend_broker()
    mended = time.monotonic()
    wait_for(lambda: health(web)[0] == 200, timeout=30, what=f"/healthz to recover\n{web.log()}")
    # What beat does once the stale-fetch period has passed: the sweep task, through the broker.
    pretend_the_fetch_is_stale(saved.source_id)
    with app.connection_for_write(broker_url, transport_options=transport_options) as broker:
        app.send_task("sources.tasks.requeue_stale_fetches", connection=broker)
    wait_for(
        lambda: snapshots_of(saved.source_id),
        timeout=60,
        what=f"the fetch after the broker came back\n{worker.log()}",
    )
    print(f"fetched {time.monotonic() - mended:.1f} s after the broker came back")
    time.sleep(2)  # room for a duplicate to show up

    [snapshot] = snapshots_of(saved.source_id)
    assert snapshot.outcome == Snapshot.Outcome.FETCHED
    assert Evidence.objects.get(pk=saved.pk).quote_status == Evidence.QuoteStatus.FOUND
    assert len(origin.log) == 1
    assert worker.running() and "Unrecoverable error" not in worker.log()


def test_embedded_broker_folder_gone_during_intake_loses_no_evidence(origin, tmp_path):
    broker_folder = tmp_path / "broker"
    queue_folder = Path(folder_options(broker_folder)["data_folder_in"])
    env = embedded_broker_env(origin, broker_folder)
    web, worker = WebProcess(env), WorkerProcess(env)
    with stopped_in_any_case(web, worker):
        web.start()
        worker.start()
        intake_while_the_broker_is_down(
            origin, web, worker, broker_url="filesystem://", transport_options=folder_options(broker_folder),
            break_broker=queue_folder.rmdir, mend_broker=queue_folder.mkdir,
        )


def test_embedded_broker_disk_full_under_a_real_worker_loses_nothing(origin, tmpfs_disk):
    # Above the 16 MiB that /healthz wants free, so that it recovers once the filler is deleted.
    small_disk = tmpfs_disk("20m")
    broker_folder = small_disk / "broker"
    env = embedded_broker_env(origin, broker_folder)
    web, worker = WebProcess(env), WorkerProcess(env)
    filler: list[Path] = []
    with stopped_in_any_case(web, worker):
        web.start()
        worker.start()
        intake_while_the_broker_is_down(
            origin, web, worker, broker_url="filesystem://", transport_options=folder_options(broker_folder),
            break_broker=lambda: filler.append(fill_disk(small_disk)),
            mend_broker=lambda: filler[0].unlink(),
        )


class SqliteWriteLock:
    """Another process holding SQLite's write lock (BEGIN IMMEDIATE) until released."""

    def __init__(self, database: str) -> None:
        self.database = database
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "SqliteWriteLock":
        script = (
            "import sqlite3, sys\n"
            "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "db.execute('BEGIN IMMEDIATE')\n"
            "print('locked', flush=True)\n"
            "sys.stdin.readline()\n"
            "db.execute('ROLLBACK')\n"
        )
        self.process = subprocess.Popen(
            [sys.executable, "-c", script, self.database],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        assert self.process.stdout is not None and self.process.stdout.readline() == "locked\n"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=30)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's write lock")
def test_sqlite_write_lock_held_during_fetches_loses_and_duplicates_nothing(origin, settings):
    """Two fetches have their pages and two wait for a host slot when another process takes the
    write lock for longer than the worker's busy timeout: every write fails with "database is
    locked" and is retried; once the lock is released, all four finish once each."""
    settings.SOURCES_FETCH_LEASE_SECONDS = 3
    answer_now = threading.Event()
    hits: dict[str, int] = {}

    def answer(request: Request) -> Response:
        hits[request.path] = hits.get(request.path, 0) + 1
        answer_now.wait(timeout=60)
        return Response(ARTICLE, content_type="text/html")

    origin.expect_request(re.compile("/.*")).respond_with_handler(answer)
    purge_queues()
    worker = WorkerProcess(
        fetch_env(origin, SQLITE_BUSY_TIMEOUT="1", SOURCES_FETCH_LEASE_SECONDS="3"), concurrency=4
    )
    with stopped_in_any_case(worker):
        worker.start()
        author = FactCheckerFactory()
        claim = claim_create(actor=author, text="Exported early", claimant_name="Iran")
        cited = [
            evidence_add(
                actor=author, claim=claim, url=origin.url_for(f"/page/{n}"), quote=QUOTE, stance="supports"
            )
            for n in range(4)
        ]
        wait_for(lambda: len(hits) == 2, what=f"two fetches to hold the host's slots\n{worker.log()}")
        interrupted = set(hits)
        with SqliteWriteLock(str(connection.settings_dict["NAME"])):
            answer_now.set()
            wait_for(
                lambda: worker.log().count("database is locked") >= 4,
                what=f"the worker's writes to fail on the lock\n{worker.log()}",
            )
            time.sleep(3)  # long enough for every lease the worker holds to lapse
            assert snapshots_of_all(cited) == []
        released = time.monotonic()
        wait_for(
            lambda: len(snapshots_of_all(cited)) == len(cited),
            timeout=60,
            what=f"every fetch after the lock was released\n{worker.log()}",
        )
        print(f"all fetched {time.monotonic() - released:.1f} s after the lock was released")
        time.sleep(3)  # room for a duplicate to show up
        assert worker.running(), worker.log()

    assert sorted(snapshot.source_id for snapshot in snapshots_of_all(cited)) == sorted(
        evidence.source_id for evidence in cited
    )
    # Each page is asked for once, and a second time only when its answer could not be recorded.
    assert hits == {f"/page/{n}": 2 if f"/page/{n}" in interrupted else 1 for n in range(4)}
    print(f"origin hits {hits}")


def snapshots_of_all(cited: list[Evidence]) -> list[Snapshot]:
    close_old_connections()
    return list(Snapshot.objects.filter(source_id__in=[evidence.source_id for evidence in cited]))
