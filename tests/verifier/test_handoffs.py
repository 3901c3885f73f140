"""Hand-offs (SPEC §8) below the admin: the publishing warnings, the open request for changes,
the attention markers and each person's My work, as verifier.selectors.attention reads them, and
the `warnings` the API answers submit and approve with."""

from typing import Any

import pytest
from django.contrib.auth.models import Group
from drf_spectacular.generators import SchemaGenerator

from claims.models import Claim
from core.roles import REVIEWERS
from tests.factories import FactCheckerFactory, rating
from tests.verifier.conftest import IRAN_QUOTE, claim_in_review, record_fetch
from tests.verifier.test_api_schema import _strict, assert_matches
from verifier.models import Notification, ReviewLogEntry
from verifier.selectors.attention import (
    PublishingWarning,
    claim_attention,
    claim_changes_request,
    claim_publishing_warnings,
    claims_with_attention,
    my_work,
)
from verifier.services.claims import claim_create
from verifier.services.evidence import evidence_add
from verifier.services.verdicts import (
    claim_request_changes,
    claim_submit,
    verdict_approve,
    verdict_save_draft,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("queued")]

FOUND = f"Iran said {IRAN_QUOTE} in February."


def claim_citing(author, *, found=0, not_found=0, pending=0, failed=0, text="A claim about drones"):
    """A draft claim with a verdict ready to submit, citing sources in each state, in that order."""
    claim = claim_create(actor=author, text=text, claimant_name="Iran")
    number = 0
    states = (("found", found), ("not_found", not_found), ("pending", pending), ("failed", failed))
    for state, count in states:
        for _ in range(count):
            number += 1
            evidence = evidence_add(
                actor=author,
                claim=claim,
                url=f"https://news.example.org/{text.split()[-1]}-{state}-{number}",
                quote=IRAN_QUOTE,
                stance="supports",
            )
            if state == "found":
                record_fetch(evidence.source, text=FOUND)
            elif state == "not_found":
                record_fetch(evidence.source, text="Iran denied everything.")
            elif state == "failed":
                record_fetch(evidence.source, text="", http_status=404)
    verdict_save_draft(actor=author, claim=claim, rating=rating("misleading"), summary="Exported before.")
    return claim


# Publishing warnings.


def test_warnings_name_each_quote_not_found_and_each_source_pending_or_failed(fact_checker):
    claim = claim_citing(fact_checker, found=1, not_found=1, pending=1, failed=1)
    evidence = list(claim.evidence.order_by("id"))

    warnings = claim_publishing_warnings(claim)

    assert [(w.code, w.evidence) for w in warnings] == [
        (PublishingWarning.QUOTE_NOT_FOUND, evidence[1].pk),
        (PublishingWarning.SOURCE_PENDING, evidence[2].pk),
        (PublishingWarning.SOURCE_FAILED, evidence[3].pk),
    ]
    assert warnings[0].message == (
        f"The quote of evidence #{evidence[1].pk} was not found in {evidence[1].source.url}."
    )
    assert warnings[2].message.startswith(f"The last fetch of {evidence[3].source.url}")
    assert warnings[2].key == f"source_failed:{evidence[3].pk}"


def test_evidence_fetched_with_its_quote_found_has_no_warning(fact_checker):
    assert claim_publishing_warnings(claim_citing(fact_checker, found=2)) == []


def test_warnings_never_stop_submitting_or_approving(fact_checker, reviewer):
    claim = claim_citing(fact_checker, not_found=1, failed=1)

    claim_submit(actor=fact_checker, claim=claim)
    verdict_approve(actor=reviewer, claim=claim)

    claim.refresh_from_db()
    assert claim.status == Claim.Status.PUBLISHED
    assert len(claim_publishing_warnings(claim)) == 2


# The request for changes.


def test_the_request_for_changes_lasts_until_the_claim_is_resubmitted(fact_checker, reviewer):
    claim = claim_in_review(fact_checker)
    assert claim_changes_request(claim) is None

    claim_request_changes(actor=reviewer, claim=claim, comment="Cite the export dates.")
    sent_back = claim_changes_request(claim)
    verdict_save_draft(actor=fact_checker, claim=claim, rating=rating("false"), summary="Dates cited.")
    still_sent_back = claim_changes_request(claim)
    claim_submit(actor=fact_checker, claim=claim, comment="Added the dates.")

    assert sent_back is not None
    assert (sent_back.actor, sent_back.comment) == (reviewer, "Cite the export dates.")
    assert still_sent_back == sent_back
    assert claim_changes_request(claim) is None


