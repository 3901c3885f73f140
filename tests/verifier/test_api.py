"""The claims API of SPEC §5: what anyone can read, and the workflow as API clients drive it."""

import datetime

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from claims.models import Claim, Evidence
from core.roles import FACT_CHECKERS, REVIEWERS
from sources.models import Source
from tests.factories import ClaimantFactory, ClaimFactory, UserFactory, rating
from tests.verifier.conftest import IRAN_QUOTE, record_fetch
from verifier.services.claims import claim_create
from verifier.services.evidence import evidence_add
from verifier.services.verdicts import claim_submit, verdict_save_draft

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("queued")]

CLAIMS = "/api/v1/claims/"
CLAIM_FIELDS = {
    "id", "url", "text", "claimant", "claim_date", "appearance_url", "tags", "language", "same_as", "status",
    "published_at", "updated_at", "flag", "verdict", "evidence",
}
VERDICT_FIELDS = {
    "rating", "summary", "explanation", "version", "published_at", "correction_note", "corrections",
}
EVIDENCE_FIELDS = {"stance", "quote", "quote_status", "note", "source", "since_publication"}
# SPEC §5's fields, then §7's: the snapshot's id and, for a failed fetch, its outcome.
SOURCE_FIELDS = {
    "url", "final_url", "title", "status", "http_status", "fetched_at", "content_sha256",
    "snapshot", "outcome", "outcome_reason",
}


def detail(claim_or_id) -> str:
    return f"{CLAIMS}{getattr(claim_or_id, 'pk', claim_or_id)}/"


