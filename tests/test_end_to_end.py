"""The whole workflow on real parts: API → broker → a real worker process → snapshot → publish."""

import pytest
from django.db import close_old_connections

from claims.models import Evidence
from sources.models import Snapshot, Source
from tests.factories import FactCheckerFactory, ReviewerFactory
from tests.pages import ARTICLE
from tests.processes import wait_for

# Flushing after a transactional test would drop the rating scale and groups the migrations
# created; serialized rollback restores them for the tests that follow.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.mark.worker
def test_claim_goes_from_evidence_to_public_through_a_real_worker(
    worker, httpserver, client_for, api_client
):
    httpserver.expect_request("/iran-drones").respond_with_data(ARTICLE, content_type="text/html")
    fact_checker = client_for(FactCheckerFactory())
    reviewer = client_for(ReviewerFactory())

    created = fact_checker.post(
        "/api/v1/claims/",
        {
            "text": "Iran says the drones were exported before the invasion",
            "claimant": "Iran",
            "claim_date": "2022-10-20",
            "tags": ["drones"],
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    claim_id = created.json()["id"]
    added = fact_checker.post(
        f"/api/v1/claims/{claim_id}/evidence/",
        {
            "url": httpserver.url_for("/iran-drones"),
            "quote": "Iran says that these drones were exported before the attack on Ukraine",
            "stance": "supports",
        },
        format="json",
    )
    assert added.status_code == 201, added.content

    def fetched():
        close_old_connections()
        return Source.objects.filter(status=Source.Status.FETCHED).first()

    source = wait_for(fetched, timeout=60, what=f"the worker to fetch\n{worker.log()}")
    snapshot = Snapshot.objects.get(source=source)
    assert snapshot.outcome == Snapshot.Outcome.FETCHED
    assert snapshot.title == "Russia acquires hundreds of Iranian drones"
    assert Evidence.objects.get().quote_status == Evidence.QuoteStatus.FOUND

    assert fact_checker.put(
        f"/api/v1/claims/{claim_id}/verdict/",
        {"rating": "Misleading", "summary": "Iran disputes only the timing."},
        format="json",
    ).status_code == 200
    assert api_client.get(f"/api/v1/claims/{claim_id}/").status_code == 404
    assert fact_checker.post(f"/api/v1/claims/{claim_id}/submit/").status_code == 200
    assert reviewer.post(f"/api/v1/claims/{claim_id}/approve/").status_code == 200

    public = api_client.get(f"/api/v1/claims/{claim_id}/")
    assert public.status_code == 200
    body = public.json()
    assert body["status"] == "published"
    assert body["verdict"]["rating"]["label"] == "Misleading"
    [evidence] = body["evidence"]
    assert evidence["quote_status"] == "found"
    assert evidence["source"]["content_sha256"] == snapshot.content_sha256
    assert [claim["id"] for claim in api_client.get("/api/v1/claims/").json()["results"]] == [
        claim_id
    ]