def test_the_latest_request_for_changes_is_the_one_shown(fact_checker, reviewer):
    claim = claim_in_review(fact_checker)
    claim_request_changes(actor=reviewer, claim=claim, comment="First round.")
    claim_submit(actor=fact_checker, claim=claim)
    claim_request_changes(actor=reviewer, claim=claim, comment="Second round.")

    assert claim_changes_request(claim).comment == "Second round."


def test_submitting_with_a_note_logs_it_and_tells_the_reviewers(fact_checker, reviewer):
    claim = claim_citing(fact_checker, found=1)

    claim_submit(actor=fact_checker, claim=claim, comment="  Fixed the dates as asked.  ")

    entry = ReviewLogEntry.objects.filter(claim=claim).last()
    assert (entry.action, entry.comment) == (ReviewLogEntry.Action.SUBMIT, "Fixed the dates as asked.")
    notified = Notification.objects.get(claim=claim, recipient=reviewer)
    assert notified.text.endswith("for review. Their note: Fixed the dates as asked.")


# Attention markers.


def labels(claim: Claim) -> list[str]:
    loaded = claims_with_attention(Claim.objects.filter(pk=claim.pk)).get()
    return [marker.label for marker in claim_attention(loaded)]


def test_attention_markers_say_in_words_what_each_claim_needs(fact_checker, reviewer):
    calm = claim_citing(fact_checker, found=1, text="A calm claim")
    troubled = claim_citing(fact_checker, not_found=1, pending=1, failed=1, text="A troubled claim")
    sent_back = claim_in_review(fact_checker, text="A claim sent back")
    claim_request_changes(actor=reviewer, claim=sent_back, comment="Cite the dates.")
    Claim.objects.filter(pk=calm.pk).update(source_flag="Source https://news.example.org/x changed.")

    assert labels(calm) == ["source changed"]
    assert labels(troubled) == ["quote not found", "source failed", "source pending"]
    assert labels(sent_back)[0] == "changes requested"
    claim_submit(actor=fact_checker, claim=sent_back)
    assert "changes requested" not in labels(sent_back)


def test_attention_is_loaded_in_the_list_query_whatever_the_number_of_claims(
    fact_checker, reviewer, django_assert_num_queries
):
    for number in range(6):
        claim = claim_citing(fact_checker, not_found=1, failed=1, text=f"Claim {number}")
        claim_submit(actor=fact_checker, claim=claim)
        claim_request_changes(actor=reviewer, claim=claim, comment="Again.")

    with django_assert_num_queries(1):
        markers = [claim_attention(claim) for claim in claims_with_attention(Claim.objects.all())]

    assert len(markers) == 6
    assert all(len(found) == 3 for found in markers)


# My work.


def test_a_fact_checkers_work_is_what_is_sent_back_to_them_flagged_or_assigned(fact_checker, reviewer):
    colleague = FactCheckerFactory()
    sent_back = claim_in_review(fact_checker, text="Sent back to me")
    claim_request_changes(actor=reviewer, claim=sent_back, comment="Cite the dates.")
    theirs_sent_back = claim_in_review(colleague, text="Sent back to a colleague")
    claim_request_changes(actor=reviewer, claim=theirs_sent_back, comment="Cite the dates.")
    assigned = claim_create(
        actor=colleague, text="Assigned to me", claimant_name="Iran", assignee=fact_checker
    )
    published = claim_citing(fact_checker, found=1, text="Mine published")
    Claim.objects.filter(pk=published.pk).update(assignee=fact_checker)
    claim_submit(actor=fact_checker, claim=published)
    verdict_approve(actor=reviewer, claim=published)
    flagged = claim_citing(fact_checker, found=1, text="Mine flagged")
    claim_submit(actor=fact_checker, claim=flagged)
    verdict_approve(actor=reviewer, claim=flagged)
    Claim.objects.filter(pk=flagged.pk).update(source_flag="A source changed.")
    colleague_flagged = claim_in_review(colleague, text="A colleague's, flagged")
    Claim.objects.filter(pk=colleague_flagged.pk).update(source_flag="A source changed.")

    assigned_and_sent_back = claim_in_review(
        colleague, text="Assigned to me, sent back", assignee=fact_checker
    )
    claim_request_changes(actor=reviewer, claim=assigned_and_sent_back, comment="Cite the dates.")

    work = my_work(fact_checker)

    assert list(work.sent_back) == [assigned_and_sent_back, sent_back]
    assert list(work.flagged) == [flagged]
    # A published claim with no correction open is no longer work, though still assigned; a claim
    # sent back is listed once, as sent back.
    assert list(work.assigned) == [assigned]
    assert work.to_review is None


