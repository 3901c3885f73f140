"""Live status of the claim page (SPEC §8, issue 11): a staff-only JSON endpoint gives the fetch and
quote-check cells of the claim's evidence as the page renders them, and whether anything is still
to come; the page polls it with a static script only while something is pending or fetching."""

import pytest
from django.urls import reverse

from claims.models import Evidence
from sources.models import Source
from tests.admin_helpers import QUOTE, claim_url, drafted_claim, fetched_snapshot
from verifier.admin.inlines import evidence_fetch_cell, evidence_quote_cell
from verifier.services.evidence import evidence_add

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("queued")]


def live_status_url(claim) -> str:
    return reverse("admin:claims_claim_live_status", args=[claim.pk])


def test_while_a_fetch_is_pending_the_page_polls_and_the_endpoint_says_so(as_user, fact_checker):
    claim = drafted_claim(fact_checker, checked=False)
    client = as_user(fact_checker)

    page = client.get(claim_url(claim)).content.decode()
    status = client.get(live_status_url(claim))

    assert f'data-live-status-url="{live_status_url(claim)}" data-live-status-pending' in page
    assert 'src="/static/verifier/live_status.js"' in page
    assert status.status_code == 200 and "no-store" in status["Cache-Control"]
    evidence = claim.evidence.select_related("source").get()
    assert status.json() == {
        "settled": False,
        "evidence": [
            {
                "id": evidence.pk,
                "fetch_outcome": evidence_fetch_cell(evidence),
                "quote_check": evidence_quote_cell(evidence),
            }
        ],
    }
    assert ">pending<" in status.json()["evidence"][0]["fetch_outcome"]


def test_once_the_fetch_lands_the_endpoint_is_settled_and_sends_the_new_badges(as_user, fact_checker):
    claim = drafted_claim(fact_checker, checked=False)
    source = Source.objects.get()
    fetched_snapshot(source, text=f"Iran has admitted it. {QUOTE}.", body=b"<p>page</p>")
    client = as_user(fact_checker)

    status = client.get(live_status_url(claim)).json()
    page = client.get(claim_url(claim)).content.decode()

    assert status["settled"] is True
    [row] = status["evidence"]
    assert ">fetched<" in row["fetch_outcome"] and ">found<" in row["quote_check"]
    assert Evidence.objects.get().quote_checked_snapshot_id is not None
    # A settled page does not poll at all.
    assert "data-live-status-pending" not in page


@pytest.mark.parametrize("rows", [1, 8])
def test_the_endpoint_costs_the_same_queries_for_any_number_of_evidence(
    as_user, fact_checker, django_assert_num_queries, rows
):
    claim = drafted_claim(fact_checker, checked=False)
    for number in range(1, rows):
        evidence_add(
            actor=fact_checker, claim=claim, url=f"https://news.example.org/{number}",
            quote="drones", stance="context",
        )
    client = as_user(fact_checker)

    # The session and its user, the claim, the user's permissions (user and group), then the
    # evidence with their sources.
    with django_assert_num_queries(6):
        response = client.get(live_status_url(claim))

    assert len(response.json()["evidence"]) == rows


def test_the_endpoint_is_for_staff_only(client, fact_checker):
    claim = drafted_claim(fact_checker, checked=False)

    response = client.get(live_status_url(claim))

    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
