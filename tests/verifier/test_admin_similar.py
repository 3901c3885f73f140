"""Similar claims in the admin: the claim form's list (as the text is typed, and on the saved
claim's page), the warning after saving a claim already recorded, and the CSV import preview."""

from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from claims.models import Claim
from tests.factories import ClaimFactory, UserFactory

pytestmark = pytest.mark.django_db

SIMILAR = reverse("admin:claims_claim_similar")
ADD = reverse("admin:claims_claim_add")
IMPORT = reverse("admin:claims_claim_import")
DRONES = "Russia has acquired hundreds of drones from Iran."


@pytest.fixture(autouse=True)
def no_broker():
    with mock.patch("sources.services.enqueue_fetch"):
        yield


@pytest.fixture
def published_drones(make_published_claim, indexed):
    (claim,) = indexed(make_published_claim(text=DRONES, claimant="John Kirby"))
    return claim


def test_the_staff_endpoint_lists_similar_claims_with_status_rating_and_link(
    as_user, fact_checker, published_drones, indexed
):
    (draft,) = indexed(ClaimFactory(text="Colombia is the world's largest coffee producer."))

    response = as_user(fact_checker).get(SIMILAR, {"text": "Russia bought hundreds of drones from Iran"})

    assert response.status_code == 200
    [best, *rest] = response.json()["results"]
    assert best == {
        "id": published_drones.pk,
        "text": DRONES,
        "status": "Published",
        "rating": "False",
        "score": best["score"],
        "same_claim": True,
        "admin_url": reverse("admin:claims_claim_change", args=[published_drones.pk]),
    }
    assert [item["id"] for item in rest] == [draft.pk]
    assert rest[0]["same_claim"] is False and rest[0]["rating"] is None


def test_the_endpoint_leaves_out_the_claim_being_edited(as_user, fact_checker, published_drones):
    response = as_user(fact_checker).get(SIMILAR, {"text": DRONES, "exclude": published_drones.pk})

    assert response.json() == {"results": []}


def test_the_endpoint_is_for_staff_only(client, published_drones):
    assert client.get(SIMILAR, {"text": DRONES}).status_code == 302
    client.force_login(UserFactory(is_staff=False))
    assert client.get(SIMILAR, {"text": DRONES}).status_code == 302


def test_the_claim_form_loads_the_script_and_the_page_lists_the_saved_claims_similar_ones(
    as_user, fact_checker, published_drones, indexed
):
    (draft,) = indexed(
        ClaimFactory(text="Russia bought hundreds of drones from Iran", created_by=fact_checker)
    )
    client = as_user(fact_checker)

    add_page = client.get(ADD).content.decode()
    assert "verifier/similar_claims.js" in add_page
    assert f'data-url="{SIMILAR}"' in add_page

    page = client.get(reverse("admin:claims_claim_change", args=[draft.pk])).content.decode()
    link = reverse("admin:claims_claim_change", args=[published_drones.pk])
    assert f'<a href="{link}">#{published_drones.pk} {DRONES}</a> — Published, False' in page
    assert "already checked" in page
    assert f'data-exclude="{draft.pk}"' in page


def test_saving_a_claim_already_recorded_warns_with_the_recorded_one(as_user, fact_checker, published_drones):
    claimant = published_drones.claimant
    response = as_user(fact_checker).post(
        ADD,
        {
            "text": "Russia bought hundreds of drones from Iran",
            "claimant": claimant.pk,
            "language": "",
            "new_evidence-TOTAL_FORMS": "0",
            "new_evidence-INITIAL_FORMS": "0",
        },
        follow=True,
    )

    assert response.status_code == 200
    messages = [str(message) for message in response.context["messages"]]
    assert any(
        f"already recorded: #{published_drones.pk} (Published, False)" in message for message in messages
    ), messages
    created = Claim.objects.exclude(pk=published_drones.pk).get()
    assert created.language == "en"


def test_the_admin_links_a_claim_as_same_as_another(as_user, fact_checker, published_drones):
    draft = ClaimFactory(text="Rusia compró drones a Irán.", created_by=fact_checker)
    page = reverse("admin:claims_claim_change", args=[draft.pk])

    response = as_user(fact_checker).post(
        page,
        {
            "text": draft.text,
            "claimant": draft.claimant_id,
            "language": "es",
            "same_as": published_drones.pk,
            "evidence-TOTAL_FORMS": "0",
            "evidence-INITIAL_FORMS": "0",
            "new_evidence-TOTAL_FORMS": "0",
            "new_evidence-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    draft.refresh_from_db()
    assert (draft.same_as_id, draft.language) == (published_drones.pk, "es")


def test_the_import_preview_flags_rows_matching_recorded_claims(as_user, fact_checker, published_drones):
    content = (
        "claimant,text\n"
        "Reuters,Russia bought hundreds of drones from Iran\n"
        "Reuters,Colombia is the world's largest coffee producer\n"
    )
    response = as_user(fact_checker).post(
        IMPORT, {"file": SimpleUploadedFile("claims.csv", content.encode(), "text/csv")}
    )

    preview = response.context["preview"]
    [drones, coffee] = preview.valid
    assert [same.claim_id for same in drones.same_claims] == [published_drones.pk]
    assert coffee.same_claims == []
    page = response.content.decode()
    link = reverse("admin:claims_claim_change", args=[published_drones.pk])
    assert f'already checked?</span> same as <a href="{link}">#{published_drones.pk}</a> (Published)' in page
    assert "Import 2 claims as drafts" in page
