"""Recording fetches: one immutable snapshot per attempt, quote checks, link-rot classification."""

import gzip
import hashlib
import importlib
import socket
import uuid
from datetime import datetime, timedelta
from unittest import mock

import pytest
import redis
from django.conf import settings as django_settings
from django.core.files.storage import default_storage
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from werkzeug import Response

from claims.models import Claim, Evidence
from core.errors import DomainError, ErrorKind
from sources import services
from sources.host_slots import redis_slot_key
from sources.models import HostFetchSlot, ImmutableRowError, Snapshot, Source
from sources.services import (
    HostBusy,
    TransientFailure,
    source_request_fetch,
    sources_recheck_due,
    sources_refetch,
    sources_requeue_expired_leases,
    sources_requeue_stale,
)
from tests.factories import rating
from verifier.services.claims import claim_create
from verifier.services.evidence import evidence_add
from verifier.services.sources import source_fetch_and_apply
from verifier.services.verdicts import claim_submit, verdict_approve, verdict_save_draft

pytestmark = pytest.mark.django_db

ARTICLE = """<!doctype html><html><head><title>Iran admits sending drones</title>
<meta name="author" content="Staff Reporter"></head><body><article>
<h1>Iran admits sending drones</h1>
<p>Iran has also admitted to sending drones to Russia, but Iran says that these drones were
exported before the attack on Ukraine.</p>
<p>On the other hand, Russia has also been rejecting the allegations that Iranian drones have
been used to attack Ukraine. White House spokesman John Kirby said that in bilateral relations
between Iran and Russia, Tehran has received extraordinary defence support from Moscow.</p>
</article></body></html>"""


@pytest.fixture
def queued(monkeypatch):
    """Records fetches asked of the broker instead of sending them."""
    calls: list[tuple[int, uuid.UUID]] = []
    monkeypatch.setattr(
        "sources.services.enqueue_fetch",
        lambda *, source_id, token: calls.append((source_id, token)) or True,
    )
    return calls


@pytest.fixture
def local_site(settings, httpserver):
    settings.SOURCES_ALLOW_PRIVATE_NETWORKS = True
    settings.SOURCES_ALLOWED_PORTS = frozenset({httpserver.port})
    settings.MEDIA_ROOT = str(settings.VAR_DIR / "test-media")
    return httpserver


def cite(user, url, quote, *, claim=None):
    claim = claim or claim_create(actor=user, text="Iran exported drones early", claimant_name="Iran")
    return evidence_add(actor=user, claim=claim, url=url, quote=quote, stance="supports")


def hold_host_slots(host: str, *, until: datetime) -> None:
    """Every slot of the host held by other fetches until then (before now: lapsed), wherever the
    slots live (sources.host_slots)."""
    for slot in range(django_settings.SOURCES_MAX_FETCHES_PER_HOST):
        if django_settings.SOURCES_HOST_SLOTS == "redis":
            redis.Redis.from_url(django_settings.REDIS_URL).set(
                redis_slot_key(host, slot), uuid.uuid4().hex, pxat=int(until.timestamp() * 1000)
            )
        else:
            HostFetchSlot.objects.create(host=host, slot=slot, holder=uuid.uuid4(), expires_at=until)


def host_slots_left() -> list[timedelta]:
    """How long each held host slot has left to live."""
    if django_settings.SOURCES_HOST_SLOTS == "redis":
        client = redis.Redis.from_url(django_settings.REDIS_URL)
        return [timedelta(milliseconds=client.pttl(key)) for key in client.keys("verifier:fetch-slot:*")]
    now = timezone.now()
    return [slot.expires_at - now for slot in HostFetchSlot.objects.all()]


def run_fetch(source: Source, **kwargs):
    source.refresh_from_db()
    return source_fetch_and_apply(source_id=source.pk, token=str(source.fetch_token), **kwargs)


