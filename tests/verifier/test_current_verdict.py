"""The current verdict and the latest verdict (verifier.selectors.verdicts): one definition each,
so the admin's claim list and the API agree on what a claim is rated."""

import pytest
from django.urls import reverse

from tests.factories import rating
from verifier.services.claims import claim_create
from verifier.services.verdicts import verdict_save_draft

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("queued")]

CLAIMS = "/api/v1/claims/"
CHANGELIST = reverse("admin:claims_claim_changelist")


@pytest.fixture
def corrected_in_draft(published_claim, fact_checker):
    """A claim published as False whose correction, rated True, is still a draft."""
    verdict_save_draft(actor=fact_checker, claim=published_claim, rating=rating("true"), summary="Corrected.")
    return published_claim


def admin_listed(client, **params) -> list[int]:
    return [claim.pk for claim in client.get(CHANGELIST, params).context["cl"].result_list]


def api_listed(client, **params) -> list[int]:
    response = client.get(CLAIMS, params)
    assert response.status_code == 200, response.json()
    return [item["id"] for item in response.json()["results"]]


def test_admin_and_api_rating_filters_select_by_the_current_verdict(
    corrected_in_draft, client, client_for, fact_checker
):
    client.force_login(fact_checker)
    staff_api = client_for(fact_checker)

    for value in ("false", "False"):
        assert admin_listed(client, rating=value) == [corrected_in_draft.pk]
        assert api_listed(staff_api, rating=value) == [corrected_in_draft.pk]
    assert admin_listed(client, rating="true") == []
    assert api_listed(staff_api, rating="true") == []


def test_the_claim_list_shows_the_latest_verdict_beside_the_status(corrected_in_draft, client, fact_checker):
    client.force_login(fact_checker)

    page = client.get(CHANGELIST).content.decode()

    assert "True (draft)" in page


def test_a_claim_never_published_is_rated_by_its_open_verdict(client, client_for, fact_checker):
    claim = claim_create(actor=fact_checker, text="Iran exported drones early", claimant_name="Iran")
    verdict_save_draft(actor=fact_checker, claim=claim, rating=rating("misleading"), summary="Dates.")
    client.force_login(fact_checker)

    assert admin_listed(client, rating="misleading") == [claim.pk]
    assert api_listed(client_for(fact_checker), rating="misleading", status="draft") == [claim.pk]
    assert admin_listed(client, rating="none") == []
