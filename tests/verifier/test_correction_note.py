"""The correction note (SPEC §8): written by the fact-checker with a correction, in the admin or the
API, needed to submit it, and shown in the API once the correction is published."""

import pytest

from verifier.models import Verdict
from verifier.services.claims import claim_create
from verifier.services.verdicts import claim_submit

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("queued")]

NOTE = "New shipping records date the deliveries after the invasion, so the rating changed."


def test_the_admin_asks_for_a_correction_note_only_on_a_correction(
    as_user, published_claim, fact_checker
):
    draft = claim_create(actor=fact_checker, text="Iran exported drones in 2021", claimant_name="Iran")

    correcting = as_user(fact_checker).get(f"/admin/claims/claim/{published_claim.pk}/change/")
    drafting = as_user(fact_checker).get(f"/admin/claims/claim/{draft.pk}/change/")

    assert 'name="correction_note"' in correcting.content.decode()
    assert 'name="correction_note"' not in drafting.content.decode()


def test_the_admin_saves_the_note_with_the_correction_and_the_reviewer_reads_it(
    as_user, published_claim, fact_checker, reviewer
):
    as_user(fact_checker).post(
        f"/admin/claims/claim/{published_claim.pk}/verdict/",
        {
            "rating": published_claim.verdicts.get().rating_id,
            "summary": "Timing disputed.",
            "correction_note": NOTE,
        },
    )
    correction = Verdict.objects.get(claim=published_claim, version=2)
    assert correction.correction_note == NOTE

    claim_submit(actor=fact_checker, claim=published_claim)
    page = as_user(reviewer).get(f"/admin/claims/claim/{published_claim.pk}/change/").content.decode()
    assert f'<div class="readonly correction-note">{NOTE}</div>' in page, "the reviewer reads the note"


def test_the_api_takes_the_note_and_shows_it_once_published(
    client_for, api_client, published_claim, fact_checker, reviewer
):
    url = f"/api/v1/claims/{published_claim.pk}/"
    saved = client_for(fact_checker).put(
        f"{url}verdict/", {"rating": "half-true", "summary": "Timing disputed.", "correction_note": NOTE}
    )
    assert saved.status_code == 200 and saved.json()["correction_note"] == NOTE
    assert api_client.get(url).json()["verdict"]["correction_note"] == "", "not public before approval"

    assert client_for(fact_checker).post(f"{url}submit/").status_code == 200
    assert client_for(reviewer).post(f"{url}approve/").status_code == 200

    verdict = api_client.get(url).json()["verdict"]
    assert (verdict["version"], verdict["correction_note"]) == (2, NOTE)
    assert [earlier["correction_note"] for earlier in verdict["corrections"]] == [""]


def test_a_correction_without_a_note_is_refused_by_the_api(client_for, published_claim, fact_checker):
    url = f"/api/v1/claims/{published_claim.pk}/"
    client_for(fact_checker).put(f"{url}verdict/", {"rating": "half-true", "summary": "Timing disputed."})

    refused = client_for(fact_checker).post(f"{url}submit/")

    assert refused.status_code == 400 and "a correction note" in refused.json()["detail"]


def test_a_first_version_keeps_no_note(client_for, fact_checker):
    claim = claim_create(actor=fact_checker, text="Iran exported drones in 2021", claimant_name="Iran")

    saved = client_for(fact_checker).put(
        f"/api/v1/claims/{claim.pk}/verdict/", {"summary": "Draft.", "correction_note": "Nothing to correct."}
    )

    assert saved.json()["correction_note"] == ""