def test_a_reviewers_work_is_what_waits_for_review_that_they_did_not_write(reviewer, second_reviewer):
    both = FactCheckerFactory()
    both.groups.add(Group.objects.get(name=REVIEWERS))
    others = claim_in_review(FactCheckerFactory(), text="Written by someone else")
    own = claim_in_review(both, text="Written by the reviewer")
    claim_citing(both, found=1, text="A draft, not in review")

    assert list(my_work(both).to_review) == [others]
    assert list(my_work(reviewer).to_review) == [others, own]
    assert my_work(reviewer).sent_back is None and my_work(reviewer).assigned is None


# The API.


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def post_response_schema(openapi: dict[str, Any], path: str) -> dict[str, Any]:
    described = openapi["paths"][path]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    definitions = {name: _strict(schema) for name, schema in openapi["components"]["schemas"].items()}
    return {**_strict(described), "$defs": definitions}


def test_submit_and_approve_answer_with_their_warnings(client_for, fact_checker, reviewer, openapi):
    claim = claim_citing(fact_checker, not_found=1, pending=1)
    evidence = list(claim.evidence.order_by("id"))

    submitted = client_for(fact_checker).post(
        f"/api/v1/claims/{claim.pk}/submit/", {"comment": "Over to you."}, format="json"
    )
    approved = client_for(reviewer).post(f"/api/v1/claims/{claim.pk}/approve/", {}, format="json")

    assert submitted.status_code == 200, submitted.json()
    assert submitted.json()["status"] == "in_review"
    assert [(w["code"], w["evidence"]) for w in submitted.json()["warnings"]] == [
        ("quote_not_found", evidence[0].pk),
        ("source_pending", evidence[1].pk),
    ]
    assert submitted.json()["warnings"][0] == {
        "code": "quote_not_found",
        "evidence": evidence[0].pk,
        "url": evidence[0].source.url,
        "message": f"The quote of evidence #{evidence[0].pk} was not found in {evidence[0].source.url}.",
    }
    assert approved.status_code == 200, approved.json()
    assert approved.json()["status"] == "published"
    assert approved.json()["warnings"] == submitted.json()["warnings"]
    assert ReviewLogEntry.objects.filter(claim=claim, action="submit").get().comment == "Over to you."
    assert_matches(submitted.json(), post_response_schema(openapi, "/api/v1/claims/{id}/submit/"))
    assert_matches(approved.json(), post_response_schema(openapi, "/api/v1/claims/{id}/approve/"))


def test_without_warnings_the_list_is_empty(client_for, fact_checker, reviewer):
    claim = claim_citing(fact_checker, found=1)

    submitted = client_for(fact_checker).post(f"/api/v1/claims/{claim.pk}/submit/")
    approved = client_for(reviewer).post(f"/api/v1/claims/{claim.pk}/approve/")

    assert (submitted.json()["warnings"], approved.json()["warnings"]) == ([], [])


def test_the_openapi_schema_declares_the_warnings_and_the_submit_note(openapi):
    submit = openapi["paths"]["/api/v1/claims/{id}/submit/"]["post"]
    declared = openapi["components"]["schemas"]["ClaimWithWarnings"]
    warning = openapi["components"]["schemas"]["PublishingWarning"]

    assert submit["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ClaimWithWarnings"
    )
    assert (
        openapi["paths"]["/api/v1/claims/{id}/approve/"]["post"]["responses"]["200"]["content"][
            "application/json"
        ]["schema"]["$ref"].endswith("/ClaimWithWarnings")
    )
    assert "warnings" in declared["required"]
    assert set(warning["properties"]) == {"code", "evidence", "url", "message"}
    assert "comment" in openapi["components"]["schemas"]["Submit"]["properties"]
