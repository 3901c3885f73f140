"""Four-eyes by contribution (issue 9, finding 1): whoever wrote any part of a verdict version or
submitted it cannot approve it, superusers included; the API refuses, the admin hides Approve."""

from unittest import mock

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from claims.models import Claim
from core.roles import REVIEWERS
from tests.admin_helpers import drafted_claim
from tests.factories import FactCheckerFactory, UserFactory
from verifier.models import Verdict
from verifier.services.evidence import evidence_add
from verifier.services.verdicts import claim_request_changes, claim_submit

pytestmark = pytest.mark.django_db

CLAIMS = "/api/v1/claims/"
QUEUE = reverse("admin:claims_claim_review_queue")
WROTE = "Four-eyes rule: you wrote this verdict, so another reviewer must approve it."
SUBMITTED = "Four-eyes rule: you submitted this verdict, so another reviewer must approve it."
EVIDENCE = (
    "Four-eyes rule: you changed the evidence of this verdict, so another reviewer must approve it."
)


@pytest.fixture(autouse=True)
def no_broker():
    with mock.patch("sources.services.enqueue_fetch"):
        yield


@pytest.fixture(params=["in both groups", "superuser"])
def attacker(request):
    if request.param == "superuser":
        return UserFactory(is_superuser=True)
    both = FactCheckerFactory()
    both.groups.add(Group.objects.get(name=REVIEWERS))
    return both


def detail(claim: Claim) -> str:
    return f"{CLAIMS}{claim.pk}/"


def test_rewriting_another_fact_checkers_draft_then_approving_it_is_refused(
    attacker, fact_checker, client_for
):
    claim = drafted_claim(fact_checker)
    client = client_for(attacker)

    rewritten = client.put(f"{detail(claim)}verdict/", {"rating": "true", "summary": "Rewritten"})
    submitted = client.post(f"{detail(claim)}submit/")
    approved = client.post(f"{detail(claim)}approve/")

    assert (rewritten.status_code, submitted.status_code) == (200, 200)
    assert approved.status_code == 403
    assert WROTE in str(approved.json())
    assert Verdict.objects.get(claim=claim).state == Verdict.State.IN_REVIEW


def test_submitting_another_fact_checkers_draft_then_approving_it_is_refused(
    attacker, fact_checker, client_for
):
    claim = drafted_claim(fact_checker)
    client = client_for(attacker)

    assert client.post(f"{detail(claim)}submit/").status_code == 200
    approved = client.post(f"{detail(claim)}approve/")

    assert approved.status_code == 403
    assert SUBMITTED in str(approved.json())


def test_adding_evidence_to_the_version_then_approving_it_is_refused(
    attacker, fact_checker, client_for
):
    claim = drafted_claim(fact_checker)
    evidence_add(
        actor=attacker, claim=claim, url="https://news.example.org/planted",
        quote="a planted quote", stance="supports",
    )
    claim_submit(actor=fact_checker, claim=claim)

    approved = client_for(attacker).post(f"{detail(claim)}approve/")

    assert approved.status_code == 403
    assert EVIDENCE in str(approved.json())


def test_the_admin_hides_approve_from_a_contributor_and_refuses_the_post(
    attacker, fact_checker, client_for, as_user
):
    claim = drafted_claim(fact_checker)
    client_for(attacker).put(f"{detail(claim)}verdict/", {"rating": "true", "summary": "Rewritten"})
    claim_submit(actor=fact_checker, claim=claim)
    approve = reverse("admin:claims_claim_approve", args=[claim.pk])
    admin = as_user(attacker)

    queue = admin.get(QUEUE).content.decode()
    claim_page = admin.get(reverse("admin:claims_claim_change", args=[claim.pk])).content.decode()
    refused = admin.post(approve, follow=True)

    assert approve not in queue
    assert WROTE in queue
    assert approve not in claim_page
    assert [str(message) for message in refused.context["messages"]] == [WROTE]
    assert Verdict.objects.get(claim=claim).state == Verdict.State.IN_REVIEW


def test_a_reviewer_who_only_sent_the_version_back_may_still_approve_it(
    fact_checker, reviewer, client_for
):
    claim = drafted_claim(fact_checker)
    claim_submit(actor=fact_checker, claim=claim)
    claim_request_changes(actor=reviewer, claim=claim, comment="Cite the ministry's statement.")
    claim_submit(actor=fact_checker, claim=claim)

    approved = client_for(reviewer).post(f"{detail(claim)}approve/")

    assert approved.status_code == 200
    claim.refresh_from_db()
    assert claim.status == Claim.Status.PUBLISHED
