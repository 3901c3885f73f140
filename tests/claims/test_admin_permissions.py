"""Who may do what in the admin, role by role. The pages hide what a role may not do, and the
services refuse it when it is posted anyway."""

from unittest import mock

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from claims.models import Claim, Evidence
from core.roles import FACT_CHECKERS
from tests.admin_helpers import QUOTE, admin_form_data, claim_url, drafted_claim
from tests.factories import FactCheckerFactory, rating
from verifier.models import Verdict
from verifier.services.verdicts import claim_submit, verdict_approve

pytestmark = pytest.mark.django_db

QUEUE = reverse("admin:claims_claim_review_queue")


@pytest.fixture(autouse=True)
def no_broker():
    with mock.patch("sources.services.enqueue_fetch"):
        yield


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def submitted_claim(author, **kwargs):
    claim = drafted_claim(author, **kwargs)
    claim_submit(actor=author, claim=claim)
    return claim


def controls_on(page: str, claim: Claim) -> set[str]:
    """Which workflow controls of the claim a rendered page offers."""
    urls = {
        "approve": reverse("admin:claims_claim_approve", args=[claim.pk]),
        "request changes": reverse("admin:claims_claim_request_changes", args=[claim.pk]),
        "draft verdict": reverse("admin:claims_claim_verdict", args=[claim.pk]),
        "submit": reverse("admin:claims_claim_submit", args=[claim.pk]),
        "re-fetch": reverse("admin:claims_claim_refetch", args=[claim.pk]),
    }
    shown = {name for name, url in urls.items() if url in page}
    # On an editable claim page these buttons post the whole claim form.
    buttons = {"draft verdict": "save_verdict", "submit": "submit_for_review", "re-fetch": "_refetch"}
    shown.update(name for name, button in buttons.items() if f'name="{button}"' in page)
    if 'name="new_evidence-0-url"' in page:
        shown.add("add evidence")
    if 'name="evidence-0-DELETE"' in page:
        shown.add("remove evidence")
    if 'name="_save"' in page:
        shown.add("edit claim")
    return shown


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (
            "fact_checker",
            {"draft verdict", "submit", "re-fetch", "add evidence", "remove evidence", "edit claim"},
        ),
        ("reviewer", set()),
        (
            "superuser",
            {"draft verdict", "submit", "re-fetch", "add evidence", "remove evidence", "edit claim"},
        ),
    ],
)
def test_controls_on_a_draft_claim_by_role(role, expected, request, as_user):
    claim = drafted_claim(FactCheckerFactory())

    page = as_user(request.getfixturevalue(role)).get(claim_url(claim)).content.decode()

    assert controls_on(page, claim) == expected


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        # Fact-checkers wait: nothing to approve, nothing to edit while a reviewer reads.
        ("fact_checker", {"re-fetch"}),
        ("reviewer", {"approve", "request changes"}),
        ("superuser", {"approve", "request changes", "re-fetch"}),
    ],
)
def test_controls_on_a_claim_in_review_by_role(role, expected, request, as_user):
    claim = submitted_claim(FactCheckerFactory())

    page = as_user(request.getfixturevalue(role)).get(claim_url(claim)).content.decode()

    assert controls_on(page, claim) == expected


@pytest.mark.parametrize("role", ["fact_checker", "reviewer", "superuser"])
def test_the_author_never_gets_an_approve_control(role, request, as_user):
    author = request.getfixturevalue(role)
    if role == "reviewer":
        # A reviewer who also writes verdicts: in both groups.
        author.groups.add(Group.objects.get(name=FACT_CHECKERS))
    claim = submitted_claim(author)
    client = as_user(author)

    for page in (client.get(claim_url(claim)), client.get(QUEUE)):
        assert "approve" not in controls_on(page.content.decode(), claim)
    refused = client.post(reverse("admin:claims_claim_approve", args=[claim.pk]), follow=True)

    assert messages_of(refused) == [
        "Only reviewers can approve verdicts or request changes."
        if role == "fact_checker"
        else "Four-eyes rule: you wrote this verdict, so another reviewer must approve it."
    ]
    claim.refresh_from_db()
    assert claim.status == Claim.Status.IN_REVIEW


def test_fact_checkers_cannot_request_changes(as_user, fact_checker):
    claim = submitted_claim(FactCheckerFactory())

    response = as_user(fact_checker).post(
        reverse("admin:claims_claim_request_changes", args=[claim.pk]),
        {"comment": "Looks wrong."},
        follow=True,
    )

    assert messages_of(response) == ["Only reviewers can approve verdicts or request changes."]
    assert Verdict.objects.get(claim=claim).state == Verdict.State.IN_REVIEW


def test_reviewers_cannot_add_or_remove_evidence_by_posting_the_form(as_user, fact_checker, reviewer):
    claim = drafted_claim(fact_checker)
    data = admin_form_data(as_user(fact_checker).get(claim_url(claim)))
    data.update(
        {
            "evidence-0-DELETE": "on",
            "new_evidence-0-url": "https://news.example.org/reviewer",
            "new_evidence-0-quote": QUOTE,
            "new_evidence-0-stance": "refutes",
        }
    )

    response = as_user(reviewer).post(claim_url(claim), data)

    assert response.status_code == 403
    assert list(Evidence.objects.values_list("source__url", flat=True)) == [
        "https://news.example.org/iran-drones"
    ]


def test_reviewers_cannot_change_the_verdict_text(as_user, fact_checker, reviewer):
    claim = submitted_claim(fact_checker)

    response = as_user(reviewer).post(
        reverse("admin:claims_claim_verdict", args=[claim.pk]),
        {"rating": rating("true").pk, "summary": "A reviewer's own wording."},
        follow=True,
    )

    assert messages_of(response) == ["Only fact-checkers can do this."]
    assert Verdict.objects.get(claim=claim).summary == (
        "Iran admits supplying drones but disputes the timing."
    )


@pytest.mark.parametrize("role", ["fact_checker", "superuser"])
def test_nobody_edits_an_approved_verdict_saving_starts_a_new_version(
    role, request, as_user, fact_checker, second_reviewer
):
    claim = submitted_claim(fact_checker)
    verdict_approve(actor=second_reviewer, claim=claim)
    client = as_user(request.getfixturevalue(role))

    page = client.get(claim_url(claim)).content.decode()
    client.post(
        reverse("admin:claims_claim_verdict", args=[claim.pk]),
        {"rating": rating("false").pk, "summary": "Corrected."},
    )
    edit = client.post(
        reverse("admin:verifier_verdict_change", args=[Verdict.objects.get(version=1).pk]),
        {"summary": "Rewritten in place"},
    )

    assert "Start a correction" in page
    assert edit.status_code == 403
    versions = {v.version: (v.state, v.summary) for v in Verdict.objects.filter(claim=claim)}
    assert versions == {
        1: (Verdict.State.APPROVED, "Iran admits supplying drones but disputes the timing."),
        2: (Verdict.State.DRAFT, "Corrected."),
    }


def test_superusers_follow_the_four_eyes_rule_on_the_claim_page(as_user, superuser, reviewer):
    claim = submitted_claim(superuser)

    response = as_user(superuser).post(
        reverse("admin:claims_claim_approve", args=[claim.pk]), follow=True
    )

    assert messages_of(response) == [
        "Four-eyes rule: you wrote this verdict, so another reviewer must approve it."
    ]
    as_user(reviewer).post(reverse("admin:claims_claim_approve", args=[claim.pk]))
    claim.refresh_from_db()
    assert claim.status == Claim.Status.PUBLISHED
