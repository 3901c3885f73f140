"""The embedded filesystem broker: messages appear whole or not at all, an unreadable one is parked
while the worker goes on, and /healthz names a queue folder that cannot take messages.

Every test runs its own filesystem broker under tmp_path, so they run the same on both pairs."""

import json
import multiprocessing
import os
import re
import signal
import threading
import uuid
from pathlib import Path

import pytest
from django.db import close_old_connections
from kombu import Exchange, Queue
from kombu.exceptions import ConnectionError as BrokerConnectionError

from config.celery import app as celery_app
from config.filesystem_broker import (
    Claimer,
    claimed_name,
    folder_options,
    parse_claimed_name,
    restore_unacked_messages,
)
from sources.models import Snapshot
from sources.services import source_request_fetch
from sources.tasks import fetch_source
from tests.factories import SourceFactory
from tests.pages import ARTICLE
from tests.processes import WorkerProcess, fill_disk, wait_for

# Garbage as the old transport and full disks left it, and as a hand edit might.
UNREADABLE_MESSAGES = {
    "empty": b"",
    "half-written": b'{"body": "W1tdLCB7fSwgeyJjYWxsYmFja3MiOiBudWxs", "content-encoding": "utf-8", "prop',
    "not json": b"\x00\xff\xfe garbled \x81",
    "json, not a message": b'{"body": "e30=", "headers": {}}',
}


@pytest.fixture
def broker_folder(tmp_path: Path) -> Path:
    return tmp_path / "broker"


@pytest.fixture
def broker_options(broker_folder: Path) -> dict[str, str]:
    return folder_options(broker_folder)


def connect(options: dict[str, str]):
    return celery_app.connection_for_write("filesystem://", transport_options=options)


def filesystem_worker(broker_folder: Path, **extra_env: str) -> WorkerProcess:
    return WorkerProcess(
        {"CELERY_BROKER_URL": "filesystem://", "FILESYSTEM_BROKER_DIR": str(broker_folder), **extra_env}
    )


def message_files(folder: str) -> list[str]:
    return sorted(name for name in os.listdir(folder) if name.endswith(".msg"))


@pytest.mark.worker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_worker_parks_unreadable_messages_and_runs_the_next_real_one(
    httpserver, settings, broker_folder, broker_options
):
    httpserver.expect_request("/article").respond_with_data(ARTICLE, content_type="text/html")
    settings.SOURCES_ALLOW_PRIVATE_NETWORKS = True
    settings.SOURCES_ALLOWED_PORTS = frozenset({httpserver.port})
    worker = filesystem_worker(
        broker_folder,
        SOURCES_ALLOW_PRIVATE_NETWORKS="1",
        SOURCES_ALLOWED_PORTS=str(httpserver.port),
    )
    try:
        worker.start()
        # Named to sort before any real message, in both queues the worker reads.
        unreadable = {
            f"0_{uuid.uuid4()}.{queue}.msg": content
            for queue in ("fetch", "default")
            for content in UNREADABLE_MESSAGES.values()
        }
        for name, content in unreadable.items():
            (Path(broker_options["data_folder_in"]) / name).write_bytes(content)
        wait_for(
            lambda: len(os.listdir(broker_options["bad_folder"])) == len(unreadable),
            what=f"the worker to park every unreadable message\n{worker.log()}",
        )

        source = SourceFactory(url=httpserver.url_for("/article"))
        token = source_request_fetch(source=source, queue=False)
        with connect(broker_options) as connection:
            fetch_source.apply_async((source.pk, str(token)), connection=connection)

        def snapshot():
            close_old_connections()
            return Snapshot.objects.filter(source=source).first()

        fetched = wait_for(snapshot, what=f"the worker to fetch after parking\n{worker.log()}")
        assert worker.process.poll() is None, worker.log()
    finally:
        worker.stop()

    assert fetched.outcome == Snapshot.Outcome.FETCHED
    assert sorted(os.listdir(broker_options["bad_folder"])) == sorted(unreadable)
    assert worker.log().count("Parked unreadable broker message") == len(unreadable)
    assert "Unrecoverable error" not in worker.log()
    assert message_files(broker_options["data_folder_in"]) == []


