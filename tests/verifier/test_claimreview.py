"""ClaimReview (SPEC §5): one claim's review, the DataFeed of them, checked against a JSON Schema
written from the schema.org definitions and Google's fact-check markup rules."""

import datetime
import json
from pathlib import Path

import pytest
from django.conf import settings
from django.test.utils import override_script_prefix
from django.urls import URLResolver
from django.utils import timezone
from jsonschema import Draft202012Validator
from rest_framework.negotiation import DefaultContentNegotiation

from claims.models import Claim, Claimant
from claims.services import claimant_get_or_create
from tests.factories import ClaimantFactory, ClaimFactory, rating
from tests.verifier.conftest import IRAN_QUOTE
from verifier.claimreview import organization
from verifier.selectors.records import _url_around_id
from verifier.services.claims import claim_create
from verifier.services.verdicts import claim_submit, verdict_approve, verdict_save_draft

pytestmark = pytest.mark.django_db

FEED = "/api/v1/claimreview/"
SCHEMA = json.loads((Path(__file__).parent / "claimreview.schema.json").read_text())
VALIDATOR = Draft202012Validator(SCHEMA)


def review_url(claim) -> str:
    return f"/api/v1/claims/{claim.pk}/claimreview/"


def valid(document) -> dict:
    """The document, after checking it against the schema and the rating bounds."""
    errors = sorted(VALIDATOR.iter_errors(document), key=lambda error: list(error.absolute_path))
    assert not errors, [f"{list(error.absolute_path)}: {error.message}" for error in errors]
    if document["@type"] == "DataFeed":
        reviews = [element["item"] for element in document["dataFeedElement"]]
    else:
        reviews = [document]
    for review in reviews:
        numeric = review["reviewRating"]
        if "ratingValue" in numeric:
            assert numeric["worstRating"] <= numeric["ratingValue"] <= numeric["bestRating"]
    return document


def publish_correction(claim, *, author, reviewer, rating_slug="half-true", summary="Timing is disputed."):
    verdict_save_draft(
        actor=author, claim=claim, rating=rating(rating_slug), summary=summary,
        correction_note="Rating corrected after new reporting.",
    )
    claim_submit(actor=author, claim=claim)
    verdict_approve(actor=reviewer, claim=claim)
    claim.refresh_from_db()
    return claim.verdicts.get(version=claim.verdicts.count())


