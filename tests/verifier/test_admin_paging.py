"""The claim list at scale (verifier.admin.paging): pages and counts in a fixed number of queries,
whatever the page and the table's size, and the same rows Django's own paging shows."""

import pytest
from django.core.paginator import Paginator
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from claims.models import Claim, Claimant
from tests.factories import ClaimantFactory, ClaimFactory
from verifier.admin import paging
from verifier.admin.claim import ClaimAdmin
from verifier.admin.paging import LargeTablePaginator, estimated_rows

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:claims_claim_changelist")
PER_PAGE = 3


@pytest.fixture
def small_pages(monkeypatch):
    """Pages of three claims, the next two pages counted: a big table's paging on a few claims."""
    monkeypatch.setattr(ClaimAdmin, "list_per_page", PER_PAGE)
    monkeypatch.setattr(paging, "PAGES_COUNTED_AHEAD", 2)


def make_claims(count: int, claimant: Claimant | None = None) -> list[Claim]:
    return ClaimFactory.create_batch(count, claimant=claimant or ClaimantFactory.create())


def listed(response) -> list[int]:
    return [claim.pk for claim in response.context["cl"].result_list]


def test_each_page_lists_what_djangos_paging_lists(as_user, fact_checker, small_pages):
    make_claims(20)
    newest_first = list(Claim.objects.order_by("-pk").values_list("pk", flat=True))
    client = as_user(fact_checker)

    pages = [listed(client.get(CHANGELIST, {"p": number})) for number in range(1, 8)]

    assert pages == [list(page) for page in Paginator(newest_first, PER_PAGE)]


def test_a_filtered_page_lists_only_matching_claims_in_order(as_user, fact_checker, small_pages):
    iran = ClaimantFactory(name="Iran")
    mine = [claim.pk for claim in make_claims(8, claimant=iran)]
    make_claims(8)

    response = as_user(fact_checker).get(CHANGELIST, {"claimant": "Iran", "p": 2})

    assert listed(response) == sorted(mine, reverse=True)[3:6]
    assert response.context["cl"].result_count == 8


@pytest.mark.parametrize("claims", [20, 40])
def test_the_first_page_takes_the_same_queries_however_many_claims(
    claims, as_user, fact_checker, small_pages, django_assert_num_queries
):
    make_claims(claims)
    client = as_user(fact_checker)

    # Session, user, its permissions (user, group); the rating, tag and assignee filter choices;
    # the count of the first three pages and one more claim, then the planner's estimate of the
    # rest (on SQLite a count); the page's keys; its claims with claimant, assignee, current rating
    # and quote flag; their tags; the unread notifications in the header.
    with django_assert_num_queries(13):
        response = client.get(CHANGELIST)

    assert len(listed(response)) == PER_PAGE
    assert response.context["cl"].result_count >= 3 * PER_PAGE + 1


@pytest.mark.parametrize("claims", [40, 60])
def test_a_deep_page_takes_the_same_queries_however_many_claims(
    claims, as_user, fact_checker, small_pages, django_assert_num_queries
):
    made = make_claims(claims)
    client = as_user(fact_checker)

    with django_assert_num_queries(13) as captured:
        response = client.get(CHANGELIST, {"p": 8})

    assert listed(response) == sorted((claim.pk for claim in made), reverse=True)[21:24]
    claim_queries = [query["sql"] for query in captured.captured_queries if '"claims_claim"' in query["sql"]]
    # Only the page's keys skip rows; the claims with everything the list shows are read by key.
    skipping = [sql for sql in claim_queries if "OFFSET" in sql]
    assert len(skipping) == 1 and skipping[0].startswith('SELECT "claims_claim"."id" AS "pk" FROM')
    if connection.vendor == "postgresql":  # elsewhere the rows past those counted are counted
        assert not [sql for sql in claim_queries if "COUNT(*)" in sql and "LIMIT" not in sql]


@pytest.mark.parametrize(("claims", "params"), [(PER_PAGE, {}), (PER_PAGE + 2, {"all": ""})])
def test_a_list_shown_whole_is_read_with_a_limit_of_its_count(
    claims, params, as_user, fact_checker, small_pages
):
    made = make_claims(claims)

    with CaptureQueriesContext(connection) as captured:
        response = as_user(fact_checker).get(CHANGELIST, params)

    assert listed(response) == sorted((claim.pk for claim in made), reverse=True)
    [rows] = [query["sql"] for query in captured.captured_queries if '"claims_claim"."text"' in query["sql"]]
    # Without one PostgreSQL costs the query for every row of its estimate (and may compile it).
    assert rows.endswith(f"LIMIT {claims}")


def test_an_empty_list_reads_no_rows(as_user, fact_checker, small_pages, django_assert_num_queries):
    make_claims(2)
    client = as_user(fact_checker)

    # As the first page (13) without the planner's estimate (all was counted), the page's keys, its
    # claims and their tags: a count of none is all the list needs to read.
    with django_assert_num_queries(9):
        response = client.get(CHANGELIST, {"claimant": "Nobody"})

    assert listed(response) == []
    assert response.context["cl"].result_count == 0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="reads PostgreSQL's plans")
def test_the_source_changed_list_reads_its_partial_index(as_user, fact_checker, small_pages):
    flagged, *_ = make_claims(5)
    # Arranged: the link-rot watch's flag, set directly.
    Claim.objects.filter(pk=flagged.pk).update(source_flag="Source https://x.example changed.")

    with CaptureQueriesContext(connection) as captured:
        response = as_user(fact_checker).get(CHANGELIST, {"flagged": "yes"})
    [count] = [query["sql"] for query in captured.captured_queries if "COUNT(*) FROM (SELECT" in query["sql"]]
    with connection.cursor() as cursor:
        # A tiny test table is cheaper to scan; what matters is that the filter is the index's
        # condition, so that the index can answer.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {count}")
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert listed(response) == [flagged.pk]
    assert "claim_source_flagged_idx" in plan


def test_the_count_is_exact_up_to_the_pages_counted_ahead(fact_checker, small_pages):
    make_claims(8)
    claims = Claim.objects.order_by("-pk")

    assert LargeTablePaginator(claims, PER_PAGE, page_asked=1).count == 8
    assert LargeTablePaginator(claims, PER_PAGE, page_asked=5).num_pages == 3


def test_beyond_the_pages_counted_the_count_is_at_least_what_was_counted(fact_checker, small_pages):
    make_claims(30)
    claims = Claim.objects.order_by("-pk")

    count = LargeTablePaginator(claims, PER_PAGE, page_asked=1).count

    assert count >= 3 * PER_PAGE + 1
    if connection.vendor != "postgresql":
        assert count == 30


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the planner's estimate is PostgreSQL's")
def test_postgresql_estimates_rows_without_counting(fact_checker, django_assert_num_queries):
    make_claims(30)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE claims_claim")

    with django_assert_num_queries(1) as captured:
        estimate = estimated_rows(Claim.objects.values("pk"))

    assert captured.captured_queries[0]["sql"].startswith("EXPLAIN")
    assert 20 <= estimate <= 40