def publish_requeue_tasks(options: dict[str, str], count: int) -> None:
    """A publisher process: `count` cheap tasks, one after the other."""
    with connect(options) as connection:
        for _ in range(count):
            celery_app.send_task("sources.tasks.requeue_stale_fetches", connection=connection)


def partial_messages_seen(folder: str, stop: threading.Event, seen: list[str]) -> None:
    """Reads every message file in the queue folder over and over, as fast as a consumer could,
    and records each one that is not a whole message."""
    while not stop.is_set():
        for name in os.listdir(folder):
            if not name.endswith(".msg"):
                continue
            try:
                content = (Path(folder) / name).read_bytes()
            except FileNotFoundError:
                continue  # the worker took it
            try:
                json.loads(content)
            except ValueError:
                seen.append(name)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_messages_published_at_once_by_many_processes_are_never_read_half_written(
    broker_folder, broker_options
):
    publishers, per_publisher = 4, 250
    worker = filesystem_worker(broker_folder)
    worker.concurrency = 8
    stop_reading = threading.Event()
    partial: list[str] = []
    reader = threading.Thread(
        target=partial_messages_seen, args=(broker_options["data_folder_in"], stop_reading, partial)
    )
    try:
        worker.start()
        reader.start()
        processes = [
            multiprocessing.get_context("fork").Process(
                target=publish_requeue_tasks, args=(broker_options, per_publisher)
            )
            for _ in range(publishers)
        ]
        for process in processes:
            process.start()
        for process in processes:
            process.join()
        stop_reading.set()

        def all_run_or_worker_gone():
            return worker.log().count("succeeded in") >= publishers * per_publisher or (
                worker.process.poll() is not None
            )

        wait_for(all_run_or_worker_gone, timeout=180, what=f"every task to run\n{worker.log()[-3000:]}")
        assert worker.process.poll() is None, worker.log()[-3000:]
    finally:
        stop_reading.set()
        worker.stop()

    assert [process.exitcode for process in processes] == [0] * publishers
    assert partial == []
    assert worker.log().count("succeeded in") == publishers * per_publisher
    assert os.listdir(broker_options["bad_folder"]) == []


EXCHANGES = [Exchange(f"exchange-{n}", type="direct") for n in range(100)]


def bind_after(barrier, options: dict[str, str], queue_name: str) -> None:
    """A process that binds its queue to every exchange, in step with the other processes."""
    with connect(options) as connection:
        channel = connection.default_channel
        barrier.wait()
        for exchange in EXCHANGES:
            Queue(queue_name, exchange, routing_key=queue_name).declare(channel=channel)


def test_bindings_made_at_once_by_many_processes_are_all_kept_and_always_readable(broker_options):
    queue_names = [f"queue-{n}" for n in range(4)]
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(len(queue_names))
    bound = threading.Event()
    errors: list[BaseException] = []

    def read_while_binding() -> None:
        with connect(broker_options) as connection:
            channel = connection.default_channel
            while not bound.is_set():
                for exchange in EXCHANGES:
                    try:
                        channel.get_table(exchange.name)
                    except BaseException as error:  # reported by the assertion below
                        errors.append(error)

    binders = [
        context.Process(target=bind_after, args=(barrier, broker_options, name)) for name in queue_names
    ]
    for process in binders:
        process.start()
    # Started after the forks: a child forked while this thread held a lock could hang on it.
    reader = threading.Thread(target=read_while_binding)
    reader.start()
    for process in binders:
        process.join()
    bound.set()
    reader.join()

    assert [process.exitcode for process in binders] == [0] * len(binders)
    assert errors == []
    with connect(broker_options) as connection:
        tables = {
            exchange.name: {binding.queue for binding in connection.default_channel.get_table(exchange.name)}
            for exchange in EXCHANGES
        }
    assert tables == {exchange.name: set(queue_names) for exchange in EXCHANGES}


def test_a_missing_queue_folder_is_a_connection_error_that_a_worker_recovers_from(broker_options):
    os.rmdir(broker_options["data_folder_in"])

    with connect(broker_options) as connection, pytest.raises(BrokerConnectionError):
        connection.default_channel.basic_get("fetch")


