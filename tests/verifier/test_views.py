"""The public fact-check page at /claims/{id}/."""

import pytest

from claims.services import claim_create
from tests.verifier.conftest import IRAN_QUOTE

pytestmark = pytest.mark.django_db


def test_page_shows_the_published_fact_check(client, published_claim):
    response = client.get(published_claim.get_absolute_url())

    assert response.status_code == 200
    page = response.content.decode()
    assert published_claim.text in page
    assert "Verdict: False" in page
    assert "Iran admits supplying drones but disputes the timing." in page
    assert IRAN_QUOTE in page
    assert published_claim.evidence.get().source.url in page


def test_page_of_an_unpublished_claim_is_404(client, fact_checker):
    draft = claim_create(actor=fact_checker, text="A draft claim", claimant_name="Iran")

    assert client.get(draft.get_absolute_url()).status_code == 404


def test_page_path_is_the_api_url(client, published_claim):
    assert published_claim.get_absolute_url() == f"/claims/{published_claim.pk}/"
