"""The public fact-check page at /claims/{id}/."""

import json
import re
from html.parser import HTMLParser

import pytest
from django.utils import timezone

from claims.models import Claim
from tests.factories import ClaimantFactory, ClaimFactory, rating
from tests.verifier.conftest import IRAN_QUOTE
from verifier.services.claims import claim_create
from verifier.services.verdicts import claim_submit, verdict_approve, verdict_save_draft

pytestmark = pytest.mark.django_db


class _JsonLd(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str] = []
        self._inside = False

    def handle_starttag(self, tag, attrs):
        self._inside = tag == "script" and dict(attrs).get("type") == "application/ld+json"
        if self._inside:
            self.scripts.append("")

    def handle_endtag(self, tag):
        self._inside = False

    def handle_data(self, data):
        if self._inside:
            self.scripts[-1] += data


def json_ld(page: str) -> list[dict]:
    parser = _JsonLd()
    parser.feed(page)
    return [json.loads(script) for script in parser.scripts]


def page_of(client, claim) -> str:
    response = client.get(claim.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


def test_page_shows_the_published_fact_check(client, published_claim):
    evidence = published_claim.evidence.get()
    snapshot = evidence.quote_checked_snapshot

    page = page_of(client, published_claim)

    assert published_claim.text in page
    assert "Iran" in page and "18 October 2022" in page
    assert re.search(r'class="rating rating--false">False<', page)
    assert "1 on a scale from 1 (least accurate) to 5 (most accurate)" in page
    assert "Iran admits supplying drones but disputes the timing." in page
    assert "Drones were seen over Kyiv months after the date Iran gives." in page
    assert IRAN_QUOTE in page
    assert f'href="{evidence.source.url}"' in page
    assert "Iran admits sending drones to Russia" in page  # the snapshot's title names the link
    assert snapshot.content_sha256 in page
    assert f'datetime="{snapshot.fetched_at.isoformat()}"' in page
    assert "Quote found in the snapshot" in page


def test_page_embeds_the_apis_claimreview(client, api_client, published_claim):
    [embedded] = json_ld(page_of(client, published_claim))

    assert embedded == api_client.get(f"/api/v1/claims/{published_claim.pk}/claimreview/").json()


def test_claim_text_cannot_break_out_of_the_json_ld(client, make_published_claim):
    hostile = 'Drones </script><script>alert("x")</script> & <!-- more'
    claim = make_published_claim(text=hostile)

    page = page_of(client, claim)

    assert "<script>alert" not in page
    [embedded] = json_ld(page)
    assert embedded["claimReviewed"] == hostile


def test_page_is_structured_for_assistive_technology(client, published_claim):
    page = page_of(client, published_claim)

    assert '<html lang="en">' in page
    for landmark in ("<header", "<main", "<footer"):
        assert page.count(landmark) == 1
    assert page.count("<h1") == 1
    assert 'href="#content"' in page and 'id="content"' in page
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert ":focus-visible" in page


def test_page_shows_the_correction_history(client, published_claim, fact_checker, reviewer):
    verdict_save_draft(
        actor=fact_checker, claim=published_claim, rating=rating("half-true"), summary="Timing is disputed.",
        correction_note="A second source dates the deliveries after the invasion & we changed the rating.",
    )
    claim_submit(actor=fact_checker, claim=published_claim)
    correction = verdict_approve(actor=reviewer, claim=published_claim)

    page = page_of(client, published_claim)

    assert re.search(r'class="rating rating--mixed">Half true<', page)
    history = page[page.index("Correction history"):]
    assert "Version 1" in history and "False" in history
    assert "Iran admits supplying drones but disputes the timing." in history
    [embedded] = json_ld(page)
    assert "dateModified" in embedded
    assert embedded["correction"]["text"] == correction.correction_note


def test_page_shows_the_correction_note_dated_above_the_verdict(
    client, published_claim, fact_checker, reviewer
):
    verdict_save_draft(
        actor=fact_checker, claim=published_claim, rating=rating("half-true"), summary="Timing is disputed.",
        correction_note="A second source dates the deliveries after the invasion & we changed the rating.",
    )
    claim_submit(actor=fact_checker, claim=published_claim)
    correction = verdict_approve(actor=reviewer, claim=published_claim)

    page = page_of(client, published_claim)

    notice = page[page.index('class="correction-notice"'):page.index('id="verdict-heading"')]
    assert f'datetime="{correction.approved_at.isoformat()}"' in notice
    assert "A second source dates the deliveries after the invasion &amp; we changed the rating." in notice


def test_a_label_without_a_value_shows_no_scale(client, make_published_claim):
    page = page_of(client, make_published_claim(rating_slug="misleading"))

    assert re.search(r'class="rating rating--unrated">Misleading<', page)
    assert "on a scale" not in page


def test_evidence_not_fetched_yet_says_so(client, make_published_claim):
    page = page_of(client, make_published_claim(fetched=False))

    assert "Not fetched yet" in page and "Not checked yet" in page


def test_a_published_row_without_a_verdict_still_renders(client, fact_checker):
    # Arranged: the workflow never publishes without an approved verdict.
    bare = ClaimFactory(
        claimant=ClaimantFactory(name="Iran"), created_by=fact_checker, status=Claim.Status.PUBLISHED,
        published_at=timezone.now(),
    )

    page = page_of(client, bare)

    assert bare.text in page and json_ld(page) == []


def test_page_of_an_unpublished_claim_is_404(client, fact_checker):
    draft = claim_create(actor=fact_checker, text="A draft claim", claimant_name="Iran")

    assert client.get(draft.get_absolute_url()).status_code == 404


def test_page_of_a_missing_claim_is_404(client, db):
    assert client.get("/claims/999999/").status_code == 404


def test_page_path_is_the_api_url(client, published_claim):
    assert published_claim.get_absolute_url() == f"/claims/{published_claim.pk}/"


# claim, tags, verdicts with ratings, evidence with sources, checked and latest snapshots, the
# rating scale bounds, the author and reviewer of the bylines.
PAGE_QUERIES = 6


@pytest.mark.parametrize("evidence_count", [1, 3])
def test_page_query_count_does_not_grow_with_evidence(
    client, make_published_claim, django_assert_num_queries, evidence_count
):
    claim = make_published_claim(
        evidence=[(f"https://news.example.org/story-{i}", IRAN_QUOTE) for i in range(evidence_count)]
    )

    with django_assert_num_queries(PAGE_QUERIES):
        assert client.get(claim.get_absolute_url()).status_code == 200


def test_page_links_the_published_claim_it_restates_never_a_draft(client, make_published_claim, fact_checker):
    from verifier.services.claims import claim_update

    earlier = make_published_claim(text="Iran sent drones to Russia in 2022.")
    restated = make_published_claim(
        text="Irán envió cientos de drones a Rusia antes de la invasión de Ucrania."
    )
    claim_update(actor=fact_checker, claim=restated, same_as=earlier)

    page = page_of(client, restated)
    assert "Same claim as" in page
    assert f'<a href="/claims/{earlier.pk}/">“Iran sent drones to Russia in 2022.”</a>' in page
    assert '<h1 id="claim-heading" lang="es">' in page

    draft = ClaimFactory(text="A draft nobody outside may see")
    claim_update(actor=fact_checker, claim=restated, same_as=draft)
    page = page_of(client, restated)
    assert "Same claim as" not in page and "A draft nobody outside may see" not in page