def send(connection, **options) -> None:
    celery_app.send_task("sources.tasks.requeue_stale_fetches", connection=connection, **options)


def test_a_claimed_message_stays_on_disk_until_it_is_acknowledged(broker_options):
    with connect(broker_options) as connection:
        send(connection)
        channel = connection.default_channel
        message = channel.basic_get("default")

        [claimed] = os.listdir(broker_options["processed_folder"])
        assert message_files(broker_options["data_folder_in"]) == []
        name, claimer, _claimed_at = parse_claimed_name(claimed)
        assert claimer == Claimer.this_process()
        assert name.endswith(".default.msg")

        message.ack()

    assert os.listdir(broker_options["processed_folder"]) == []
    assert message_files(broker_options["data_folder_in"]) == []


def test_a_rejected_message_is_requeued_or_deleted_as_asked(broker_options):
    with connect(broker_options) as connection:
        send(connection)
        send(connection)
        channel = connection.default_channel
        requeued, dropped = channel.basic_get("default"), channel.basic_get("default")
        claims = os.listdir(broker_options["processed_folder"])
        queued_names = {parse_claimed_name(name)[0] for name in claims}

        requeued.reject(requeue=True)
        dropped.reject(requeue=False)

        assert os.listdir(broker_options["processed_folder"]) == []
        [back] = message_files(broker_options["data_folder_in"])
        assert back in queued_names
        again = channel.basic_get("default")
        assert again.delivery_tag == requeued.delivery_tag
        again.ack()


def test_unacknowledged_messages_go_back_to_the_queue_when_the_consumer_closes(broker_options):
    with connect(broker_options) as connection:
        for _ in range(3):
            send(connection)
        channel = connection.default_channel
        first = channel.basic_get("default")
        channel.basic_get("default")
        channel.basic_get("default")
        first.ack()
        assert len(os.listdir(broker_options["processed_folder"])) == 2

    assert os.listdir(broker_options["processed_folder"]) == []
    assert len(message_files(broker_options["data_folder_in"])) == 2


def claim_and_hang(options: dict[str, str], claimed, count: int) -> None:
    """A consumer process that claims `count` messages and never acknowledges them."""
    with connect(options) as connection:
        for _ in range(count):
            connection.default_channel.basic_get("default")
        claimed.set()
        threading.Event().wait()


def test_messages_of_a_killed_consumer_are_restored_by_the_next_one_at_once(broker_options):
    with connect(broker_options) as connection:
        for _ in range(3):
            send(connection)
    context = multiprocessing.get_context("fork")
    claimed = context.Event()
    consumer = context.Process(target=claim_and_hang, args=(broker_options, claimed, 3))
    consumer.start()
    assert claimed.wait(timeout=30)
    claims = [parse_claimed_name(name) for name in os.listdir(broker_options["processed_folder"])]
    assert {claimer.pid for _name, claimer, _at in claims} == {consumer.pid}
    # Alive: nothing to restore before the visibility timeout.
    assert restore_unacked_messages(transport_options=broker_options) == 0

    os.kill(consumer.pid, signal.SIGKILL)
    consumer.join()

    with connect(broker_options) as connection:
        channel = connection.default_channel
        redelivered = [channel.basic_get("default") for _ in range(3)]
        assert all(message is not None for message in redelivered)
        for message in redelivered:
            message.ack()
    assert os.listdir(broker_options["processed_folder"]) == []
    assert message_files(broker_options["data_folder_in"]) == []


def test_claims_not_provably_dead_are_restored_only_after_the_visibility_timeout(broker_options):
    options = {**broker_options, "visibility_timeout": 600}
    claimed_folder = Path(broker_options["processed_folder"])
    now = 1_800_000_000.0
    elsewhere = Claimer(host="another-host", pid=1, started="1")
    alive_here = Claimer.this_process()
    for number, claimer in enumerate((elsewhere, alive_here)):
        (claimed_folder / claimed_name(f"{number}_m.default.msg", claimer, now - 60)).write_bytes(b"{}")

    assert restore_unacked_messages(transport_options=options, now=now) == 0
    assert restore_unacked_messages(transport_options=options, now=now + 541) == 2
    assert message_files(broker_options["data_folder_in"]) == ["0_m.default.msg", "1_m.default.msg"]


