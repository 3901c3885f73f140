"""Keyset cursor pages of the claim lists: a client paging through never misses or repeats a claim."""

import base64
import datetime

import pytest
from django.conf import settings
from django.utils import timezone

from claims.models import Claim
from tests.factories import ClaimantFactory, ClaimFactory
from verifier.api.pagination import Position

pytestmark = pytest.mark.django_db

CLAIMS = "/api/v1/claims/"
FEED = "/api/v1/claimreview/"


def ids(body) -> list[int]:
    return [item["id"] for item in body["results"]]


def page(client, url, params=None):
    response = client.get(url, params)
    assert response.status_code == 200, response.json()
    return response.json()


def published_at_the_same_instant(fact_checker, count, moment):
    # Bare published rows: the workflow stamps "now", these tests need claims sharing a timestamp.
    iran = ClaimantFactory(name="Iran")
    return ClaimFactory.create_batch(
        count, claimant=iran, created_by=fact_checker, status=Claim.Status.PUBLISHED, published_at=moment
    )


def test_paging_while_claims_are_published_neither_skips_nor_repeats(api_client, make_published_claim):
    existing = [make_published_claim() for _ in range(5)]

    body = page(api_client, CLAIMS, {"page_size": 2})
    seen = ids(body)
    published_meanwhile = []
    while body["next"]:
        published_meanwhile.append(make_published_claim())
        body = page(api_client, body["next"])
        seen += ids(body)

    assert seen == [claim.pk for claim in reversed(existing)]
    assert not set(seen) & {claim.pk for claim in published_meanwhile}


def test_claims_published_at_the_same_instant_are_told_apart_by_id(api_client, fact_checker):
    moment = timezone.now()
    tied = published_at_the_same_instant(fact_checker, 5, moment)
    newer = ClaimFactory(
        claimant=tied[0].claimant,
        created_by=fact_checker,
        status=Claim.Status.PUBLISHED,
        published_at=moment + datetime.timedelta(seconds=1),
    )

    body = page(api_client, CLAIMS, {"page_size": 2})
    pages = [ids(body)]
    while body["next"]:
        body = page(api_client, body["next"])
        pages.append(ids(body))

    expected = [newer.pk, *sorted((claim.pk for claim in tied), reverse=True)]
    assert [pk for ids_ in pages for pk in ids_] == expected
    assert pages == [expected[0:2], expected[2:4], expected[4:6]]


def test_previous_links_walk_back_through_ties(api_client, fact_checker):
    tied = published_at_the_same_instant(fact_checker, 5, timezone.now())
    newest_first = sorted((claim.pk for claim in tied), reverse=True)

    second = page(api_client, page(api_client, CLAIMS, {"page_size": 2})["next"])
    third = page(api_client, second["next"])
    back_to_second = page(api_client, third["previous"])
    back_to_first = page(api_client, back_to_second["previous"])

    assert ids(third) == newest_first[4:]
    assert ids(back_to_second) == newest_first[2:4]
    assert ids(back_to_first) == newest_first[:2]
    assert back_to_first["previous"] is None
    assert ids(page(api_client, back_to_first["next"])) == newest_first[2:4]


def test_going_back_shows_claims_published_since(api_client, make_published_claim):
    oldest, middle = make_published_claim(), make_published_claim()
    first = page(api_client, CLAIMS, {"page_size": 1})
    second = page(api_client, first["next"])
    assert (ids(first), ids(second)) == ([middle.pk], [oldest.pk])

    newest = make_published_claim()
    back = page(api_client, second["previous"])
    further_back = page(api_client, back["previous"])

    assert ids(back) == [middle.pk]
    assert ids(further_back) == [newest.pk] and further_back["previous"] is None


def test_an_empty_page_links_back(api_client, fact_checker):
    tied = published_at_the_same_instant(fact_checker, 2, timezone.now())
    newer, older = sorted(tied, key=lambda claim: claim.pk, reverse=True)
    first = page(api_client, CLAIMS, {"page_size": 1})
    # Arranged: claims never leave the published list, but the paging must not depend on it.
    Claim.objects.filter(pk=older.pk).update(status=Claim.Status.DRAFT)

    empty = page(api_client, first["next"])

    assert empty["results"] == [] and empty["next"] is None
    assert ids(page(api_client, empty["previous"])) == [newer.pk]


