"""GET /api/v1/claims/similar/ and the similar list of POST /api/v1/claims/ (SPEC §9), on the real
matching engine and the index as the index task keeps it."""

import pytest

from claims.models import Claim
from claims.services import claims_index
from tests.factories import ClaimFactory
from verifier.services.claims import claim_update

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("queued")]

SIMILAR = "/api/v1/claims/similar/"
DRONES = "Russia has acquired hundreds of drones from Iran."


@pytest.fixture
def published_drones(make_published_claim, indexed):
    (claim,) = indexed(make_published_claim(text=DRONES, claimant="John Kirby"))
    return claim


@pytest.fixture
def draft_drones(fact_checker, indexed):
    (claim,) = indexed(ClaimFactory(text="Russia acquired hundreds of Iranian drones.", language="en"))
    return claim


def similar(client, text, **params):
    response = client.get(SIMILAR, {"text": text, **params})
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_a_rewording_finds_the_published_claim_as_already_checked(anonymous, published_drones):
    [best, *_] = similar(anonymous, "Russia bought hundreds of drones from Iran")

    assert best["claim"]["id"] == published_drones.pk
    assert best["same_claim"] is True and 0.5 < best["score"] <= 1
    assert best["claim"]["verdict"]["rating"]["label"] == "False"


def test_a_translation_finds_it_too(anonymous, published_drones):
    [best, *_] = similar(anonymous, "Rusia ha adquirido cientos de drones de Irán", lang="es")

    assert best["claim"]["id"] == published_drones.pk and best["same_claim"] is True


def test_a_denial_is_related_but_not_already_checked(anonymous, make_published_claim, indexed):
    (admits,) = indexed(make_published_claim(text="Iran admits sending drones to Russia.", claimant="Iran"))

    [best] = similar(anonymous, "Iran denies sending drones to Russia", limit=1)

    assert best["claim"]["id"] == admits.pk and best["same_claim"] is False


def test_anonymous_never_sees_a_draft_among_similar_claims(anonymous, published_drones, draft_drones):
    results = similar(anonymous, draft_drones.text, limit=5)

    assert [item["claim"]["id"] for item in results] == [published_drones.pk]
    assert all(item["claim"]["status"] == "published" for item in results)


def test_staff_see_every_claim_with_its_status_best_first(as_fact_checker, published_drones, draft_drones):
    results = similar(as_fact_checker, draft_drones.text, limit=5)

    assert [item["claim"]["id"] for item in results[:2]] == [draft_drones.pk, published_drones.pk]
    assert [item["claim"]["status"] for item in results[:2]] == ["draft", "published"]
    scores = [item["score"] for item in results]
    assert scores == sorted(scores, reverse=True)


def test_limit_caps_the_results(as_fact_checker, indexed):
    indexed(
        *(ClaimFactory(text=f"Russia has acquired {count} drones from Iran.") for count in range(100, 107))
    )

    assert len(similar(as_fact_checker, DRONES, limit=3)) == 3
    assert len(similar(as_fact_checker, DRONES)) == 5


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"text": ""}, "text"),
        ({}, "text"),
        ({"text": "x" * 5001}, "text"),
        ({"text": DRONES, "limit": "0"}, "limit"),
        ({"text": DRONES, "limit": "21"}, "limit"),
        ({"text": DRONES, "limit": "five"}, "limit"),
        ({"text": DRONES, "lang": "xx"}, "lang"),
        ({"text": DRONES, "lang": "english please"}, "lang"),
    ],
)
def test_bad_text_limit_or_language_is_a_400_naming_the_field(anonymous, params, field):
    response = anonymous.get(SIMILAR, params)

    assert response.status_code == 400
    assert field in response.json()


def test_a_regional_language_tag_counts_as_its_language(anonymous, published_drones):
    [best, *_] = similar(anonymous, "A Rússia adquiriu centenas de drones do Irã", lang="pt-BR")

    assert best["claim"]["id"] == published_drones.pk