def test_a_pid_reused_by_another_process_does_not_keep_a_claim_alive(broker_options):
    here = Claimer.this_process()
    reused = Claimer(host=here.host, pid=here.pid, started=str(int(here.started) - 1))
    gone = Claimer(host=here.host, pid=2**22 + 1, started="5")  # above Linux's largest pid

    assert not here.is_provably_dead()
    assert reused.is_provably_dead()
    assert gone.is_provably_dead()
    assert not Claimer(host="another-host", pid=2**22 + 1, started="5").is_provably_dead()


def test_a_message_that_cannot_be_claimed_stays_in_the_queue(broker_options):
    with connect(broker_options) as connection:
        celery_app.send_task("sources.tasks.requeue_stale_fetches", connection=connection)
        os.rmdir(broker_options["processed_folder"])

        with pytest.raises(BrokerConnectionError):
            connection.default_channel.basic_get("default")

    assert len(message_files(broker_options["data_folder_in"])) == 1


@pytest.fixture
def full_disk(small_disk: Path) -> dict[str, str]:
    """The broker's folders on the small disk, filled to the last byte."""
    options = folder_options(small_disk / "broker")
    fill_disk(small_disk)
    return options


def test_publishing_to_a_full_disk_fails_and_leaves_no_empty_message(full_disk):
    with connect(full_disk) as connection, pytest.raises(Exception, match="No space left on device"):
        celery_app.send_task("sources.tasks.requeue_stale_fetches", connection=connection)

    assert os.listdir(full_disk["data_folder_out"]) == []


@pytest.fixture
def use_broker():
    """Points the app (and so /healthz) at a filesystem broker with the given folders."""
    conf = celery_app.conf
    saved = conf.broker_url, conf.broker_transport_options

    def use(options: dict[str, str]) -> None:
        conf.broker_url, conf.broker_transport_options = "filesystem://", options

    yield use
    conf.broker_url, conf.broker_transport_options = saved


@pytest.mark.django_db
def test_healthz_counts_parked_messages_and_stays_healthy(client, use_broker, broker_options):
    use_broker(broker_options)
    for name in ("0_a.fetch.msg", "0_b.default.msg"):
        (Path(broker_options["bad_folder"]) / name).write_bytes(b"")

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "broker": "ok",
        "broker_parked_messages": 2,
        "cache": "ok",
        "cache_failures": 0,
    }


@pytest.mark.django_db
def test_healthz_is_unavailable_when_the_queue_disk_is_full(client, use_broker, full_disk):
    use_broker(full_disk)

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["broker"] == "down"
    assert body["broker_problem"] == (
        "cannot write and claim a message in the queue folder: No space left on device (ENOSPC)"
    )


@pytest.mark.django_db
def test_healthz_is_unavailable_when_the_queue_disk_is_nearly_full(client, use_broker, small_disk):
    use_broker(folder_options(small_disk / "broker"))

    response = client.get("/healthz")

    assert response.status_code == 503
    assert re.fullmatch(
        r"the queue folder's disk is nearly full: \d+ kB free", response.json()["broker_problem"]
    )


@pytest.mark.django_db
def test_healthz_is_unavailable_when_the_queue_folder_is_missing(client, use_broker, broker_options):
    use_broker(broker_options)
    os.rmdir(broker_options["data_folder_out"])

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["broker_problem"] == (
        "cannot write and claim a message in the queue folder: No such file or directory (ENOENT)"
    )


@pytest.mark.django_db
def test_healthz_is_unavailable_when_the_queue_folder_cannot_be_written(
    client, use_broker, broker_options
):
    # chmod does not stop root from writing, so the queue "folder" is a file instead.
    use_broker(broker_options)
    os.rmdir(broker_options["data_folder_out"])
    Path(broker_options["data_folder_out"]).write_text("not a folder")

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["broker_problem"] == (
        "cannot write and claim a message in the queue folder: Not a directory (ENOTDIR)"
    )