def test_adding_evidence_queues_one_fetch_after_commit(
    fact_checker, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        evidence = cite(fact_checker, "https://news.example.org/a", "quote")
    assert queued == [(evidence.source_id, evidence.source.fetch_token)]
    assert evidence.source.status == Source.Status.PENDING


def test_fetch_stores_a_snapshot_and_finds_the_quote(fact_checker, queued, local_site):
    local_site.expect_request("/drones").respond_with_data(ARTICLE, content_type="text/html")
    # Typography and spacing differ from the page: straight quotes, a line break, capitals.
    evidence = cite(
        fact_checker,
        local_site.url_for("/drones"),
        "Iran says that these drones were EXPORTED before  the attack on Ukraine",
    )
    snapshot = run_fetch(evidence.source)

    assert isinstance(snapshot, Snapshot)
    assert snapshot.outcome == Snapshot.Outcome.FETCHED
    assert snapshot.http_status == 200
    assert snapshot.title == "Iran admits sending drones"
    assert snapshot.content_sha256 == hashlib.sha256(ARTICLE.encode()).hexdigest()
    assert snapshot.connected_ip == "127.0.0.1"
    assert snapshot.change == Snapshot.Change.FIRST
    with default_storage.open(snapshot.body.name) as stored:
        assert stored.read() == ARTICLE.encode()
    evidence.refresh_from_db()
    assert evidence.quote_status == Evidence.QuoteStatus.FOUND
    assert evidence.quote_checked_snapshot == snapshot
    source = Source.objects.get(pk=evidence.source_id)
    assert source.status == Source.Status.FETCHED
    assert source.next_check_at == source.last_fetched_at + timedelta(days=7)


def test_quote_missing_from_the_page_is_not_found(fact_checker, queued, local_site):
    local_site.expect_request("/drones").respond_with_data(ARTICLE, content_type="text/html")
    evidence = cite(fact_checker, local_site.url_for("/drones"), "Iran denies sending any drones")
    run_fetch(evidence.source)
    evidence.refresh_from_db()
    assert evidence.quote_status == Evidence.QuoteStatus.NOT_FOUND


def test_loopback_url_is_refused_up_front(fact_checker, queued):
    with pytest.raises(DomainError) as refused:
        cite(fact_checker, "http://localhost/admin", "anything")
    assert refused.value.field == "url"
    assert not Source.objects.exists()


def test_refused_fetch_is_recorded_with_no_text_to_check(
    fact_checker, queued, local_site, settings
):
    evidence = cite(fact_checker, local_site.url_for("/admin"), "anything")
    settings.SOURCES_ALLOW_PRIVATE_NETWORKS = False
    snapshot = run_fetch(evidence.source)
    assert snapshot.outcome == Snapshot.Outcome.BLOCKED
    assert snapshot.error_detail
    assert local_site.log == []
    evidence.refresh_from_db()
    assert evidence.quote_status == Evidence.QuoteStatus.NO_TEXT
    assert Source.objects.get(pk=evidence.source_id).status == Source.Status.FAILED


def test_redelivered_fetch_creates_no_second_snapshot(fact_checker, queued, local_site):
    local_site.expect_request("/drones").respond_with_data(ARTICLE, content_type="text/html")
    evidence = cite(fact_checker, local_site.url_for("/drones"), "drones")
    token = str(Source.objects.get(pk=evidence.source_id).fetch_token)
    assert isinstance(source_fetch_and_apply(source_id=evidence.source_id, token=token), Snapshot)
    assert source_fetch_and_apply(source_id=evidence.source_id, token=token) is None
    assert Snapshot.objects.count() == 1


def test_fetch_interrupted_mid_way_is_redone_once(fact_checker, queued, local_site):
    local_site.expect_request("/drones").respond_with_data(ARTICLE, content_type="text/html")
    evidence = cite(fact_checker, local_site.url_for("/drones"), "drones")
    source = Source.objects.get(pk=evidence.source_id)
    # What a worker killed after claiming the fetch leaves behind.
    Source.objects.filter(pk=source.pk).update(status=Source.Status.FETCHING)
    assert isinstance(run_fetch(source), Snapshot)
    assert run_fetch(source) is None
    assert Snapshot.objects.count() == 1


def test_fetch_with_an_outdated_token_does_nothing(fact_checker, queued, local_site):
    evidence = cite(fact_checker, local_site.url_for("/drones"), "drones")
    old_token = str(Source.objects.get(pk=evidence.source_id).fetch_token)
    source_request_fetch(source=evidence.source)
    assert source_fetch_and_apply(source_id=evidence.source_id, token=old_token) is None
    assert local_site.log == []


def test_transient_failure_is_retried_before_it_is_recorded(fact_checker, queued, local_site):
    local_site.expect_request("/busy").respond_with_data(
        "busy", status=503, headers={"Retry-After": "7"}
    )
    evidence = cite(fact_checker, local_site.url_for("/busy"), "drones")
    failure = run_fetch(evidence.source, record_transient=False)
    assert isinstance(failure, TransientFailure)
    assert failure.retry_after == 7
    assert Snapshot.objects.count() == 0
    snapshot = run_fetch(evidence.source, record_transient=True)
    assert (snapshot.outcome, snapshot.http_status) == (Snapshot.Outcome.HTTP_ERROR, 503)


def test_identical_bodies_are_stored_once(fact_checker, queued, local_site):
    local_site.expect_request("/a").respond_with_data(ARTICLE, content_type="text/html")
    local_site.expect_request("/b").respond_with_data(ARTICLE, content_type="text/html")
    cited = cite(fact_checker, local_site.url_for("/a"), "drones")
    first = run_fetch(cited.source)
    # On the same claim: the same claim is not recorded twice.
    second = run_fetch(cite(fact_checker, local_site.url_for("/b"), "drones", claim=cited.claim).source)
    assert first.body.name == second.body.name


def test_snapshots_cannot_be_changed_or_deleted(fact_checker, queued, local_site):
    local_site.expect_request("/a").respond_with_data(ARTICLE, content_type="text/html")
    snapshot = run_fetch(cite(fact_checker, local_site.url_for("/a"), "drones").source)
    snapshot = Snapshot.objects.get(pk=snapshot.pk)
    snapshot.text = "tampered"
    with pytest.raises(ImmutableRowError):
        snapshot.save()
    with pytest.raises(ImmutableRowError):
        snapshot.delete()


def publish(fact_checker, reviewer, evidence):
    verdict_save_draft(
        actor=fact_checker, claim=evidence.claim, rating=rating("misleading"), summary="Timing."
    )
    claim_submit(actor=fact_checker, claim=evidence.claim)
    verdict_approve(actor=reviewer, claim=evidence.claim)


@pytest.mark.parametrize(
    ("second_response", "change", "flagged"),
    [
        ({"response_data": ARTICLE, "content_type": "text/html"}, "same", False),
        (
            {"response_data": ARTICLE.replace("exported", "shipped"), "content_type": "text/html"},
            "changed",
            True,
        ),
        ({"response_data": "gone", "status": 404}, "gone", True),
        ({"response_data": "gone", "status": 410}, "gone", True),
        ({"response_data": "oops", "status": 500}, "unreachable", False),
    ],
)
def test_recheck_classifies_against_the_previous_snapshot(
    fact_checker, reviewer, queued, local_site, second_response, change, flagged
):
    local_site.expect_ordered_request("/page").respond_with_data(ARTICLE, content_type="text/html")
    local_site.expect_ordered_request("/page").respond_with_data(**second_response)
    evidence = cite(fact_checker, local_site.url_for("/page"), "these drones were exported")
    run_fetch(evidence.source)
    publish(fact_checker, reviewer, evidence)

    Source.objects.filter(pk=evidence.source_id).update(next_check_at=timezone.now())
    assert sources_recheck_due() == 1
    snapshot = run_fetch(evidence.source)

    assert snapshot.change == change
    claim = Claim.objects.get(pk=evidence.claim_id)
    assert claim.status == Claim.Status.PUBLISHED, "a flagged claim stays published"
    assert bool(claim.source_flag) is flagged
    if flagged:
        assert evidence.source.url in claim.source_flag


def test_recheck_of_a_now_blocked_source_is_classified_blocked(
    fact_checker, queued, local_site, settings
):
    local_site.expect_request("/page").respond_with_data(ARTICLE, content_type="text/html")
    evidence = cite(fact_checker, local_site.url_for("/page"), "drones")
    run_fetch(evidence.source)
    settings.SOURCES_ALLOW_PRIVATE_NETWORKS = False
    source_request_fetch(source=evidence.source)
    assert run_fetch(evidence.source).change == Snapshot.Change.BLOCKED


def test_sources_not_due_are_not_rechecked(fact_checker, queued, local_site):
    local_site.expect_request("/page").respond_with_data(ARTICLE, content_type="text/html")
    evidence = cite(fact_checker, local_site.url_for("/page"), "drones")
    run_fetch(evidence.source)
    assert sources_recheck_due() == 0


def test_stale_pending_fetch_is_queued_again(fact_checker, queued, settings):
    evidence = cite(fact_checker, "https://news.example.org/a", "quote")
    first_token = Source.objects.get(pk=evidence.source_id).fetch_token
    assert sources_requeue_stale() == 0
    Source.objects.filter(pk=evidence.source_id).update(
        fetch_requested_at=timezone.now() - timedelta(minutes=settings.SOURCES_STALE_FETCH_MINUTES + 1)
    )
    assert sources_requeue_stale() == 1
    assert Source.objects.get(pk=evidence.source_id).fetch_token != first_token


def test_broker_outage_keeps_the_evidence_and_leaves_the_source_pending(
    fact_checker, django_capture_on_commit_callbacks, caplog
):
    from kombu.exceptions import OperationalError

    with mock.patch(
        "config.celery.app.send_task", side_effect=OperationalError("connection refused")
    ), django_capture_on_commit_callbacks(execute=True):
        evidence = cite(fact_checker, "https://news.example.org/a", "quote")
    assert Evidence.objects.filter(pk=evidence.pk).exists()
    assert Source.objects.get(pk=evidence.source_id).status == Source.Status.PENDING
    assert "stale-fetch sweep" in caplog.text


def test_fetch_waits_while_the_host_has_two_fetches_running(fact_checker, queued, local_site):
    local_site.expect_request("/a").respond_with_data(ARTICLE, content_type="text/html")
    evidence = cite(fact_checker, local_site.url_for("/a"), "drones")
    hold_host_slots("127.0.0.1", until=timezone.now() + timedelta(minutes=5))
    assert run_fetch(evidence.source) == HostBusy(host="127.0.0.1")
    assert local_site.log == []
    assert Source.objects.get(pk=evidence.source_id).status == Source.Status.PENDING


def test_lease_of_a_dead_worker_expires(fact_checker, queued, local_site):
    local_site.expect_request("/a").respond_with_data(ARTICLE, content_type="text/html")
    evidence = cite(fact_checker, local_site.url_for("/a"), "drones")
    hold_host_slots("127.0.0.1", until=timezone.now() - timedelta(seconds=1))
    assert isinstance(run_fetch(evidence.source), Snapshot)
    assert not host_slots_left(), "the fetch released its own lease"


def test_the_warc_capture_is_stored_by_its_hash_beside_the_body(fact_checker, queued, local_site):
    local_site.expect_request("/drones").respond_with_data(ARTICLE, content_type="text/html")
    snapshot = run_fetch(cite(fact_checker, local_site.url_for("/drones"), "drones").source)

    assert snapshot.warc.name == f"captures/{snapshot.warc_sha256[:2]}/{snapshot.warc_sha256}.warc.gz"
    with default_storage.open(snapshot.warc.name) as stored:
        warc = stored.read()
    assert hashlib.sha256(warc).hexdigest() == snapshot.warc_sha256
    assert snapshot.warc_bytes == len(warc)
    assert ARTICLE.encode() in gzip.decompress(warc)


def test_a_fetch_without_a_response_stores_no_capture(fact_checker, queued, settings):
    settings.SOURCES_ALLOW_PRIVATE_NETWORKS = True
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    settings.SOURCES_ALLOWED_PORTS = frozenset({port})
    evidence = cite(fact_checker, f"http://127.0.0.1:{port}/", "drones")
    snapshot = run_fetch(evidence.source, record_transient=True)

    assert snapshot.outcome == Snapshot.Outcome.CONNECTION_ERROR
    assert (snapshot.warc.name, snapshot.warc_sha256, snapshot.warc_bytes) == ("", "", 0)


def test_only_a_fact_checker_may_ask_for_a_refetch(
    fact_checker, reviewer, queued, django_capture_on_commit_callbacks
):
    source = cite(fact_checker, "https://news.example.org/a", "quote").source

    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(DomainError) as refused:
            sources_refetch(actor=reviewer, sources=[source])
        count = sources_refetch(actor=fact_checker, sources=[source])

    assert refused.value.kind == ErrorKind.FORBIDDEN
    assert (count, [source_id for source_id, _ in queued]) == (1, [source.pk])


def test_duplicate_message_for_a_running_fetch_does_not_reach_the_origin(
    fact_checker, queued, local_site
):
    evidence = cite(fact_checker, local_site.url_for("/drones"), "drones")
    # What a worker that claimed the fetch and is renewing its lease leaves in the row.
    Source.objects.filter(pk=evidence.source_id).update(
        status=Source.Status.FETCHING, fetch_lease_expires_at=timezone.now() + timedelta(seconds=10)
    )
    assert run_fetch(evidence.source) is None
    assert local_site.log == []
    assert not host_slots_left()


def test_fetch_whose_worker_let_the_lease_lapse_is_claimable(fact_checker, queued, local_site):
    local_site.expect_request("/drones").respond_with_data(ARTICLE, content_type="text/html")
    evidence = cite(fact_checker, local_site.url_for("/drones"), "drones")
    Source.objects.filter(pk=evidence.source_id).update(
        status=Source.Status.FETCHING, fetch_lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert isinstance(run_fetch(evidence.source), Snapshot)
    assert len(local_site.log) == 1


def test_the_workers_renewer_extends_the_claim_and_slot_of_each_running_fetch(
    fact_checker, queued, local_site, monkeypatch
):
    local_site.expect_request("/drones").respond_with_data(ARTICLE, content_type="text/html")
    evidence = cite(fact_checker, local_site.url_for("/drones"), "drones")
    renewed: list[tuple[timedelta, list[timedelta]]] = []
    real_fetch = services.fetch

    def fetch_while_renewing(url, *, limits):
        # As if the fetch had run for most of its lease when the process's renewer comes round.
        Source.objects.filter(pk=evidence.source_id).update(fetch_lease_expires_at=timezone.now())
        services._lease_renewer.renew_all()
        source = Source.objects.get(pk=evidence.source_id)
        renewed.append((source.fetch_lease_expires_at - timezone.now(), host_slots_left()))
        return real_fetch(url, limits=limits)

    monkeypatch.setattr("sources.services.fetch", fetch_while_renewing)
    assert isinstance(run_fetch(evidence.source), Snapshot)

    [(claim_left, slots_left)] = renewed
    lease = timedelta(seconds=django_settings.SOURCES_FETCH_LEASE_SECONDS)
    assert lease / 2 < claim_left <= lease
    assert len(slots_left) == 1 and lease / 2 < slots_left[0] <= lease
    # Once recorded, the fetch is no longer the renewer's, and its slot is free.
    services._lease_renewer.renew_all()
    assert Source.objects.get(pk=evidence.source_id).status == Source.Status.FETCHED
    assert not host_slots_left()


def test_transient_failure_gives_the_claim_back_for_the_retry(fact_checker, queued, local_site):
    local_site.expect_request("/busy").respond_with_data("busy", status=503)
    evidence = cite(fact_checker, local_site.url_for("/busy"), "drones")
    assert isinstance(run_fetch(evidence.source, record_transient=False), TransientFailure)
    source = Source.objects.get(pk=evidence.source_id)
    assert (source.status, source.fetch_lease_expires_at) == (Source.Status.PENDING, None)
    assert not host_slots_left()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_host_slot_and_claim_are_short_leases(fact_checker, queued, local_site, settings):
    settings.SOURCES_FETCH_LEASE_SECONDS = 15
    evidence = cite(fact_checker, local_site.url_for("/drones"), "drones")
    leases: list[tuple[timedelta, timedelta]] = []

    def page_seen_mid_fetch(request):
        # The fetch runs outside any transaction, so its leases are visible to this thread.
        started = timezone.now()
        (slot_left,) = host_slots_left()
        claim = Source.objects.get(pk=evidence.source_id).fetch_lease_expires_at
        leases.append((slot_left, claim - started))
        return Response(ARTICLE, content_type="text/html")

    local_site.expect_request("/drones").respond_with_handler(page_seen_mid_fetch)
    assert isinstance(run_fetch(evidence.source), Snapshot)
    ((slot_left, claim_left),) = leases
    assert timedelta(0) < slot_left <= timedelta(seconds=15)
    assert timedelta(0) < claim_left <= timedelta(seconds=15)


def test_expired_leases_are_queued_again_under_a_new_token(
    fact_checker, queued, local_site, django_capture_on_commit_callbacks
):
    lapsed_evidence = cite(fact_checker, local_site.url_for("/lapsed"), "drones")
    lapsed = lapsed_evidence.source
    live = cite(fact_checker, local_site.url_for("/live"), "drones", claim=lapsed_evidence.claim).source
    now = timezone.now()
    Source.objects.filter(pk=lapsed.pk).update(
        status=Source.Status.FETCHING, fetch_lease_expires_at=now - timedelta(seconds=1)
    )
    Source.objects.filter(pk=live.pk).update(
        status=Source.Status.FETCHING, fetch_lease_expires_at=now + timedelta(seconds=10)
    )
    old_token = Source.objects.get(pk=lapsed.pk).fetch_token
    queued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert sources_requeue_expired_leases() == 1
    lapsed.refresh_from_db()
    assert lapsed.status == Source.Status.PENDING and lapsed.fetch_token != old_token
    assert queued == [(lapsed.pk, lapsed.fetch_token)]
    assert Source.objects.get(pk=live.pk).status == Source.Status.FETCHING


def test_the_source_keeps_its_newest_snapshot_at_hand(fact_checker, queued, local_site):
    local_site.expect_request("/page").respond_with_data(ARTICLE, content_type="text/html")
    evidence = cite(fact_checker, local_site.url_for("/page"), "drones")
    first = run_fetch(evidence.source)
    source_request_fetch(source=evidence.source)
    second = run_fetch(evidence.source)

    evidence.source.refresh_from_db()
    assert evidence.source.latest_snapshot_id == second.pk != first.pk


def test_the_migration_points_existing_sources_at_their_newest_snapshots(fact_checker, queued, local_site):
    from django.apps import apps

    migration = importlib.import_module("sources.migrations.0005_source_latest_snapshot")
    local_site.expect_request("/page").respond_with_data(ARTICLE, content_type="text/html")
    evidence = cite(fact_checker, local_site.url_for("/page"), "drones")
    run_fetch(evidence.source)
    source_request_fetch(source=evidence.source)
    newest = run_fetch(evidence.source)
    never_fetched = cite(fact_checker, local_site.url_for("/later"), "drones", claim=evidence.claim).source
    Source.objects.update(latest_snapshot=None)

    migration.point_each_source_at_its_newest_snapshot(apps, None)

    assert Source.objects.get(pk=evidence.source_id).latest_snapshot_id == newest.pk
    assert Source.objects.get(pk=never_fetched.pk).latest_snapshot_id is None


def test_a_first_fetch_makes_a_fixed_number_of_statements(fact_checker, queued, local_site):
    """Each statement is a round trip a worker waits for while it fetches: the source's claim, the
    public record's check, the snapshot with its change worked out by the INSERT (no read of the
    previous snapshot of its own), the source's outcome, the citing evidence and its claim."""
    local_site.expect_request("/drones").respond_with_data(ARTICLE, content_type="text/html")
    evidence = cite(fact_checker, local_site.url_for("/drones"), "Iran has also admitted")
    source = Source.objects.get(pk=evidence.source_id)

    with CaptureQueriesContext(connection) as queries:
        snapshot = source_fetch_and_apply(source_id=source.pk, token=str(source.fetch_token))

    assert isinstance(snapshot, Snapshot) and snapshot.change == Snapshot.Change.FIRST
    statements = [query["sql"] for query in queries]
    assert not [sql for sql in statements if sql.startswith("SELECT") and 'FROM "sources_snapshot"' in sql]
    verbs = [sql.split(None, 1)[0] for sql in statements]
    # The test runs inside a transaction, so the recording's transaction is a savepoint here.
    recording = ["SAVEPOINT", "INSERT", "UPDATE", "SELECT", "UPDATE", "UPDATE", "RELEASE"]
    if django_settings.SOURCES_HOST_SLOTS == "redis":
        # Claim, public record's check, then the recording; the host slot is in Redis.
        assert verbs == ["SELECT", "UPDATE", "SELECT", *recording]
    else:
        # The host slot's row is taken in the claim's transaction and deleted after the fetch.
        claim = ["SAVEPOINT", "SAVEPOINT", "INSERT", "RELEASE", "UPDATE", "RELEASE"]
        assert verbs == ["SELECT", *claim, "SELECT", "DELETE", *recording]