def test_pages_carry_link_headers(api_client, make_published_claim):
    for _ in range(3):
        make_published_claim()

    first = api_client.get(CLAIMS, {"page_size": 1})
    second = api_client.get(first.json()["next"])

    assert first["Link"] == f'<{first.json()["next"]}>; rel="next"'
    links = second.json()
    assert second["Link"] == f'<{links["next"]}>; rel="next", <{links["previous"]}>; rel="prev"'


@pytest.mark.parametrize("url", [CLAIMS, FEED])
def test_a_pages_links_are_made_once_for_its_body_and_its_link_header(
    api_client, make_published_claim, monkeypatch, url
):
    for _ in range(3):
        make_published_claim()
    first = api_client.get(url, {"page_size": 1}).json()
    made = []
    encode = Position.encode

    def counted(position):
        made.append(position)
        return encode(position)

    monkeypatch.setattr(Position, "encode", counted)

    second = api_client.get(first["next"])

    links = second.json()
    assert second["Link"] == f'<{links["next"]}>; rel="next", <{links["previous"]}>; rel="prev"'
    assert len(made) == 2


@pytest.mark.parametrize("url", [CLAIMS, FEED])
@pytest.mark.parametrize(
    "cursor",
    ["not-a-cursor", "e30", base64.urlsafe_b64encode(b'["published_at", "x", 1, false, false]').decode()],
)
def test_a_bad_cursor_is_a_400_naming_it(api_client, published_claim, url, cursor):
    response = api_client.get(url, {"cursor": cursor})

    assert response.status_code == 400
    assert response.json()["cursor"] and "cursor" in response.json()["detail"]


def test_a_cursor_from_another_listing_is_refused(client_for, fact_checker, make_published_claim):
    for _ in range(2):
        make_published_claim()
    staff = client_for(fact_checker)
    drafts_next = page(staff, CLAIMS, {"status": "draft,in_review,published", "page_size": 1})["next"]
    cursor = drafts_next.split("cursor=")[1].split("&")[0]

    response = staff.get(CLAIMS, {"cursor": cursor})

    assert response.status_code == 400 and "another listing" in response.json()["detail"]


@pytest.mark.parametrize("url", [CLAIMS, FEED])
@pytest.mark.parametrize("page_size", ["0", "-5", "ten", "2.5"])
def test_a_bad_page_size_is_a_400_naming_it(api_client, published_claim, url, page_size):
    response = api_client.get(url, {"page_size": page_size})

    assert response.status_code == 400
    assert response.json()["page_size"] and "page_size" in response.json()["detail"]


def test_feed_pages_through_ties_too(api_client, rated_published_rows):
    body = page(api_client, FEED, {"page_size": 2})
    urls = [element["item"]["url"] for element in body["dataFeedElement"]]
    while body["next"]:
        body = page(api_client, body["next"])
        urls += [element["item"]["url"] for element in body["dataFeedElement"]]

    assert urls == [settings.PUBLIC_BASE_URL + claim.get_absolute_url() for claim in rated_published_rows]


@pytest.fixture
def rated_published_rows(make_published_claim):
    """Published claims whose publication times are made equal, newest id first."""
    claims = [make_published_claim() for _ in range(5)]
    Claim.objects.update(published_at=datetime.datetime(2024, 3, 1, tzinfo=datetime.UTC))
    return sorted(claims, key=lambda claim: claim.pk, reverse=True)


@pytest.mark.parametrize(("url", "items"), [(CLAIMS, "results"), (FEED, "dataFeedElement")])
def test_unfiltered_pages_compiled_once_are_the_pages_a_filter_reads(
    api_client, make_published_claim, url, items
):
    # Without a filter a page's SQL is compiled once and run with each cursor's position; with one
    # (here one every claim passes) it is compiled for the request.
    for _ in range(5):
        make_published_claim()
    walks = []
    for params in ({}, {"published_after": "2000-01-01T00:00:00Z"}):
        walked = [page(api_client, url, {"page_size": 2, **params})]
        while walked[-1]["next"]:
            walked.append(page(api_client, walked[-1]["next"]))
        back = page(api_client, walked[-1]["previous"])
        walks.append(([body[items] for body in walked], back[items]))

    (unfiltered, unfiltered_back), (filtered, filtered_back) = walks
    # Links differ by the filter's parameter; the claims and the way back do not.
    assert [len(found) for found in unfiltered] == [2, 2, 1]
    assert unfiltered == filtered
    assert unfiltered_back == filtered_back == unfiltered[1]