def iso(moment) -> str:
    """A timestamp as ClaimReview writes it: UTC, to the second."""
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def feed_items(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return [element["item"] for element in valid(response.json())["dataFeedElement"]]


# One claim's ClaimReview.


def test_claimreview_is_json_ld_with_what_google_requires(api_client, published_claim):
    response = api_client.get(review_url(published_claim))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/ld+json"
    review = valid(json.loads(response.content))
    verdict = published_claim.verdicts.get()
    assert review == {
        "@context": "https://schema.org",
        "@type": "ClaimReview",
        "url": f"{settings.PUBLIC_BASE_URL}/claims/{published_claim.pk}/",
        "claimReviewed": published_claim.text,
        "datePublished": iso(published_claim.published_at),
        "inLanguage": "en",
        "author": {
            "@type": "Organization", "name": settings.VERIFIER_ORG_NAME, "url": settings.VERIFIER_ORG_URL
        },
        "itemReviewed": {
            "@type": "Claim",
            "author": {"@type": "Organization", "name": "Iran"},
            "datePublished": "2022-10-18",
            "appearance": {"@type": "CreativeWork", "url": "https://news.example.org/iran-statement"},
        },
        "reviewRating": {
            "@type": "Rating",
            "alternateName": "False",
            "ratingValue": 1,
            "bestRating": 5,
            "worstRating": 1,
            "ratingExplanation": verdict.summary,
        },
        "citation": [
            {
                "@type": "CreativeWork",
                "url": entry["url"],
                "archivedAt": f"{settings.PUBLIC_BASE_URL}/archive/{entry['snapshot']}/",
            }
            for entry in verdict.fingerprint()
        ],
    }


def test_plain_json_when_the_client_asks_for_it(api_client, published_claim):
    response = api_client.get(review_url(published_claim), HTTP_ACCEPT="application/json")

    assert response["Content-Type"] == "application/json"
    assert response.json()["@type"] == "ClaimReview"


def test_a_label_without_a_value_has_no_numeric_rating(api_client, make_published_claim):
    claim = make_published_claim(rating_slug="missing-context")

    review = valid(api_client.get(review_url(claim)).json())

    assert review["reviewRating"] == {
        "@type": "Rating",
        "alternateName": "Missing context",
        "ratingExplanation": "Iran admits supplying drones but disputes the timing.",
    }


def test_the_claimant_is_the_claims_author_with_its_same_as_page(api_client, make_published_claim):
    claimant_get_or_create(
        name="John Kirby", url="https://en.wikipedia.org/wiki/John_Kirby_(admiral)", kind=Claimant.Kind.PERSON
    )
    claim = make_published_claim(claimant="John Kirby")

    review = valid(api_client.get(review_url(claim)).json())

    assert review["itemReviewed"]["author"] == {
        "@type": "Person",
        "name": "John Kirby",
        "sameAs": "https://en.wikipedia.org/wiki/John_Kirby_(admiral)",
    }


def test_claim_date_and_appearance_are_left_out_when_unknown(api_client, make_published_claim):
    claim = make_published_claim(claim_date=None, appearance_url="")

    review = valid(api_client.get(review_url(claim)).json())

    assert review["itemReviewed"] == {"@type": "Claim", "author": {"@type": "Organization", "name": "Iran"}}


def test_organisation_comes_from_settings(api_client, published_claim, settings):
    settings.VERIFIER_ORG_NAME = "Drone Watch"
    settings.VERIFIER_ORG_URL = "https://dronewatch.example.org/"
    settings.PUBLIC_BASE_URL = "https://facts.dronewatch.example.org"

    review = valid(api_client.get(review_url(published_claim)).json())

    assert review["author"] == {
        "@type": "Organization", "name": "Drone Watch", "url": "https://dronewatch.example.org/"
    }
    assert review["url"] == f"https://facts.dronewatch.example.org/claims/{published_claim.pk}/"


def test_a_correction_sets_date_modified_and_the_new_rating(
    api_client, published_claim, fact_checker, reviewer, django_capture_on_commit_callbacks
):
    first = valid(api_client.get(review_url(published_claim)).json())
    assert "dateModified" not in first

    with django_capture_on_commit_callbacks(execute=True):
        correction = publish_correction(published_claim, author=fact_checker, reviewer=reviewer)

    corrected = valid(api_client.get(review_url(published_claim)).json())
    assert corrected["datePublished"] == first["datePublished"]
    assert corrected["dateModified"] == iso(correction.approved_at)
    assert corrected["correction"] == {
        "@type": "CorrectionComment",
        "text": "Rating corrected after new reporting.",
        "datePublished": iso(correction.approved_at),
    }
    assert corrected["reviewRating"]["alternateName"] == "Half true"
    assert corrected["reviewRating"]["ratingValue"] == 3


def test_a_correction_in_progress_does_not_show(api_client, published_claim, fact_checker):
    verdict_save_draft(
        actor=fact_checker, claim=published_claim, rating=rating("true"), summary="Draft.",
        correction_note="Not yet published.",
    )
    claim_submit(actor=fact_checker, claim=published_claim)

    review = valid(api_client.get(review_url(published_claim)).json())

    assert review["reviewRating"]["alternateName"] == "False" and "dateModified" not in review
    assert "correction" not in review


def test_an_unpublished_claim_has_no_claimreview_even_for_staff(api_client, client_for, fact_checker):
    draft = claim_create(actor=fact_checker, text="Iran exported drones", claimant_name="Iran")

    assert api_client.get(review_url(draft)).status_code == 404
    assert client_for(fact_checker).get(review_url(draft)).status_code == 404


def test_a_published_row_without_an_approved_verdict_has_no_claimreview(api_client, fact_checker):
    # Arranged: the workflow never publishes without an approved verdict.
    bare = ClaimFactory(
        claimant=ClaimantFactory(name="Iran"), created_by=fact_checker, status=Claim.Status.PUBLISHED,
        published_at=timezone.now(),
    )

    assert api_client.get(review_url(bare)).status_code == 404
    assert feed_items(api_client.get(FEED)) == []


def test_claimreview_supports_conditional_requests(api_client, published_claim):
    first = api_client.get(review_url(published_claim))
    assert first["ETag"] and first["Last-Modified"]

    assert api_client.get(review_url(published_claim), HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304


# The DataFeed.


def test_feed_is_a_data_feed_of_claim_reviews_newest_first(api_client, make_published_claim):
    older, newer = make_published_claim(), make_published_claim(rating_slug="misleading")

    response = api_client.get(FEED)

    assert response["Content-Type"] == "application/ld+json"
    feed = valid(response.json())
    assert {key: feed[key] for key in ("@context", "@type", "next", "previous")} == {
        "@context": "https://schema.org",
        "@type": "DataFeed",
        "next": None,
        "previous": None,
    }
    assert feed["publisher"]["name"] == settings.VERIFIER_ORG_NAME
    [first, second] = feed["dataFeedElement"]
    for element, claim in ((first, newer), (second, older)):
        standalone = api_client.get(review_url(claim)).json()
        del standalone["@context"]
        assert element["item"] == standalone
        assert element["dateCreated"] == standalone["datePublished"]
        claim.refresh_from_db()
        assert element["dateModified"] == iso(claim.updated_at)


def test_feed_pages_with_next_links_and_link_headers(api_client, make_published_claim):
    claims = [make_published_claim() for _ in range(3)]

    first = api_client.get(FEED, {"page_size": 2})
    body = valid(first.json())
    assert body["previous"] is None and body["next"]
    assert first["Link"] == f'<{body["next"]}>; rel="next"'
    second = api_client.get(body["next"])
    second_body = valid(second.json())

    urls = [item["item"]["url"] for item in body["dataFeedElement"] + second_body["dataFeedElement"]]
    assert urls == [f"{settings.PUBLIC_BASE_URL}/claims/{claim.pk}/" for claim in reversed(claims)]
    assert second_body["next"] is None and second_body["previous"]
    assert second["Link"] == f'<{second_body["previous"]}>; rel="prev"'


def test_feed_has_the_filters_of_the_list(api_client, make_published_claim):
    false = make_published_claim(text="Iran says the drones were exported before the invasion")
    plant = make_published_claim(
        text="The Alabuga drone plant will be fully operational early next year",
        claimant="White House",
        rating_slug="unverifiable",
        tags=["Alabuga"],
    )
    Claim.objects.filter(pk=false.pk).update(updated_at=datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC))

    def claimed(params):
        return [item["claimReviewed"] for item in feed_items(api_client.get(FEED, params))]

    assert claimed({"rating": "Unverifiable"}) == [plant.text]
    assert claimed({"claimant": "white house"}) == [plant.text]
    assert claimed({"tag": "alabuga"}) == [plant.text]
    assert claimed({"q": "operational"}) == [plant.text]
    assert claimed({"updated_since": "2024-06-01T00:00:00Z"}) == [plant.text]


def test_feed_refuses_a_bad_filter_naming_it(api_client, published_claim):
    response = api_client.get(FEED, {"published_after": "yesterday"})

    assert response.status_code == 400
    assert "published_after" in response.json()


def test_feed_leaves_out_unpublished_claims(api_client, fact_checker, published_claim):
    claim_create(actor=fact_checker, text="A draft", claimant_name="Iran")

    assert [item["claimReviewed"] for item in feed_items(api_client.get(FEED))] == [published_claim.text]


def test_feed_shows_corrections(api_client, published_claim, fact_checker, reviewer):
    publish_correction(published_claim, author=fact_checker, reviewer=reviewer)

    [item] = feed_items(api_client.get(FEED))

    assert item["reviewRating"]["alternateName"] == "Half true" and "dateModified" in item


def test_empty_feed(api_client, db):
    feed = valid(api_client.get(FEED).json())

    assert feed["dataFeedElement"] == [] and feed["next"] is None


# The schema itself: it must refuse what Google would reject.


def _review(**rating_fields) -> dict:
    return {
        "@context": "https://schema.org",
        "@type": "ClaimReview",
        "url": "https://facts.example.org/claims/1/",
        "claimReviewed": "The drones were exported before the invasion",
        "datePublished": "2024-03-01T10:00:00Z",
        "author": {"@type": "Organization", "name": "Verifier", "url": "https://facts.example.org"},
        "itemReviewed": {"@type": "Claim", "author": {"@type": "Organization", "name": "Iran"}},
        "reviewRating": {"@type": "Rating", **rating_fields},
    }


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(_review(), id="rating without alternateName"),
        pytest.param(_review(alternateName="False", ratingValue=1), id="value without bounds"),
        pytest.param(_review(alternateName="False", bestRating=5, worstRating=1), id="bounds without value"),
        pytest.param({**_review(alternateName="False"), "url": "/claims/1/"}, id="relative url"),
        pytest.param({**_review(alternateName="False"), "claimReviewed": " "}, id="blank claimReviewed"),
        pytest.param({**_review(alternateName="False"), "reviewrating": {}}, id="misspelt property"),
    ],
)
def test_schema_refuses_what_the_markup_rules_forbid(document):
    assert not VALIDATOR.is_valid(document)


