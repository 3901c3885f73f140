"""The public site (SPEC §8): `/` lists published fact-checks newest first with search and paging,
the tag, claimant and rating pages, bylines, share previews, and the same caching as the API."""

import re
from html.parser import HTMLParser

import pytest
from django.db import connection
from django.urls import reverse

from claims.services import claimant_get_or_create
from tests.factories import FactCheckerFactory, ReviewerFactory, rating
from verifier import site
from verifier.services.claims import claim_create
from verifier.services.verdicts import claim_submit, verdict_approve, verdict_save_draft

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("queued")]


class _Page(HTMLParser):
    """The meta tags and labelled controls of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.meta: dict[str, str] = {}
        self.labels: set[str] = set()
        self.input_ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "meta":
            key = attributes.get("property") or attributes.get("name")
            if key:
                self.meta[key] = attributes.get("content") or ""
        elif tag == "label" and attributes.get("for"):
            self.labels.add(attributes["for"])
        elif tag == "input" and attributes.get("type") != "hidden":
            self.input_ids.add(attributes.get("id") or "")


def parsed(page: str) -> _Page:
    parser = _Page()
    parser.feed(page)
    return parser


def page_at(client, url: str, **params) -> str:
    response = client.get(url, params)
    assert response.status_code == 200, url
    return response.content.decode()


def listed_claim_ids(page: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'<h3 id="fact-check-(\d+)">', page)]


def correct(claim, *, author, reviewer, rating_slug: str):
    verdict_save_draft(
        actor=author, claim=claim, rating=rating(rating_slug), summary="Corrected.",
        correction_note="Rating corrected after new reporting.",
    )
    claim_submit(actor=author, claim=claim)
    verdict_approve(actor=reviewer, claim=claim)


def test_the_index_lists_published_fact_checks_newest_first_and_no_draft(
    client, make_published_claim, fact_checker
):
    older = make_published_claim(text="Russia has acquired hundreds of drones from Iran")
    newer = make_published_claim(text="The drone plant will be fully operational early next year")
    draft = claim_create(actor=fact_checker, text="A draft claim about drones", claimant_name="Iran")

    page = page_at(client, "/")

    assert listed_claim_ids(page) == [newer.pk, older.pk]
    assert draft.text not in page
    assert f'href="{newer.get_absolute_url()}"' in page
    assert 'href="/tags/drones/">drones</a>' in page
    assert f'href="/claimants/{newer.claimant_id}/">Iran</a>' in page
    rating_link = '<a class="rating rating--false" href="/ratings/false/">'
    assert rating_link + '<span class="visually-hidden">Rated </span>False</a>' in page
    assert "Iran admits supplying drones but disputes the timing." in page


def test_search_finds_fact_checks_by_their_words(client, make_published_claim):
    kirby = make_published_claim(text="Moscow acquired hundreds of drones from Tehran", claimant="John Kirby")
    make_published_claim(text="The plant in Alabuga opens next year", claimant="White House")

    page = page_at(client, "/", q="hundreds drones")

    assert listed_claim_ids(page) == [kirby.pk]
    assert 'value="hundreds drones"' in page and "Fact-checks matching “hundreds drones”" in page


def test_a_search_that_finds_nothing_says_so(client, make_published_claim):
    make_published_claim()

    page = page_at(client, "/", q="submarines")

    assert listed_claim_ids(page) == [] and "No fact-check matches “submarines”." in page


def test_pages_go_older_and_back_newer(client, make_published_claim, monkeypatch):
    monkeypatch.setattr(site, "FACT_CHECKS_PER_PAGE", 2)
    claims = [make_published_claim() for _ in range(5)]
    newest_first = [claim.pk for claim in reversed(claims)]

    first = page_at(client, "/")
    older_link = re.search(r'<a href="([^"]+)" rel="next">Older fact-checks', first).group(1)
    second = page_at(client, older_link.replace("&amp;", "&"))
    newer_link = re.search(r'<a href="([^"]+)" rel="prev">← Newer fact-checks', second).group(1)

    assert listed_claim_ids(first) == newest_first[:2]
    assert 'rel="prev"' not in first
    assert older_link.startswith("/?cursor=")
    assert listed_claim_ids(second) == newest_first[2:4]
    assert listed_claim_ids(page_at(client, newer_link.replace("&amp;", "&"))) == newest_first[:2]


def test_a_crafted_page_link_is_a_400_not_an_error(client, make_published_claim):
    make_published_claim()

    assert client.get("/", {"cursor": "not-a-cursor"}).status_code == 400


def test_a_tag_page_lists_the_fact_checks_with_that_tag(client, make_published_claim):
    tagged = make_published_claim(tags=["Alabuga"])
    make_published_claim(tags=["sanctions"])

    page = page_at(client, "/tags/alabuga/")

    assert listed_claim_ids(page) == [tagged.pk]
    assert "<h1 id=\"listing-heading\">Fact-checks tagged “Alabuga”</h1>" in page


def test_a_tag_only_drafts_carry_is_not_public(client, fact_checker, make_published_claim):
    make_published_claim()
    claim_create(actor=fact_checker, text="Draft", claimant_name="Iran", tags=["investigation-x"])

    assert client.get("/tags/investigation-x/").status_code == 404
    assert client.get("/tags/no-such-tag/").status_code == 404


def test_a_claimant_page_lists_the_fact_checks_of_their_claims(client, make_published_claim, fact_checker):
    theirs = make_published_claim(claimant="John Kirby")
    make_published_claim(claimant="Iran")
    only_drafts = claim_create(actor=fact_checker, text="Draft", claimant_name="Unpublished Person").claimant

    page = page_at(client, f"/claimants/{theirs.claimant_id}/")

    assert listed_claim_ids(page) == [theirs.pk]
    assert "Fact-checks of claims by John Kirby" in page
    assert client.get(f"/claimants/{only_drafts.pk}/").status_code == 404


def test_a_rating_page_lists_fact_checks_by_their_current_rating(
    client, make_published_claim, fact_checker, reviewer
):
    still_false = make_published_claim(rating_slug="false")
    corrected = make_published_claim(rating_slug="false")
    correct(corrected, author=fact_checker, reviewer=reviewer, rating_slug="half-true")

    false_page = page_at(client, "/ratings/false/")
    half_true_page = page_at(client, "/ratings/half-true/")

    assert listed_claim_ids(false_page) == [still_false.pk]
    assert listed_claim_ids(half_true_page) == [corrected.pk]
    assert "Corrected" in half_true_page
    assert 'href="/ratings/false/" aria-current="page">False</a>' in false_page
    assert client.get("/ratings/no-such-rating/").status_code == 404


def test_the_index_carries_share_previews(client, make_published_claim, settings):
    make_published_claim()

    meta = parsed(page_at(client, "/")).meta

    assert meta["og:type"] == "website" and meta["og:title"] == "Fact-checks"
    assert meta["og:url"] == f"{settings.PUBLIC_BASE_URL}/"
    assert meta["og:site_name"] == settings.VERIFIER_ORG_NAME
    assert meta["og:description"] == meta["description"] == "Claims checked by Verifier, newest first."
    assert (meta["twitter:card"], meta["twitter:title"]) == ("summary", "Fact-checks")


def test_the_fact_check_page_carries_share_previews(client, make_published_claim, fact_checker, reviewer):
    claim = make_published_claim(text="Russia has acquired hundreds of drones from Iran")
    correct(claim, author=fact_checker, reviewer=reviewer, rating_slug="mostly-true")
    claim.refresh_from_db()
    verdict = claim.verdicts.get(version=2)

    meta = parsed(page_at(client, claim.get_absolute_url())).meta

    assert meta["og:type"] == "article"
    title = "Fact-check: Russia has acquired hundreds of drones from Iran"
    assert meta["og:title"] == meta["twitter:title"] == title
    assert meta["og:description"] == meta["twitter:description"] == "Mostly true: Corrected."
    assert meta["og:url"].endswith(claim.get_absolute_url())
    assert meta["article:published_time"] == claim.published_at.isoformat()
    assert meta["article:modified_time"] == verdict.approved_at.isoformat()


def test_bylines_name_the_fact_checker_and_the_reviewer(client, make_published_claim, settings):
    settings.VERIFIER_PUBLIC_BYLINES = "names"
    author = FactCheckerFactory(first_name="Farida", last_name="Rahimi")
    approver = ReviewerFactory(first_name="Tom", last_name="Okafor")

    page = page_at(client, make_published_claim(author=author, approver=approver).get_absolute_url())

    assert '<p class="bylines">Fact-checked by Farida Rahimi · Reviewed by Tom Okafor</p>' in page


def test_bylines_never_show_a_login_name(client, make_published_claim, settings, fact_checker, reviewer):
    settings.VERIFIER_PUBLIC_BYLINES = "names"

    page = page_at(client, make_published_claim().get_absolute_url())

    assert "Fact-checked by a Verifier fact-checker · Reviewed by a Verifier reviewer" in page
    assert fact_checker.username not in page and reviewer.username not in page


def test_bylines_can_name_nobody(client, make_published_claim, settings):
    settings.VERIFIER_PUBLIC_BYLINES = "none"
    author = FactCheckerFactory(first_name="Farida", last_name="Rahimi")

    page = page_at(client, make_published_claim(author=author).get_absolute_url())

    assert "Farida" not in page
    assert "Checked by Verifier's fact-checkers and reviewed by a second person before publication." in page


def test_the_header_links_fact_checks_to_the_index(client, published_claim):
    index_link = '<nav class="site-nav" aria-label="Site"><a href="/"'

    assert f'{index_link}>Fact-checks</a></nav>' in page_at(client, published_claim.get_absolute_url())
    assert f'{index_link} aria-current="page">Fact-checks</a></nav>' in page_at(client, "/")


def test_the_fact_check_page_links_its_tags_and_claimant_pages(client, published_claim):
    page = page_at(client, published_claim.get_absolute_url())

    assert '<li><a href="/tags/drones/">drones</a></li>' in page
    assert f'<a href="/claimants/{published_claim.claimant_id}/">their other fact-checked claims</a>' in page


def test_the_admins_view_site_link_goes_to_the_index(as_user, fact_checker, client, make_published_claim):
    make_published_claim()

    admin_page = as_user(fact_checker).get(reverse("admin:index")).content.decode()

    assert '<a href="/">View site</a>' in admin_page
    client.logout()
    assert client.get("/").status_code == 200


def test_site_pages_are_structured_for_assistive_technology(client, make_published_claim):
    claim = make_published_claim(tags=["drones"])

    urls = ("/", "/tags/drones/", f"/claimants/{claim.claimant_id}/", "/ratings/false/", "/?q=drones")
    for url in urls:
        page = page_at(client, url)
        assert '<html lang="en">' in page
        for landmark in ("<header", "<main", "<footer"):
            assert page.count(landmark) == 1, (url, landmark)
        assert page.count("<h1") == 1
        assert 'href="#content"' in page and 'id="content"' in page
        assert 'role="search"' in page
        controls = parsed(page)
        assert controls.input_ids <= controls.labels, f"an input without a label on {url}"


def test_claim_text_is_escaped_in_the_list(client, make_published_claim):
    make_published_claim(text='Drones <script>alert("x")</script>')

    page = page_at(client, "/")

    assert "<script>alert" not in page and "&lt;script&gt;alert" in page


def test_the_index_answers_conditional_requests_and_moves_with_a_publish(
    client, make_published_claim, settled
):
    make_published_claim()
    first = client.get("/")
    assert first["ETag"] and first["Last-Modified"]
    assert client.get("/", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304

    newer = make_published_claim(text="A newly published fact-check")

    again = client.get("/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 200 and newer.text in again.content.decode()


def test_a_renamed_tag_shows_at_once_on_cached_pages(client, make_published_claim):
    claim = make_published_claim(tags=["drones"])
    assert "drones" in page_at(client, "/tags/drones/")
    tag = claim.tags.get()
    tag.name = "Unmanned aircraft"
    tag.save()

    assert "Fact-checks tagged “Unmanned aircraft”" in page_at(client, "/tags/drones/")


def test_a_named_claimant_keeps_their_name_on_the_claimant_page(client, make_published_claim):
    claimant_get_or_create(name="John Kirby", url="https://en.wikipedia.org/wiki/John_Kirby_(admiral)")
    claim = make_published_claim(claimant="John Kirby")

    assert "Fact-checks of claims by John Kirby" in page_at(client, f"/claimants/{claim.claimant_id}/")


# The page of claims with claimant, then their approved verdicts with ratings and their tags; the
# rating scale bounds; the ratings to browse by. On PostgreSQL a search first looks up the claimants
# its words match; a tag or claimant page first looks up that tag or claimant.
LIST_QUERIES = 5


@pytest.mark.parametrize("count", [2, 8])
@pytest.mark.parametrize(
    ("url", "extra"),
    [
        ("/", 0),
        ("/?q=drones", 1 if connection.vendor == "postgresql" else 0),
        ("/tags/drones/", 1),
        ("/ratings/false/", 1),
    ],
    ids=["index", "search", "tag", "rating"],
)
def test_list_query_counts_do_not_grow_with_fact_checks(
    client, make_published_claim, django_assert_num_queries, count, url, extra
):
    for number in range(count):
        make_published_claim(tags=["drones", f"topic-{number}"])

    with django_assert_num_queries(LIST_QUERIES + extra):
        assert client.get(url).status_code == 200
