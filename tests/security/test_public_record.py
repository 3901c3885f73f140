"""The public record of a published claim changes only through review (issue 9, finding 2): its
date, appearance URL and tags are frozen with its text and claimant, and the claimant's name and URL
and a tag's name and slug cannot change while a published claim shows them; drafts stay editable."""

import datetime
from unittest import mock

import pytest
from django.contrib.admin import helpers
from django.urls import reverse

from claims.models import Claim, Claimant, Tag
from tests.admin_helpers import admin_form_data, claim_url, drafted_claim

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:claims_claim_changelist")
FROZEN = (
    "The claim is published: its text, claimant, date, appearance URL and tags are the public"
    " record the verdict rates and cannot change."
)


@pytest.fixture(autouse=True)
def no_broker():
    with mock.patch("sources.services.enqueue_fetch"):
        yield


def public_views(client, claim: Claim) -> tuple[bytes, dict]:
    """What a reader sees of the claim: its page and its ClaimReview."""
    page = client.get(claim.get_absolute_url())
    review = client.get(f"/api/v1/claims/{claim.pk}/claimreview/")
    assert (page.status_code, review.status_code) == (200, 200)
    return page.content, review.json()


def form_errors(response) -> list[str]:
    return list(response.context["adminform"].form.non_field_errors())


def claimant_url(claimant: Claimant) -> str:
    return reverse("admin:claims_claimant_change", args=[claimant.pk])


def tag_url(tag: Tag) -> str:
    return reverse("admin:claims_tag_change", args=[tag.pk])


def test_changing_a_published_claims_date_and_appearance_url_in_the_admin_is_refused(
    as_user, fact_checker, other_fact_checker, published_claim
):
    before = public_views(as_user(fact_checker), published_claim)
    page = as_user(fact_checker).get(claim_url(published_claim))
    data = admin_form_data(page)
    data.update(
        claim_date="2022-10-20",
        appearance_url="https://attacker.example.org/forged",
        tags=[str(Tag.objects.create(name="Forged", slug="forged").pk)],
        assignee=str(other_fact_checker.pk),
    )

    response = as_user(fact_checker).post(claim_url(published_claim), data)

    assert response.status_code == 302
    form_fields = page.context["adminform"].form.fields
    assert {"claim_date", "appearance_url", "tags"}.isdisjoint(form_fields)
    published_claim.refresh_from_db()
    assert published_claim.claim_date == datetime.date(2022, 10, 18)
    assert published_claim.appearance_url == "https://news.example.org/iran-statement"
    assert list(published_claim.tags.values_list("name", flat=True)) == ["drones"]
    # The assignee is not part of the public record: it still changes.
    assert published_claim.assignee == other_fact_checker
    assert public_views(as_user(fact_checker), published_claim) == before


def test_tagging_a_published_claim_in_bulk_is_refused_with_the_reason(
    as_user, fact_checker, published_claim
):
    data = {
        "action": "tag",
        helpers.ACTION_CHECKBOX_NAME: [str(published_claim.pk)],
        "tags": "Forged",
        "apply": "1",
    }

    response = as_user(fact_checker).post(CHANGELIST, data, follow=True)

    assert any(FROZEN in str(message) for message in response.context["messages"])
    assert list(published_claim.tags.values_list("name", flat=True)) == ["drones"]


def test_the_api_has_no_way_to_change_a_published_claim(client_for, fact_checker, published_claim):
    client = client_for(fact_checker)
    before = public_views(client, published_claim)
    forged = {"claim_date": "2022-10-20", "appearance_url": "https://attacker.example.org/forged"}

    responses = [
        client.patch(f"/api/v1/claims/{published_claim.pk}/", forged, format="json"),
        client.put(f"/api/v1/claims/{published_claim.pk}/", forged, format="json"),
    ]

    assert [response.status_code for response in responses] == [405, 405]
    assert public_views(client, published_claim) == before


def test_renaming_a_claimant_a_published_claim_names_is_refused(
    as_user, superuser, fact_checker, published_claim
):
    iran = published_claim.claimant
    before = public_views(as_user(fact_checker), published_claim)
    client = as_user(superuser)

    renamed = client.post(claimant_url(iran), {"name": "Ukraine", "url": iran.url})
    moved = client.post(
        claimant_url(iran), {"name": "Iran", "url": "https://attacker.example.org/iran"}
    )

    for response in (renamed, moved):
        assert response.status_code == 200
        assert form_errors(response) == [
            f"Published claim #{published_claim.pk} names Iran as its claimant: the claimant's name"
            " and URL are part of its public record and cannot change."
        ]
    iran.refresh_from_db()
    assert (iran.name, iran.url) == ("Iran", "")
    assert public_views(as_user(fact_checker), published_claim) == before


def test_renaming_a_tag_a_published_claim_shows_is_refused(
    as_user, superuser, fact_checker, published_claim
):
    drones = published_claim.tags.get()
    before = public_views(as_user(fact_checker), published_claim)

    response = as_user(superuser).post(tag_url(drones), {"name": "forged", "slug": "forged"})

    assert response.status_code == 200
    assert form_errors(response) == [
        f"Published claim #{published_claim.pk} is tagged drones: the tag's name and slug are part"
        " of its public record and cannot change."
    ]
    drones.refresh_from_db()
    assert (drones.name, drones.slug) == ("drones", "drones")
    assert public_views(as_user(fact_checker), published_claim) == before


def test_deleting_a_tag_a_published_claim_shows_is_refused(as_user, superuser, published_claim):
    drones = published_claim.tags.get()
    unused = Tag.objects.create(name="unused", slug="unused")
    client = as_user(superuser)

    one = client.post(reverse("admin:claims_tag_delete", args=[drones.pk]), {"post": "yes"})
    bulk = client.post(
        reverse("admin:claims_tag_changelist"),
        {"action": "delete_selected", helpers.ACTION_CHECKBOX_NAME: [drones.pk, unused.pk], "post": "yes"},
    )

    assert (one.status_code, bulk.status_code) == (403, 403)
    assert set(Tag.objects.values_list("name", flat=True)) == {"drones", "unused"}
    assert list(published_claim.tags.values_list("name", flat=True)) == ["drones"]
    deleted = client.post(reverse("admin:claims_tag_delete", args=[unused.pk]), {"post": "yes"})
    assert deleted.status_code == 302
    assert list(Tag.objects.values_list("name", flat=True)) == ["drones"]


def test_the_same_edits_on_a_draft_still_work(as_user, superuser, fact_checker):
    draft = drafted_claim(fact_checker)
    draft.tags.set([Tag.objects.create(name="drones", slug="drones")])
    client = as_user(fact_checker)
    data = admin_form_data(client.get(claim_url(draft)))
    data.update(claim_date="2022-10-20", appearance_url="https://example.org/speech")

    assert client.post(claim_url(draft), data).status_code == 302
    draft.refresh_from_db()
    assert (draft.claim_date, draft.appearance_url) == (
        datetime.date(2022, 10, 20),
        "https://example.org/speech",
    )

    admin = as_user(superuser)
    assert admin.post(
        claimant_url(draft.claimant), {"name": "Ukraine", "url": "https://example.org/ukraine"}
    ).status_code == 302
    assert admin.post(tag_url(draft.tags.get()), {"name": "Drones", "slug": "uavs"}).status_code == 302
    draft.refresh_from_db()
    assert (draft.claimant.name, draft.claimant.url) == ("Ukraine", "https://example.org/ukraine")
    assert list(draft.tags.values_list("name", "slug")) == [("Drones", "uavs")]