def test_schema_accepts_a_minimal_review():
    assert VALIDATOR.is_valid(_review(alternateName="Misleading"))


# What the reads load.

# claims with claimants, approved verdicts with ratings and the rating scale's bounds.
CLAIMREVIEW_QUERIES = 2


def _claims_with_three_evidence(make_published_claim, count):
    for n in range(count):
        make_published_claim(
            evidence=[(f"https://news{n}.example.org/story-{i}", IRAN_QUOTE) for i in range(3)]
        )


@pytest.mark.parametrize("count", [1, 20])
def test_feed_query_count_does_not_grow_with_claims(
    api_client, make_published_claim, django_assert_num_queries, count
):
    _claims_with_three_evidence(make_published_claim, count)

    with django_assert_num_queries(CLAIMREVIEW_QUERIES):
        response = api_client.get(FEED, {"page_size": 20})

    assert len(response.json()["dataFeedElement"]) == count


@pytest.mark.parametrize("evidence_count", [1, 3])
def test_claimreview_query_count_does_not_grow_with_evidence(
    api_client, make_published_claim, django_assert_num_queries, evidence_count
):
    claim = make_published_claim(
        evidence=[(f"https://news.example.org/story-{i}", IRAN_QUOTE) for i in range(evidence_count)]
    )

    with django_assert_num_queries(CLAIMREVIEW_QUERIES):
        assert api_client.get(review_url(claim)).status_code == 200