def ids(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return [item["id"] for item in response.json()["results"]]


def draft_claim(author, *, evidence=True, text="Russia has acquired hundreds of drones from Iran"):
    claim = claim_create(actor=author, text=text, claimant_name="White House")
    if evidence:
        evidence_add(
            actor=author, claim=claim, url="https://news.example.org/kirby", quote="hundreds of drones",
            stance="supports",
        )
    verdict_save_draft(actor=author, claim=claim, rating=rating("true"), summary="Confirmed.")
    return claim


def in_review_claim(author):
    claim = draft_claim(author)
    claim_submit(actor=author, claim=claim)
    claim.refresh_from_db()
    return claim


# Reading: only published claims, ever, for anyone without staff rights.


def test_anonymous_list_shows_only_published_claims(anonymous, fact_checker, published_claim):
    draft = draft_claim(fact_checker, text="A draft")
    in_review = in_review_claim(fact_checker)

    listed = ids(anonymous.get(CLAIMS))

    assert listed == [published_claim.pk]
    assert draft.pk not in listed and in_review.pk not in listed


@pytest.mark.parametrize("status", ["draft", "in_review"])
def test_anonymous_cannot_read_an_unpublished_claim_by_id(anonymous, fact_checker, status):
    claim = draft_claim(fact_checker) if status == "draft" else in_review_claim(fact_checker)
    assert claim.status == status

    response = anonymous.get(detail(claim))

    assert response.status_code == 404
    assert "detail" in response.json()


def test_non_staff_token_cannot_read_an_unpublished_claim(client_for, fact_checker):
    claim = draft_claim(fact_checker)
    client = client_for(UserFactory(is_staff=False))

    assert client.get(detail(claim)).status_code == 404
    assert ids(client.get(CLAIMS, {"status": "draft"})) == []


def test_published_claim_reads_exactly_as_the_spec_lists(anonymous, published_claim):
    evidence = published_claim.evidence.get()
    snapshot = evidence.quote_checked_snapshot
    verdict = published_claim.verdicts.get()

    body = anonymous.get(detail(published_claim)).json()

    assert set(body) == CLAIM_FIELDS
    assert body["id"] == published_claim.pk
    assert body["url"] == f"{settings.PUBLIC_BASE_URL}/claims/{published_claim.pk}/"
    assert body["text"] == published_claim.text
    assert body["claimant"] == {"name": "Iran", "url": ""}
    assert body["claim_date"] == "2022-10-18"
    assert body["appearance_url"] == "https://news.example.org/iran-statement"
    assert body["tags"] == ["drones"]
    assert body["status"] == "published"
    assert body["published_at"] is not None and body["updated_at"] is not None
    assert body["flag"] == []
    assert set(body["verdict"]) == VERDICT_FIELDS
    assert body["verdict"] == {
        "rating": {"label": "False", "value": 1, "best": 5, "worst": 1},
        "summary": "Iran admits supplying drones but disputes the timing.",
        "explanation": "Drones were seen over Kyiv months after the date Iran gives.",
        "version": 1,
        "published_at": verdict.approved_at.isoformat().replace("+00:00", "Z"),
        "correction_note": "",
        "corrections": [],
    }
    [shown] = body["evidence"]
    assert set(shown) == EVIDENCE_FIELDS and set(shown["source"]) == SOURCE_FIELDS
    assert shown == {
        "stance": "supports",
        "quote": IRAN_QUOTE,
        "quote_status": "found",
        "note": "",
        "source": {
            "url": evidence.source.url,
            "final_url": snapshot.final_url,
            "title": "Iran admits sending drones to Russia",
            "status": "fetched",
            "http_status": 200,
            "fetched_at": snapshot.fetched_at.isoformat().replace("+00:00", "Z"),
            "content_sha256": snapshot.content_sha256,
            "snapshot": snapshot.pk,
            "outcome": "fetched",
            "outcome_reason": None,
        },
        "since_publication": None,
    }


def test_a_rating_without_a_value_has_no_scale_bounds(anonymous, make_published_claim):
    claim = make_published_claim(rating_slug="misleading")

    body = anonymous.get(detail(claim)).json()

    assert body["verdict"]["rating"] == {"label": "Misleading", "value": None, "best": None, "worst": None}


def test_the_scale_bounds_follow_the_rating_scale(anonymous, published_claim):
    from verifier.models import Rating

    Rating.objects.create(label="Beyond doubt", slug="beyond-doubt", value=7, order=0)
    Rating.objects.filter(slug="false").update(value=2)

    rated = anonymous.get(detail(published_claim)).json()["verdict"]["rating"]

    assert (rated["value"], rated["best"], rated["worst"]) == (2, 7, 2)


def test_source_fields_are_null_before_the_first_fetch(anonymous, make_published_claim):
    claim = make_published_claim(fetched=False)

    [shown] = anonymous.get(detail(claim)).json()["evidence"]

    assert shown["quote_status"] == "pending"
    assert shown["source"]["status"] == "pending"
    assert {key: shown["source"][key] for key in SOURCE_FIELDS - {"url", "status"}} == dict.fromkeys(
        SOURCE_FIELDS - {"url", "status"}
    )


def test_link_rot_flag_is_visible(anonymous, published_claim):
    evidence = published_claim.evidence.get()
    source, approved = evidence.source, evidence.quote_checked_snapshot
    changed = record_fetch(source, text="The page now says something else entirely.")

    body = anonymous.get(detail(published_claim)).json()

    assert body["flag"] == [
        {
            "source": source.url,
            "kind": "changed",
            "detected_at": changed.fetched_at.isoformat().replace("+00:00", "Z"),
            "approved_snapshot": {"id": approved.pk, "content_sha256": approved.content_sha256},
            "new_snapshot": {"id": changed.pk, "content_sha256": changed.content_sha256, "http_status": 200},
        }
    ]
    assert body["status"] == "published"
    # The approved check stands; what happened since is told apart.
    assert body["evidence"][0]["quote_status"] == "found"
    assert body["evidence"][0]["since_publication"]["status"] == "changed"


def test_read_responses_support_conditional_requests(anonymous, published_claim, settled):
    first = anonymous.get(detail(published_claim))
    assert first["ETag"] and first["Last-Modified"]

    assert anonymous.get(detail(published_claim), HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    unchanged_since = anonymous.get(detail(published_claim), HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])
    assert unchanged_since.status_code == 304
    listed = anonymous.get(CLAIMS)
    assert anonymous.get(CLAIMS, HTTP_IF_NONE_MATCH=listed["ETag"]).status_code == 304


def test_a_new_fetch_of_a_cited_source_invalidates_cached_copies(anonymous, published_claim):
    first = anonymous.get(detail(published_claim))

    record_fetch(published_claim.evidence.get().source, text="The article was rewritten.")

    assert anonymous.get(detail(published_claim), HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 200


# Listing: newest first, cursor pages, filters.


def test_list_is_newest_published_first(anonymous, make_published_claim):
    older, newer = make_published_claim(), make_published_claim()

    assert ids(anonymous.get(CLAIMS)) == [newer.pk, older.pk]


def test_cursor_pages_follow_next_and_previous_links(anonymous, make_published_claim):
    claims = [make_published_claim() for _ in range(5)]
    newest_first = [claim.pk for claim in reversed(claims)]

    page = anonymous.get(CLAIMS, {"page_size": 2}).json()
    assert set(page) == {"next", "previous", "results"} and page["previous"] is None
    seen = [item["id"] for item in page["results"]]
    pages = [page]
    while page["next"]:
        page = anonymous.get(page["next"]).json()
        pages.append(page)
        seen += [item["id"] for item in page["results"]]

    assert seen == newest_first
    assert len(pages) == 3
    back = anonymous.get(pages[1]["previous"]).json()
    assert [item["id"] for item in back["results"]] == newest_first[:2]


def test_page_size_is_capped_at_100(anonymous, fact_checker):
    iran = ClaimantFactory(name="Iran")
    now = timezone.now()
    # Bare published rows are enough to count a page; the workflow is exercised elsewhere.
    ClaimFactory.create_batch(
        101, claimant=iran, created_by=fact_checker, status=Claim.Status.PUBLISHED, published_at=now
    )

    page = anonymous.get(CLAIMS, {"page_size": 500}).json()

    assert len(page["results"]) == 100
    assert page["next"] is not None
    assert len(anonymous.get(page["next"]).json()["results"]) == 1


def test_filter_by_rating_label_or_slug(anonymous, make_published_claim):
    false = make_published_claim(rating_slug="false")
    mostly_true = make_published_claim(rating_slug="mostly-true")

    assert ids(anonymous.get(CLAIMS, {"rating": "mostly-true"})) == [mostly_true.pk]
    assert ids(anonymous.get(CLAIMS, {"rating": "Mostly true"})) == [mostly_true.pk]
    assert ids(anonymous.get(CLAIMS, {"rating": "false"})) == [false.pk]


def test_filter_by_rating_uses_the_current_verdict(anonymous, as_fact_checker, as_reviewer, published_claim):
    correction = {"rating": "true", "summary": "Corrected.", "correction_note": "The rating was wrong."}
    as_fact_checker.put(f"{detail(published_claim)}verdict/", correction)
    assert ids(anonymous.get(CLAIMS, {"rating": "true"})) == []
    as_fact_checker.post(f"{detail(published_claim)}submit/")
    as_reviewer.post(f"{detail(published_claim)}approve/")

    assert ids(anonymous.get(CLAIMS, {"rating": "true"})) == [published_claim.pk]
    assert ids(anonymous.get(CLAIMS, {"rating": "false"})) == []


def test_unknown_rating_is_a_400_naming_the_parameter(anonymous, published_claim):
    response = anonymous.get(CLAIMS, {"rating": "pants-on-fire"})

    assert response.status_code == 400
    assert "rating" in response.json() and "rating" in response.json()["detail"]


def test_filter_by_claimant_ignores_case(anonymous, make_published_claim):
    iran = make_published_claim(claimant="Iran")
    make_published_claim(claimant="White House")

    assert ids(anonymous.get(CLAIMS, {"claimant": "iran"})) == [iran.pk]


def test_filter_by_tag_slug_or_name(anonymous, make_published_claim):
    tagged = make_published_claim(tags=["Alabuga SEZ", "drones"])
    make_published_claim(tags=["drones"])

    assert ids(anonymous.get(CLAIMS, {"tag": "alabuga-sez"})) == [tagged.pk]
    assert ids(anonymous.get(CLAIMS, {"tag": "Alabuga SEZ"})) == [tagged.pk]
    assert len(ids(anonymous.get(CLAIMS, {"tag": "drones"}))) == 2


def test_filter_by_words_in_the_text(anonymous, make_published_claim):
    plant = make_published_claim(text="The Alabuga drone plant will be fully operational early next year")
    make_published_claim(text="Russia has acquired hundreds of drones from Iran")

    assert ids(anonymous.get(CLAIMS, {"q": "fully operational"})) == [plant.pk]


def test_words_match_the_text_or_the_claimant(anonymous, make_published_claim):
    kirby = make_published_claim(text="Russia has acquired hundreds of drones", claimant="White House")
    iran = make_published_claim(text="The drones were exported before the invasion", claimant="Iran")

    assert ids(anonymous.get(CLAIMS, {"q": "white house"})) == [kirby.pk]
    assert ids(anonymous.get(CLAIMS, {"q": "Iran"})) == [iran.pk]
    assert ids(anonymous.get(CLAIMS, {"q": "drones"})) == [iran.pk, kirby.pk]
    assert ids(anonymous.get(CLAIMS, {"q": "drones submarines"})) == []


postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="full-text search is PostgreSQL's; SQLite matches substrings"
)


@postgresql_only
def test_full_text_search_stems_words_and_takes_web_search_syntax(anonymous, make_published_claim):
    exported = make_published_claim(text="Iran says the drones were exported before the invasion")
    acquired = make_published_claim(
        text="Russia has acquired hundreds of drones from Iran", claimant="White House"
    )

    assert ids(anonymous.get(CLAIMS, {"q": "drone exports"})) == [exported.pk]
    assert ids(anonymous.get(CLAIMS, {"q": "drones -invasion"})) == [acquired.pk]
    assert ids(anonymous.get(CLAIMS, {"q": '"hundreds of drones"'})) == [acquired.pk]
    assert ids(anonymous.get(CLAIMS, {"q": "invasion or hundreds"})) == [acquired.pk, exported.pk]


@postgresql_only
def test_full_text_search_reads_the_indexes(published_claim):
    from claims.selectors import claims_matching_text

    with CaptureQueriesContext(connection) as queries:
        matching = claims_matching_text(Claim.objects.all(), "Iran")
    [claimant_lookup] = [query["sql"] for query in queries.captured_queries]

    with connection.cursor() as cursor:
        # A tiny test table is cheaper to scan; what matters is that the indexes can answer.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {claimant_lookup}")
        claimant_plan = "\n".join(row[0] for row in cursor.fetchall())
        claim_plan = matching.explain()

    assert "claimant_name_search_idx" in claimant_plan
    assert "claim_search_document_idx" in claim_plan
    assert list(matching) == [published_claim]


@postgresql_only
def test_full_text_search_reads_the_text_as_edited(make_published_claim):
    from claims.selectors import claims_matching_text

    claim = make_published_claim(text="The drones were exported before the invasion")
    # Arranged: an edit the workflow would refuse on a published claim; the stored document must
    # follow the text whatever writes it.
    Claim.objects.filter(pk=claim.pk).update(text="Submarines were leased after the invasion")

    assert list(claims_matching_text(Claim.objects.all(), "submarine")) == [claim]
    assert list(claims_matching_text(Claim.objects.all(), "drones")) == []


@postgresql_only
def test_full_text_search_works_inside_a_subquery(make_published_claim):
    from claims.selectors import claims_matching_text

    drones = make_published_claim(text="The drones were exported before the invasion")
    make_published_claim(text="Submarines were leased after the invasion")
    # The stored document's column is named by the claims table's alias in a subquery too.
    matching = claims_matching_text(Claim.objects.all(), "drones").values("pk")

    assert list(Claim.objects.filter(pk__in=matching)) == [drones]


def test_search_words_are_limited_in_length(anonymous, published_claim):
    response = anonymous.get(CLAIMS, {"q": "drones " * 50})

    assert response.status_code == 400
    assert "q" in response.json() and "q" in response.json()["detail"]


@pytest.mark.parametrize("parameter", ["q", "claimant", "tag", "rating"])
def test_a_nul_character_is_a_400_naming_the_parameter(anonymous, published_claim, parameter):
    response = anonymous.get(CLAIMS, {parameter: "Iran\x00"})

    assert response.status_code == 400
    assert parameter in response.json()


def test_filter_by_publication_and_update_time(anonymous, make_published_claim):
    january, march = make_published_claim(), make_published_claim()
    # Arranged timestamps: the workflow stamps "now", these tests need fixed points in time.
    Claim.objects.filter(pk=january.pk).update(
        published_at=datetime.datetime(2024, 1, 15, tzinfo=datetime.UTC),
        updated_at=datetime.datetime(2024, 1, 15, tzinfo=datetime.UTC),
    )
    Claim.objects.filter(pk=march.pk).update(
        published_at=datetime.datetime(2024, 3, 15, tzinfo=datetime.UTC),
        updated_at=datetime.datetime(2024, 3, 15, tzinfo=datetime.UTC),
    )

    assert ids(anonymous.get(CLAIMS, {"published_after": "2024-02-01T00:00:00Z"})) == [march.pk]
    assert ids(anonymous.get(CLAIMS, {"published_before": "2024-02-01"})) == [january.pk]
    assert ids(anonymous.get(CLAIMS, {"updated_since": "2024-03-15T00:00:00+00:00"})) == [march.pk]
    # An unencoded "+" in a query string arrives as a space.
    assert ids(anonymous.get(f"{CLAIMS}?updated_since=2024-03-15T01:00:00+01:00")) == [march.pk]
    in_2024 = {"published_after": "2024-01-01", "published_before": "2024-12-31"}
    assert ids(anonymous.get(CLAIMS, in_2024)) == [march.pk, january.pk]


@pytest.mark.parametrize("parameter", ["published_after", "published_before", "updated_since"])
def test_a_bad_date_is_a_400_naming_the_parameter(anonymous, published_claim, parameter):
    response = anonymous.get(CLAIMS, {parameter: "last tuesday"})

    assert response.status_code == 400
    body = response.json()
    assert body.get(parameter)
    assert parameter in body["detail"]


def test_staff_see_drafts_with_the_status_filter(client_for, fact_checker, published_claim):
    older_draft = draft_claim(fact_checker, text="Older draft")
    newer_draft = draft_claim(fact_checker, text="Newer draft")
    in_review = in_review_claim(fact_checker)
    staff = client_for(UserFactory(is_staff=True))

    assert ids(staff.get(CLAIMS, {"status": "draft"})) == [newer_draft.pk, older_draft.pk]
    assert ids(staff.get(CLAIMS, {"status": "in_review"})) == [in_review.pk]
    assert set(ids(staff.get(CLAIMS, {"status": "draft,in_review,published"}))) == {
        older_draft.pk, newer_draft.pk, in_review.pk, published_claim.pk,
    }
    assert ids(staff.get(CLAIMS)) == [published_claim.pk]


def test_staff_pages_through_drafts_by_creation_time(as_fact_checker, fact_checker):
    drafts = [draft_claim(fact_checker, text=f"Draft {n}") for n in range(3)]

    first = as_fact_checker.get(CLAIMS, {"status": "draft", "page_size": 2}).json()
    second = as_fact_checker.get(first["next"]).json()

    assert [item["id"] for item in first["results"] + second["results"]] == [d.pk for d in reversed(drafts)]


def test_anonymous_status_filter_still_shows_only_published(anonymous, fact_checker, published_claim):
    draft_claim(fact_checker)

    assert ids(anonymous.get(CLAIMS, {"status": "draft"})) == [published_claim.pk]


def test_unknown_status_is_a_400_for_staff(as_fact_checker):
    response = as_fact_checker.get(CLAIMS, {"status": "archived"})

    assert response.status_code == 400
    assert "status" in response.json()


def test_staff_read_a_draft_with_its_work_in_progress(as_fact_checker, fact_checker):
    claim = draft_claim(fact_checker)

    body = as_fact_checker.get(detail(claim)).json()

    assert body["status"] == "draft" and body["published_at"] is None
    assert body["verdict"]["summary"] == "Confirmed." and body["verdict"]["published_at"] is None
    assert [item["quote"] for item in body["evidence"]] == ["hundreds of drones"]


# What the reads load.


def make_claims_with_three_evidence(make_published_claim, count):
    for n in range(count):
        make_published_claim(
            evidence=[(f"https://news{n}.example.org/story-{i}", IRAN_QUOTE) for i in range(3)],
            tags=["drones", f"tag {n}"],
        )


# claims, tags, verdicts with ratings and the scale's bounds, evidence with sources, checked and
# latest snapshots.
LIST_QUERIES = 4


@pytest.mark.parametrize("count", [1, 20])
def test_list_query_count_does_not_grow_with_claims(
    anonymous, make_published_claim, django_assert_num_queries, count
):
    make_claims_with_three_evidence(make_published_claim, count)

    with django_assert_num_queries(LIST_QUERIES):
        response = anonymous.get(CLAIMS)

    assert len(response.json()["results"]) == count
    assert all(len(item["evidence"]) == 3 for item in response.json()["results"])


@pytest.mark.parametrize("count", [1, 20])
def test_list_of_claims_whose_sources_changed_after_publication_takes_one_more_query(
    anonymous, make_published_claim, django_assert_num_queries, count
):
    make_claims_with_three_evidence(make_published_claim, count)
    for source in Source.objects.all():
        record_fetch(source, text="The page now says something else entirely.")

    # The snapshots frozen at approval, which the evidence no longer shows as checked, and the open
    # flag entries the change raised.
    with django_assert_num_queries(LIST_QUERIES + 2):
        response = anonymous.get(CLAIMS)

    evidence = [item for claim in response.json()["results"] for item in claim["evidence"]]
    assert len(evidence) == 3 * count
    assert {item["quote_status"] for item in evidence} == {"found"}
    assert {item["since_publication"]["status"] for item in evidence} == {"changed"}


@pytest.mark.parametrize("count", [1, 20])
def test_staff_draft_list_query_count_does_not_grow_with_claims(
    client_for, fact_checker, django_assert_num_queries, count
):
    for n in range(count):
        draft_claim(fact_checker, text=f"Draft {n}")
    staff = client_for(fact_checker)

    # One more for the token.
    with django_assert_num_queries(LIST_QUERIES + 1):
        response = staff.get(CLAIMS, {"status": "draft"})

    assert len(response.json()["results"]) == count


@pytest.mark.parametrize("evidence_count", [1, 3])
def test_detail_query_count_does_not_grow_with_evidence(
    anonymous, make_published_claim, django_assert_num_queries, evidence_count
):
    claim = make_published_claim(
        evidence=[(f"https://news.example.org/story-{i}", IRAN_QUOTE) for i in range(evidence_count)]
    )

    with django_assert_num_queries(LIST_QUERIES):
        response = anonymous.get(detail(claim))

    assert len(response.json()["evidence"]) == evidence_count


@pytest.mark.parametrize("count", [1, 20])
def test_filtered_list_query_count_does_not_grow_with_claims(
    anonymous, make_published_claim, django_assert_num_queries, count
):
    make_claims_with_three_evidence(make_published_claim, count)
    filters = {"rating": "false", "tag": "drones", "claimant": "Iran", "published_after": "2000-01-01"}

    # One more to find the rating by its label or slug.
    with django_assert_num_queries(LIST_QUERIES + 1):
        response = anonymous.get(CLAIMS, filters)

    assert len(response.json()["results"]) == count


def test_list_never_loads_snapshot_text(anonymous, make_published_claim):
    make_claims_with_three_evidence(make_published_claim, 2)

    with CaptureQueriesContext(connection) as queries:
        anonymous.get(CLAIMS)

    snapshot_queries = [q["sql"] for q in queries.captured_queries if "sources_snapshot" in q["sql"]]
    assert snapshot_queries
    assert not any('"sources_snapshot"."text"' in sql for sql in snapshot_queries)


# Writing: the workflow through the API.


def test_fact_checker_and_reviewer_take_a_claim_from_draft_to_published(
    anonymous, as_fact_checker, as_reviewer, queued, django_capture_on_commit_callbacks
):
    created = as_fact_checker.post(
        CLAIMS,
        {
            "text": "Russia has acquired hundreds of drones from Iran",
            "claimant": "White House",
            "claim_date": "2022-10-20",
            "appearance_url": "https://www.whitehouse.gov/briefing-room/",
            "tags": ["Drones", "Russia"],
        },
    )
    assert created.status_code == 201, created.json()
    claim = created.json()
    assert set(claim) == CLAIM_FIELDS | {"similar"}
    assert claim["status"] == "draft" and claim["verdict"] is None and claim["tags"] == ["Drones", "Russia"]
    assert created["Location"] == detail(claim["id"])
    assert anonymous.get(detail(claim["id"])).status_code == 404

    with django_capture_on_commit_callbacks(execute=True):
        evidence = as_fact_checker.post(
            f"{detail(claim['id'])}evidence/",
            {
                "url": "https://news.example.org/kirby-briefing",
                "quote": "Russia has acquired hundreds of drones",
                "stance": "supports",
                "note": "John Kirby at the White House briefing.",
            },
        )
    assert evidence.status_code == 201, evidence.json()
    assert evidence.json()["quote_status"] == "pending"
    assert evidence.json()["source"]["url"] == "https://news.example.org/kirby-briefing"
    source = Evidence.objects.get().source
    queued.assert_called_once_with(source_id=source.pk, token=source.fetch_token)

    verdict = as_fact_checker.put(
        f"{detail(claim['id'])}verdict/",
        {"rating": "Mostly true", "summary": "Confirmed by US officials.", "explanation": "Kirby said so."},
    )
    assert verdict.status_code == 200, verdict.json()
    assert verdict.json()["state"] == "draft" and verdict.json()["rating"]["label"] == "Mostly true"

    submitted = as_fact_checker.post(f"{detail(claim['id'])}submit/")
    assert submitted.status_code == 200, submitted.json()
    assert submitted.json()["status"] == "in_review"
    assert anonymous.get(detail(claim["id"])).status_code == 404

    approved = as_reviewer.post(f"{detail(claim['id'])}approve/", {"comment": "Sources check out."})
    assert approved.status_code == 200, approved.json()
    assert approved.json()["status"] == "published"

    public = anonymous.get(detail(claim["id"])).json()
    assert public["verdict"]["version"] == 1 and public["verdict"]["rating"]["label"] == "Mostly true"
    assert ids(anonymous.get(CLAIMS)) == [claim["id"]]


def test_reviewer_requests_changes_and_the_claim_returns_to_draft(as_reviewer, fact_checker):
    claim = in_review_claim(fact_checker)

    response = as_reviewer.post(f"{detail(claim)}request-changes/", {"comment": "Cite the transcript."})

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "draft"


def test_unauthenticated_writes_are_401(anonymous, fact_checker):
    claim = in_review_claim(fact_checker)

    assert anonymous.post(CLAIMS, {"text": "x", "claimant": "Iran"}).status_code == 401
    assert anonymous.post(f"{detail(claim)}approve/").status_code == 401
    assert anonymous.put(f"{detail(claim)}verdict/", {"summary": "x"}).status_code == 401
    claim.refresh_from_db()
    assert claim.status == "in_review"


def test_non_staff_writes_are_403(client_for, fact_checker):
    outsider = client_for(UserFactory(is_staff=False, groups=[FACT_CHECKERS]))

    response = outsider.post(CLAIMS, {"text": "x", "claimant": "Iran"})

    assert response.status_code == 403
    assert not Claim.objects.exists()


def test_reviewer_cannot_create_a_claim(as_reviewer):
    response = as_reviewer.post(CLAIMS, {"text": "Iran exported drones", "claimant": "Iran"})

    assert response.status_code == 403
    assert "fact-checkers" in response.json()["detail"]
    assert not Claim.objects.exists()


def test_fact_checker_cannot_approve(as_fact_checker, other_fact_checker):
    claim = in_review_claim(other_fact_checker)

    response = as_fact_checker.post(f"{detail(claim)}approve/")

    assert response.status_code == 403
    assert "reviewers" in response.json()["detail"].lower()


def test_author_cannot_approve_their_own_verdict(client_for):
    both_roles = UserFactory(groups=[FACT_CHECKERS, REVIEWERS])
    claim = in_review_claim(both_roles)

    response = client_for(both_roles).post(f"{detail(claim)}approve/")

    assert response.status_code == 403
    assert "four-eyes" in response.json()["detail"].lower()
    claim.refresh_from_db()
    assert claim.status == "in_review"


def test_approving_a_draft_is_a_conflict(as_reviewer, fact_checker):
    claim = draft_claim(fact_checker)

    response = as_reviewer.post(f"{detail(claim)}approve/")

    assert response.status_code == 409
    assert response.json()["detail"]


def test_second_approval_is_a_conflict(client_for, reviewer, second_reviewer, fact_checker):
    claim = in_review_claim(fact_checker)

    first = client_for(reviewer).post(f"{detail(claim)}approve/")
    second = client_for(second_reviewer).post(f"{detail(claim)}approve/")

    assert (first.status_code, second.status_code) == (200, 409)
    assert claim.verdicts.get().reviewer == reviewer


def test_submitting_without_rating_summary_or_evidence_is_a_400(as_fact_checker):
    claim = as_fact_checker.post(CLAIMS, {"text": "Iran exported drones", "claimant": "Iran"}).json()
    as_fact_checker.put(f"{detail(claim['id'])}verdict/", {"summary": ""})

    response = as_fact_checker.post(f"{detail(claim['id'])}submit/")

    assert response.status_code == 400
    message = response.json()["detail"]
    assert "rating" in message and "summary" in message and "evidence" in message


def test_request_changes_needs_a_comment(as_reviewer, fact_checker):
    claim = in_review_claim(fact_checker)

    response = as_reviewer.post(f"{detail(claim)}request-changes/", {})

    assert response.status_code == 400
    assert response.json()["comment"]
    claim.refresh_from_db()
    assert claim.status == "in_review"


def test_invalid_input_is_a_400_with_field_errors(as_fact_checker, fact_checker):
    claim = draft_claim(fact_checker)

    missing = as_fact_checker.post(CLAIMS, {"claimant": "Iran"})
    bad_stance = as_fact_checker.post(
        f"{detail(claim)}evidence/", {"url": "https://example.org/", "quote": "q", "stance": "maybe"}
    )
    refused_url = as_fact_checker.post(
        f"{detail(claim)}evidence/", {"url": "ftp://example.org/file", "quote": "q", "stance": "supports"}
    )
    bad_rating = as_fact_checker.put(f"{detail(claim)}verdict/", {"rating": "Pants on fire"})

    assert missing.status_code == 400 and "text" in missing.json()
    assert bad_stance.status_code == 400 and "stance" in bad_stance.json()
    assert refused_url.status_code == 400 and refused_url.json()["url"]
    assert bad_rating.status_code == 400 and "rating" in bad_rating.json()
    assert all("detail" in r.json() for r in (missing, bad_stance, refused_url, bad_rating))


def test_writes_to_a_missing_claim_are_404(as_fact_checker, as_reviewer):
    assert as_fact_checker.post(f"{detail(99999)}submit/").status_code == 404
    assert as_reviewer.post(f"{detail(99999)}approve/").status_code == 404


# Corrections.


def test_a_correction_replaces_the_public_verdict_and_keeps_the_history(
    anonymous, as_fact_checker, as_reviewer, published_claim
):
    url = detail(published_claim)
    correction = {
        "rating": "half-true",
        "summary": "Timing is disputed.",
        "explanation": "New data.",
        "correction_note": "The timing is disputed by new data.",
    }
    assert as_fact_checker.put(f"{url}verdict/", correction).status_code == 200
    new_evidence = {
        "url": "https://news.example.org/new-report",
        "quote": "first seen in September",
        "stance": "refutes",
    }
    added = as_fact_checker.post(f"{url}evidence/", new_evidence)
    assert added.status_code == 201, added.json()

    during = anonymous.get(url).json()
    assert during["verdict"]["version"] == 1 and during["verdict"]["rating"]["label"] == "False"
    assert [item["quote"] for item in during["evidence"]] == [IRAN_QUOTE]

    assert as_fact_checker.post(f"{url}submit/").status_code == 200
    assert anonymous.get(url).json()["verdict"]["version"] == 1
    assert as_reviewer.post(f"{url}approve/").status_code == 200

    after = anonymous.get(url).json()
    assert after["verdict"]["version"] == 2
    assert after["verdict"]["rating"]["label"] == "Half true"
    [earlier] = after["verdict"]["corrections"]
    assert set(earlier) == VERDICT_FIELDS - {"corrections"}
    assert earlier["version"] == 1 and earlier["rating"]["label"] == "False"
    assert [item["quote"] for item in after["evidence"]] == [IRAN_QUOTE, "first seen in September"]


def test_staff_list_shows_the_published_record_during_a_correction(as_fact_checker, published_claim):
    as_fact_checker.put(f"{detail(published_claim)}verdict/", {"rating": "true", "summary": "Draft."})

    [listed] = as_fact_checker.get(CLAIMS, {"status": "published"}).json()["results"]

    assert listed["verdict"]["version"] == 1 and listed["verdict"]["summary"] != "Draft."



# Documentation.


def test_openapi_schema_documents_every_endpoint(anonymous):
    schema = anonymous.get("/api/v1/schema/", {"format": "json"}).json()

    assert set(schema["paths"]) == {
        "/api/v1/claims/",
        "/api/v1/claims/similar/",
        "/api/v1/claims/{id}/",
        "/api/v1/claims/{id}/evidence/",
        "/api/v1/claims/{id}/evidence/{evidence_id}/",
        "/api/v1/claims/{id}/evidence-package/",
        "/api/v1/claims/{id}/verdict/",
        "/api/v1/claims/{id}/submit/",
        "/api/v1/claims/{id}/approve/",
        "/api/v1/claims/{id}/request-changes/",
        "/api/v1/sources/{id}/",
        "/api/v1/claimreview/",
        "/api/v1/claims/{id}/claimreview/",
        "/api/v1/review-log/checkpoint/",
    }
    assert anonymous.get("/api/v1/docs/").status_code == 200


def test_a_moment_with_an_offset_postgresql_cannot_store_is_compared_in_utc(anonymous, published_claim):
    # Found by schemathesis: Python accepts offsets up to 24 hours, PostgreSQL only up to 16.
    response = anonymous.get(CLAIMS, {"updated_since": "2020-01-01T00:00:00+22:06"})

    assert ids(response) == [published_claim.pk]
    assert anonymous.get(CLAIMS, {"published_after": "0001-01-01T00:00:00+23:00"}).status_code == 400