def test_similar_reads_are_throttled_like_other_reads(anonymous, settings):
    settings.API_THROTTLE_ANON = "2/minute"

    codes = [anonymous.get(SIMILAR, {"text": DRONES}).status_code for _ in range(3)]

    assert codes == [200, 200, 429]


def test_an_empty_index_finds_nothing(anonymous):
    assert similar(anonymous, DRONES) == []


def test_the_index_follows_edits(as_fact_checker, fact_checker, indexed):
    (claim,) = indexed(
        ClaimFactory(text="Colombia is the world's largest coffee producer.", created_by=fact_checker)
    )
    assert similar(as_fact_checker, "Colombia produces more coffee than any other country")[0]["same_claim"]

    claim_update(actor=fact_checker, claim=claim, text="Brazil exports more soybeans than anyone.")
    claims_index(claim_ids=[claim.pk])

    old = similar(as_fact_checker, "Colombia produces more coffee than any other country")
    assert not any(item["same_claim"] for item in old)
    # Close to the new text: a rewording of most of its words may be judged only related
    # (claims.matching.wording), and this test is about the index following the edit.
    [new] = similar(as_fact_checker, "Brazil exports more soy beans than anyone else", limit=1)
    assert new["claim"]["id"] == claim.pk and new["same_claim"] is True


def test_a_deleted_claim_is_never_found(as_fact_checker, indexed):
    (claim,) = indexed(ClaimFactory(text=DRONES))
    assert similar(as_fact_checker, DRONES)

    Claim.objects.filter(pk=claim.pk).delete()

    assert similar(as_fact_checker, DRONES) == []


def test_an_exact_duplicate_posted_gets_the_existing_claim_in_similar(as_fact_checker, published_drones):
    created = as_fact_checker.post(
        "/api/v1/claims/", {"text": DRONES, "claimant": "Another outlet"}, format="json"
    )

    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["language"] == "en"
    [first, *_] = body["similar"]
    assert first["claim"]["id"] == published_drones.pk
    assert first["same_claim"] is True and first["score"] > 0.9
    assert body["id"] not in [item["claim"]["id"] for item in body["similar"]]


def test_a_new_claim_takes_a_given_language_and_same_as(as_fact_checker, published_drones):
    created = as_fact_checker.post(
        "/api/v1/claims/",
        {
            "text": "Rusia compró drones a Irán.",
            "claimant": "Otro",
            "language": "es-419",
            "same_as": published_drones.pk,
        },
        format="json",
    )

    assert created.status_code == 201, created.json()
    assert (created.json()["language"], created.json()["same_as"]) == ("es-419", published_drones.pk)
    claim = Claim.objects.get(pk=created.json()["id"])
    assert (claim.language, claim.same_as_id) == ("es-419", published_drones.pk)


@pytest.mark.parametrize(
    ("payload", "field"),
    [({"language": "not a tag!"}, "language"), ({"same_as": 999_999}, "same_as")],
)
def test_a_bad_language_or_same_as_is_refused(as_fact_checker, payload, field):
    response = as_fact_checker.post(
        "/api/v1/claims/", {"text": DRONES, "claimant": "Iran", **payload}, format="json"
    )

    assert response.status_code == 400
    assert field in response.json()
    assert not Claim.objects.exists()


def test_anonymous_sees_same_as_only_when_it_links_a_published_claim(
    anonymous, fact_checker, make_published_claim
):
    draft = ClaimFactory(text="A draft restating it")
    linked = make_published_claim(text="Iran sent drones to Russia in 2022.")
    claim_update(actor=fact_checker, claim=linked, same_as=draft)
    other = make_published_claim(text="Iran sent the drones in summer 2022.")
    claim_update(actor=fact_checker, claim=other, same_as=linked)

    assert anonymous.get(f"/api/v1/claims/{linked.pk}/").json()["same_as"] is None
    assert anonymous.get(f"/api/v1/claims/{other.pk}/").json()["same_as"] == linked.pk