def test_each_cited_source_points_to_the_snapshot_the_approval_froze(api_client, published_claim):
    from sources.models import Snapshot
    from tests.verifier.conftest import record_fetch

    (entry,) = published_claim.verdicts.get().fingerprint()
    source = Snapshot.objects.get(pk=entry["snapshot"]).source
    later = record_fetch(source, text="The page was rewritten after publication.")

    (citation,) = valid(api_client.get(review_url(published_claim)).json())["citation"]

    assert citation["archivedAt"].endswith(f"/archive/{entry['snapshot']}/")
    assert later.pk != entry["snapshot"]


def test_a_source_never_fetched_is_not_cited_with_an_archive(api_client, make_published_claim):
    claim = make_published_claim(fetched=False)

    assert "citation" not in valid(api_client.get(review_url(claim)).json())


# Where the links point.


def test_links_follow_the_public_base_url_and_the_script_prefix(api_client, make_published_claim, settings):
    settings.PUBLIC_BASE_URL = "https://checks.example.net"
    claims = [make_published_claim(), make_published_claim()]
    prefix = "https://checks.example.net/verifier"

    # As a server mounted at /verifier sets it for each request.
    with override_script_prefix("/verifier/"):
        feed = valid(api_client.get(FEED).json())
        standalone = [valid(api_client.get(review_url(claim)).json()) for claim in claims]

    for review, claim in zip([*feed_reviews(feed)[::-1], *standalone], [*claims, *claims], strict=True):
        (entry,) = claim.verdicts.get().fingerprint()
        assert review["url"] == f"{prefix}/claims/{claim.pk}/"
        archive = f"{prefix}/archive/{entry['snapshot']}/"
        assert review["citation"] == [{"@type": "CreativeWork", "url": entry["url"], "archivedAt": archive}]


def feed_reviews(feed: dict) -> list[dict]:
    return [element["item"] for element in feed["dataFeedElement"]]


