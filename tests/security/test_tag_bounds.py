"""Unbounded tags (issue 9, finding 7): 40,000 tags in one POST locked the database for a minute.
A claim takes at most MAX_TAGS_PER_CLAIM, and the tags named are found and created in bulk."""

import pytest

from claims.models import Claim, Tag
from claims.services import MAX_TAGS_PER_CLAIM, tags_get_or_create
from tests.factories import ClaimFactory
from verifier.services.claims import claims_tag

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("queued")]

CLAIMS = "/api/v1/claims/"


def new_claim(tags: list[str]) -> dict:
    return {"text": "Iran exported the drones", "claimant": "Iran", "tags": tags}


def test_the_api_refuses_more_tags_than_a_claim_takes(client_for, fact_checker):
    tags = [f"tag {n}" for n in range(MAX_TAGS_PER_CLAIM + 1)]

    response = client_for(fact_checker).post(CLAIMS, new_claim(tags), format="json")

    assert response.status_code == 400, response.content
    assert f"at most {MAX_TAGS_PER_CLAIM} tags" in str(response.json()["tags"])
    assert not Claim.objects.exists() and not Tag.objects.exists()


def test_the_api_takes_a_claim_with_as_many_tags_as_allowed(client_for, fact_checker):
    tags = [f"tag {n}" for n in range(MAX_TAGS_PER_CLAIM)]

    response = client_for(fact_checker).post(CLAIMS, new_claim(tags), format="json")

    assert response.status_code == 201, response.content
    assert Claim.objects.get().tags.count() == MAX_TAGS_PER_CLAIM


def test_tagging_many_claims_refuses_a_claim_it_would_take_past_the_bound(fact_checker):
    full = ClaimFactory(text="Full")
    full.tags.set(tags_get_or_create(names=[f"tag {n}" for n in range(MAX_TAGS_PER_CLAIM)]))
    roomy = ClaimFactory(text="Roomy")

    result = claims_tag(actor=fact_checker, claims=[full, roomy], tag_names=["Drones"])

    assert [claim.pk for claim in result.changed] == [roomy.pk]
    ((refused, reason),) = result.refused
    assert refused.pk == full.pk and f"at most {MAX_TAGS_PER_CLAIM} tags" in reason


def test_tags_are_found_and_created_in_a_fixed_number_of_queries(django_assert_num_queries):
    Tag.objects.create(name="Drones", slug="drones")
    renamed = Tag.objects.create(name="Iran (renamed)", slug="iran")
    names = ["drones", "Iran", "Russia", " Ukraine ", "RUSSIA"] + [f"new {n}" for n in range(40)]

    # One to find the existing tags, one to create the new ones, one to read them back.
    with django_assert_num_queries(3):
        tags = tags_get_or_create(names=names)

    assert [tag.name for tag in tags[:4]] == ["Drones", "Iran (renamed)", "Russia", "Ukraine"]
    assert tags[1] == renamed
    assert len(tags) == 44 and Tag.objects.count() == 44
