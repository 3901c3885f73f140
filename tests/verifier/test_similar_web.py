"""GET /api/v1/claims/similar/ served as the Procfile serves it: gunicorn with config/gunicorn.py (the
application and the encoder loaded in the master before it forks), each worker mapping the saved
claim graph and syncing the rows indexed since."""

import json
import urllib.parse
import urllib.request

import pytest

from claims.services import claims_index
from claims.similarity import claim_index_snapshot_store
from tests.processes import WebProcess
from verifier.services.claims import claim_create

DRONES = "Russia has acquired hundreds of drones from Iran."
COFFEE = "Colombia is the world's largest coffee producer."


def similar(web: WebProcess, text: str) -> list[tuple[int, bool]]:
    query = urllib.parse.urlencode({"text": text})
    with urllib.request.urlopen(f"{web.base_url}/api/v1/claims/similar/?{query}", timeout=60) as response:
        return [(found["claim"]["id"], found["same_claim"]) for found in json.load(response)["results"]]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_preloaded_workers_find_saved_and_new_claims_and_never_show_drafts(
    make_published_claim, fact_checker, settings
):
    drones = make_published_claim(text=DRONES, claimant="John Kirby")
    draft = claim_create(actor=fact_checker, text=COFFEE, claimant_name="Colombia")
    claims_index(claim_ids=[drones.pk, draft.pk])
    claim_index_snapshot_store()
    web = WebProcess(
        {"API_THROTTLE_ANON": "none", "CLAIM_INDEX_SNAPSHOT": str(settings.CLAIM_INDEX_SNAPSHOT)},
        workers=2,
        config="config/gunicorn.py",
    )
    try:
        web.start()
        # Enough requests for both workers to answer some.
        saved = [similar(web, "Russia bought hundreds of Iranian drones") for _ in range(6)]
        drafts = [similar(web, "Colombia produces the most coffee") for _ in range(4)]
        coffee = make_published_claim(text="Colombia produces more coffee than any other country.")
        claims_index(claim_ids=[coffee.pk])
        added = [similar(web, "Colombia produces the most coffee") for _ in range(4)]
    finally:
        web.stop()

    assert all(found[:1] == [(drones.pk, True)] for found in saved), web.log()
    assert not any(pk == draft.pk for found in drafts for pk, _ in found)
    assert all(found[:1] == [(coffee.pk, True)] for found in added), web.log()
    assert "Traceback" not in web.log()