@pytest.fixture
def resolved(monkeypatch) -> list[str]:
    """The names of the URLs reverse() resolves from now on (none resolved earlier is remembered)."""
    _url_around_id.cache_clear()
    names: list[str] = []
    resolve = URLResolver._reverse_with_prefix  # type: ignore[attr-defined]  # private: not in Django's stubs

    def counted(self, lookup_view, *args, **kwargs):
        names.append(lookup_view)
        return resolve(self, lookup_view, *args, **kwargs)

    monkeypatch.setattr(URLResolver, "_reverse_with_prefix", counted)
    return names


@pytest.mark.parametrize("count", [1, 20])
def test_feed_pages_resolve_each_kind_of_link_once(api_client, make_published_claim, resolved, count):
    # URL resolving per claim and per citation was a third of a cold feed page's CPU, and resolving
    # each kind once per page still about 4 %.
    _claims_with_three_evidence(make_published_claim, count)

    for _ in range(3):
        reviews = feed_reviews(valid(api_client.get(FEED, {"page_size": 20}).json()))
        assert len(reviews) == count and all(len(review["citation"]) == 3 for review in reviews)

    assert sorted(resolved) == ["archive-snapshot", "claim-page"]


def test_links_resolved_once_follow_a_change_of_script_prefix_or_urls(
    api_client, make_published_claim, resolved, settings
):
    claim = make_published_claim()
    urls = {f"{settings.PUBLIC_BASE_URL}/claims/{claim.pk}/"}
    # Each read its own page size, so that none is answered from the response cache.
    page_sizes = iter(range(10, 20))

    def review_urls() -> set[str]:
        feed = api_client.get(FEED, {"page_size": next(page_sizes)}).json()
        return {review["url"] for review in feed_reviews(valid(feed))}

    assert review_urls() == urls
    with override_script_prefix("/verifier/"):
        assert review_urls() == {f"{settings.PUBLIC_BASE_URL}/verifier/claims/{claim.pk}/"}
    # A new URL configuration (Django clears its URL caches for it) is resolved again.
    settings.ROOT_URLCONF = "tests.verifier.urls_moved_claim_page"
    assert review_urls() == {f"{settings.PUBLIC_BASE_URL}/checked/{claim.pk}/"}
    settings.ROOT_URLCONF = "config.urls"
    assert review_urls() == urls
    assert review_urls() == urls
    # Once per script prefix and URL configuration: the default configuration's is resolved again
    # after the other, as its URL caches were cleared.
    assert resolved.count("claim-page") == 4


def test_a_feed_page_reads_the_organisation_once(api_client, make_published_claim, monkeypatch):
    # Its two settings, read for each review, were a third of a feed page's reads of lazy objects.
    for _ in range(3):
        make_published_claim()
    read = []

    def counted():
        read.append(True)
        return organization()

    monkeypatch.setattr("verifier.claimreview.organization", counted)

    feed = valid(api_client.get(FEED).json())

    assert len(read) == 1
    expected = {"@type": "Organization", "name": settings.VERIFIER_ORG_NAME, "url": settings.VERIFIER_ORG_URL}
    assert feed["publisher"] == expected
    assert [review["author"] for review in feed_reviews(feed)] == [expected] * 3


@pytest.mark.parametrize(
    ("accept", "query", "content_type", "parsed"),
    [
        (None, {}, "application/ld+json", 0),
        ("*/*", {}, "application/ld+json", 0),
        ("application/json", {}, "application/json", 1),
        ("text/html, */*;q=0.8", {}, "application/ld+json", 1),
        (None, {"format": "json"}, "application/json", 1),
    ],
)
def test_a_client_accepting_anything_gets_json_ld_without_parsing_its_accept_header(
    api_client, make_published_claim, monkeypatch, accept, query, content_type, parsed
):
    # Parsing the Accept header took a fortieth of a cold feed page's CPU.
    make_published_claim()
    calls = []
    accept_list = DefaultContentNegotiation.get_accept_list

    def counted(self, request):
        calls.append(True)
        return accept_list(self, request)

    monkeypatch.setattr(DefaultContentNegotiation, "get_accept_list", counted)
    headers = {"HTTP_ACCEPT": accept} if accept else {}

    response = api_client.get(FEED, query, **headers)

    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert len(feed_reviews(json.loads(response.content))) == 1
    assert len(calls) == parsed
