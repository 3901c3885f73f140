"""Body integrity: stored bodies and WARC captures are hashed when written, by verify_snapshots,
and by the daily sample; a file edited on disk is named, and repaired only from bytes that hash as
recorded."""

import hashlib
import io
import logging

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from pytest_httpserver import HTTPServer

from sources.models import Snapshot, Source
from sources.services import snapshots_verify, source_request_fetch
from sources.tasks import verify_snapshot_sample
from tests.admin_helpers import fetched_snapshot
from tests.factories import FactCheckerFactory
from verifier.services.claims import claim_create
from verifier.services.evidence import evidence_add
from verifier.services.sources import source_fetch_and_apply

pytestmark = pytest.mark.django_db

BODY = b"<html><body><p>Iran has admitted sending drones.</p></body></html>"
EDITED = b"<html><body><p>Iran has denied sending drones.</p></body></html>"


@pytest.fixture
def origin(settings, httpserver: HTTPServer, tmp_path) -> HTTPServer:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SOURCES_ALLOW_PRIVATE_NETWORKS = True
    settings.SOURCES_ALLOWED_PORTS = frozenset({httpserver.port})
    return httpserver


def stored_snapshot(origin: HTTPServer, path: str = "/drones") -> Snapshot:
    author: User = FactCheckerFactory.create()
    claim = claim_create(actor=author, text=f"Drones at {path}", claimant_name="Iran")
    evidence = evidence_add(
        actor=author, claim=claim, url=origin.url_for(path), quote="drones", stance="supports"
    )
    return fetched_snapshot(Source.objects.get(pk=evidence.source_id), text="Iran drones", body=BODY)


def edit_on_disk(settings, snapshot: Snapshot, data: bytes = EDITED) -> None:
    (settings.MEDIA_ROOT / snapshot.body.name).write_bytes(data)


def verify_snapshots(*args: str) -> str:
    out = io.StringIO()
    call_command("verify_snapshots", *args, stdout=out)
    return out.getvalue()


def test_sound_bodies_pass(origin):
    stored_snapshot(origin)
    assert "every checked body and capture matches" in verify_snapshots()


def test_body_edited_on_disk_is_named_and_fails_the_command(origin, settings):
    snapshot = stored_snapshot(origin)
    sound = stored_snapshot(origin, "/other")
    assert sound.body.name == snapshot.body.name  # same bytes, one file
    edit_on_disk(settings, snapshot)
    out = io.StringIO()
    with pytest.raises(CommandError, match="2 snapshot bodies and 0 WARC captures do not match"):
        call_command("verify_snapshots", stdout=out)
    for checked in (snapshot, sound):
        assert f"MISMATCH snapshot {checked.pk}: {checked.body.name} expected" in out.getvalue()


def test_missing_body_file_is_a_mismatch(origin, settings):
    snapshot = stored_snapshot(origin)
    (settings.MEDIA_ROOT / snapshot.body.name).unlink()
    (mismatch,) = snapshots_verify()
    assert (mismatch.snapshot_id, mismatch.found_sha256) == (snapshot.pk, None)


def test_sample_checks_only_that_many(origin, settings):
    snapshot = stored_snapshot(origin)
    stored_snapshot(origin, "/other")
    edit_on_disk(settings, snapshot)
    assert len(snapshots_verify(sample=1)) == 1
    assert len(snapshots_verify()) == 2


def test_repair_stores_the_body_again_when_the_page_still_hashes_the_same(origin, settings):
    origin.expect_request("/drones").respond_with_data(BODY, content_type="text/html")
    snapshot = stored_snapshot(origin)
    edit_on_disk(settings, snapshot)
    assert "repaired snapshot" in verify_snapshots("--repair")
    assert (settings.MEDIA_ROOT / snapshot.body.name).read_bytes() == BODY
    assert snapshots_verify() == []


def test_repair_refuses_a_page_that_changed(origin, settings):
    origin.expect_request("/drones").respond_with_data(EDITED + b"<!-- new -->", content_type="text/html")
    snapshot = stored_snapshot(origin)
    edit_on_disk(settings, snapshot)
    with pytest.raises(CommandError):
        verify_snapshots("--repair")
    assert (settings.MEDIA_ROOT / snapshot.body.name).read_bytes() == EDITED


def test_storing_the_same_bytes_again_replaces_an_edited_file_and_logs_it(origin, settings, caplog):
    snapshot = stored_snapshot(origin)
    edit_on_disk(settings, snapshot)
    with caplog.at_level(logging.ERROR, logger="sources.services"):
        stored_snapshot(origin, "/again")
    assert (settings.MEDIA_ROOT / snapshot.body.name).read_bytes() == BODY
    assert f"File {snapshot.body.name} hashed" in caplog.text


def test_daily_sample_counts_the_mismatches(origin, settings):
    snapshot = stored_snapshot(origin)
    edit_on_disk(settings, snapshot)
    assert verify_snapshot_sample() == 1


def captured_snapshot(origin: HTTPServer) -> Snapshot:
    """A snapshot fetched from the origin as the worker fetches it, with its WARC capture."""
    origin.expect_request("/drones").respond_with_data(BODY, content_type="text/html")
    source = stored_snapshot(origin).source
    source_fetch_and_apply(source_id=source.pk, token=str(source_request_fetch(source=source, queue=False)))
    snapshot = source.snapshots.get(warc__gt="")
    assert snapshot.warc_sha256
    return snapshot


def test_capture_edited_on_disk_is_named_and_fails_the_command(origin, settings):
    snapshot = captured_snapshot(origin)
    assert "every checked body and capture matches" in verify_snapshots()
    capture = settings.MEDIA_ROOT / snapshot.warc.name
    original = capture.read_bytes()
    capture.write_bytes(original[:100] + bytes([original[100] ^ 1]) + original[101:])  # one bit flipped

    out = io.StringIO()
    with pytest.raises(CommandError, match="0 snapshot bodies and 1 WARC captures do not match"):
        call_command("verify_snapshots", stdout=out)

    assert out.getvalue() == (
        f"MISMATCH snapshot {snapshot.pk}: {snapshot.warc.name} expected {snapshot.warc_sha256}, "
        f"found {hashlib.sha256(capture.read_bytes()).hexdigest()}\n"
    )
    [mismatch] = snapshots_verify()
    assert (mismatch.kind, mismatch.snapshot_id) == ("capture", snapshot.pk)


def test_a_missing_capture_is_a_mismatch_that_a_re_fetch_cannot_repair(origin, settings, caplog):
    snapshot = captured_snapshot(origin)
    (settings.MEDIA_ROOT / snapshot.warc.name).unlink()
    hits_before = len(origin.log)

    with caplog.at_level(logging.WARNING, logger="sources.services"), pytest.raises(CommandError):
        verify_snapshots("--repair")

    # The page was fetched again and is unchanged, but a capture holds its own exchange's dates and
    # record ids: the new one hashes differently and is not stored under the recorded hash.
    assert len(origin.log) == hits_before + 1
    assert not (settings.MEDIA_ROOT / snapshot.warc.name).exists()
    assert f"restore {snapshot.warc.name} from a backup" in caplog.text
