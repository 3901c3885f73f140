"""A cited page whose text the database refuses (issue 9, finding 5): a NUL that slipped past the
fetcher used to raise DataError in snapshot_record on PostgreSQL, leaving the source `fetching` and
re-queued by the sweep forever. The attempt is now recorded as a failed extraction."""

import hashlib
import uuid

import pytest
from django.conf import settings
from django.utils import timezone

from sources.fetcher import FetchResult, Outcome
from sources.models import Snapshot, Source
from sources.services import snapshot_record
from tests.factories import SourceFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"),
        reason="SQLite stores a NUL in text as it is; only PostgreSQL refuses it",
    ),
]

HOSTILE_TEXT = "The drones were exported " + "padding " * 300 + "\x00 before the invasion"


def test_a_nul_in_the_fetched_text_is_a_recorded_outcome_not_a_stuck_fetch():
    token = uuid.uuid4()
    source = SourceFactory(status=Source.Status.FETCHING, fetch_token=token, fetch_started_at=timezone.now())
    result = FetchResult(
        requested_url=source.url,
        final_url=source.url,
        outcome=Outcome.FETCHED,
        http_status=200,
        content_type="text/plain",
        title="Drones\x00",
        text=HOSTILE_TEXT,
        text_sha256=hashlib.sha256(HOSTILE_TEXT.encode()).hexdigest(),
    )

    snapshot = snapshot_record(source=source, token=str(token), result=result)

    assert snapshot is not None
    stored = Snapshot.objects.get(pk=snapshot.pk)
    assert (stored.outcome, stored.text, stored.title) == (Snapshot.Outcome.EXTRACTION_FAILED, "", "")
    assert "database refused" in stored.error_detail and "\x00" not in stored.error_detail
    source.refresh_from_db()
    assert (source.status, source.outcome) == (Source.Status.FAILED, Outcome.EXTRACTION_FAILED)
