"""Bulk actions of the claim list: each asks what it needs, then calls a service and reports."""

import csv
import io
from unittest import mock

import pytest
from django.contrib.admin import helpers
from django.urls import reverse

from claims.models import Claim
from sources.models import Source
from tests.admin_helpers import drafted_claim
from verifier.services.claims import claim_create
from verifier.services.verdicts import claim_submit

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("queued")]

CHANGELIST = reverse("admin:claims_claim_changelist")


def run_action(client, action, claims, **answer):
    data = {"action": action, helpers.ACTION_CHECKBOX_NAME: [str(claim.pk) for claim in claims]}
    if answer:
        data.update(answer, apply="1")
    else:
        data["index"] = "0"
    return client.post(CHANGELIST, data, follow=True)


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_assign_asks_whom_on_an_intermediate_page(as_user, fact_checker, other_fact_checker):
    claims = [claim_create(actor=fact_checker, text=f"Claim {n}", claimant_name="Iran") for n in range(2)]

    response = run_action(as_user(fact_checker), "assign", claims)

    assert response.templates[0].name == "admin/claims/claim/bulk_action.html"
    page = response.content.decode()
    assert "2 claims selected" in page
    assert other_fact_checker.username in page
    for claim in claims:
        assert f'name="{helpers.ACTION_CHECKBOX_NAME}" value="{claim.pk}"' in page
    assert not Claim.objects.filter(assignee__isnull=False).exists()


def test_assign_assigns_through_the_service_and_reports_refusals(
    as_user, fact_checker, other_fact_checker
):
    draft = claim_create(actor=fact_checker, text="A draft", claimant_name="Iran")
    in_review = drafted_claim(fact_checker)
    claim_submit(actor=fact_checker, claim=in_review)

    response = run_action(
        as_user(fact_checker), "assign", [draft, in_review], assignee=str(other_fact_checker.pk)
    )

    shown = messages_of(response)
    assert f"Assigned to {other_fact_checker.username}: 1 claim." in shown
    assert f"1 claim left unchanged. #{in_review.pk}: The claim is in review" in " ".join(shown)
    draft.refresh_from_db()
    assert draft.assignee == other_fact_checker
    assert draft.history.latest().history_user == fact_checker


def test_tag_adds_the_typed_tags(as_user, fact_checker):
    claims = [claim_create(actor=fact_checker, text=f"Claim {n}", claimant_name="Iran") for n in range(2)]
    client = as_user(fact_checker)

    asked = run_action(client, "tag", claims)
    response = run_action(client, "tag", claims, tags="Drones, Ukraine war")

    assert 'name="tags"' in asked.content.decode()
    assert "Tagged “Drones, Ukraine war”: 2 claims." in messages_of(response)
    for claim in claims:
        assert sorted(claim.tags.values_list("name", flat=True)) == ["Drones", "Ukraine war"]


def test_refetch_sources_queues_the_cited_sources(
    as_user, fact_checker, queued, django_capture_on_commit_callbacks
):
    claim = drafted_claim(fact_checker)
    queued.reset_mock()

    with django_capture_on_commit_callbacks(execute=True):
        response = run_action(as_user(fact_checker), "refetch_sources", [claim])

    assert "Queued a fetch of 1 source." in messages_of(response)
    queued.assert_called_once_with(source_id=Source.objects.get().pk, token=mock.ANY)


def test_export_selected_writes_a_csv_of_just_those_claims(as_user, fact_checker):
    chosen = drafted_claim(fact_checker)
    drafted_claim(fact_checker, text="Not chosen", url="https://news.example.org/other")

    response = run_action(as_user(fact_checker), "export_csv", [chosen])

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="claims-')
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(row["id"], row["text"], row["rating"], row["verdict_state"]) for row in rows] == [
        (str(chosen.pk), chosen.text, "Misleading", "draft")
    ]
    assert rows[0]["evidence_urls"] == "https://news.example.org/iran-drones"


def test_bulk_changes_are_capped(as_user, fact_checker, other_fact_checker, monkeypatch):
    monkeypatch.setattr("verifier.admin.bulk.BULK_ACTION_LIMIT", 1)
    claims = [claim_create(actor=fact_checker, text=f"Claim {n}", claimant_name="Iran") for n in range(2)]

    response = run_action(as_user(fact_checker), "assign", claims, assignee=str(other_fact_checker.pk))

    assert messages_of(response) == [
        "Select at most 1 claims for this action; narrow the list with the filters."
    ]
    assert not Claim.objects.filter(assignee__isnull=False).exists()


def test_reviewers_are_offered_only_the_export(as_user, fact_checker, reviewer, other_fact_checker):
    claim = claim_create(actor=fact_checker, text="A claim", claimant_name="Iran")
    client = as_user(reviewer)

    offered = [name for name, _ in client.get(CHANGELIST).context["action_form"].fields["action"].choices]
    response = run_action(client, "assign", [claim], assignee=str(other_fact_checker.pk))

    assert offered == ["", "export_csv"]
    assert response.status_code == 200
    claim.refresh_from_db()
    assert claim.assignee is None
