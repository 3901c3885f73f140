"""GET /api/v1/sources/{id}/: a cited source and its fetch history, for staff only."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sources.models import Snapshot
from tests.factories import SourceFactory, UserFactory

pytestmark = pytest.mark.django_db

SNAPSHOT_FIELDS = {
    "id", "fetched_at", "outcome", "error_detail", "change", "requested_url", "final_url",
    "redirect_chain", "connected_ip", "http_status", "headers", "content_type", "charset",
    "bytes_received", "body_bytes", "truncated", "content_sha256", "text_sha256", "title",
    "author", "published",
}


def record(source, **fields) -> Snapshot:
    return Snapshot.objects.create(
        source=source, fetch_token=uuid.uuid4(), requested_url=source.url, **fields
    )


@pytest.fixture
def source_with_history():
    source = SourceFactory(url="https://news.example.org/iran-drones")
    first = record(
        source,
        outcome=Snapshot.Outcome.FETCHED,
        final_url="https://news.example.org/iran-drones/",
        http_status=200,
        content_sha256="a" * 64,
        title="Iran admits sending drones",
        text="Iran admits sending drones to Russia. " * 10_000,
    )
    gone = record(source, outcome=Snapshot.Outcome.HTTP_ERROR, http_status=404, change=Snapshot.Change.GONE)
    return source, first, gone


@pytest.fixture
def staff(client_for):
    return client_for(UserFactory(is_staff=True))


def test_staff_see_the_source_with_its_snapshots_newest_first(staff, source_with_history):
    source, first, gone = source_with_history

    response = staff.get(f"/api/v1/sources/{source.pk}/")

    assert response.status_code == 200
    body = response.json()
    assert body["url"] == source.url and body["status"] == source.status
    assert [snapshot["id"] for snapshot in body["snapshots"]] == [gone.pk, first.pk]
    newest, oldest = body["snapshots"]
    assert set(newest) == SNAPSHOT_FIELDS
    assert (newest["outcome"], newest["change"], newest["http_status"]) == ("http_error", "gone", 404)
    assert oldest["content_sha256"] == "a" * 64
    assert oldest["final_url"] == "https://news.example.org/iran-drones/"


def test_snapshot_text_and_body_are_never_loaded_or_sent(staff, source_with_history):
    source, _, _ = source_with_history

    with CaptureQueriesContext(connection) as queries:
        body = staff.get(f"/api/v1/sources/{source.pk}/").json()

    assert all("text" not in snapshot and "body" not in snapshot for snapshot in body["snapshots"])
    snapshot_sql = [q["sql"] for q in queries.captured_queries if "sources_snapshot" in q["sql"]]
    assert snapshot_sql and not any('"sources_snapshot"."text"' in sql for sql in snapshot_sql)


def test_anonymous_is_401(api_client, source_with_history):
    source, _, _ = source_with_history

    assert api_client.get(f"/api/v1/sources/{source.pk}/").status_code == 401


def test_non_staff_is_403(client_for, source_with_history):
    source, _, _ = source_with_history

    response = client_for(UserFactory(is_staff=False)).get(f"/api/v1/sources/{source.pk}/")

    assert response.status_code == 403


def test_missing_source_is_404(staff):
    assert staff.get("/api/v1/sources/99999/").status_code == 404


def test_query_count_does_not_grow_with_snapshots(staff, source_with_history, django_assert_num_queries):
    source, _, _ = source_with_history
    for _ in range(10):
        record(source, outcome=Snapshot.Outcome.TIMEOUT, change=Snapshot.Change.UNREACHABLE)

    # The token, the source, its snapshots.
    with django_assert_num_queries(3):
        response = staff.get(f"/api/v1/sources/{source.pk}/")

    assert len(response.json()["snapshots"]) == 12
