"""The verdict workflow in the admin: the buttons call the services and show their refusals."""

from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from claims.models import Claim
from core.roles import REVIEWERS
from tests.admin_helpers import admin_form_data, claim_url, drafted_claim
from tests.factories import FactCheckerFactory, rating
from verifier.models import Rating, ReviewLogEntry, Verdict
from verifier.services.evidence import evidence_add
from verifier.services.verdicts import claim_submit, verdict_approve, verdict_save_draft

pytestmark = pytest.mark.django_db

QUEUE = reverse("admin:claims_claim_review_queue")
FOUR_EYES = "Four-eyes rule: you wrote this verdict, so another reviewer must approve it."


@pytest.fixture(autouse=True)
def no_broker():
    with mock.patch("sources.services.enqueue_fetch"):
        yield


def submitted_claim(author, **kwargs):
    claim = drafted_claim(author, **kwargs)
    claim_submit(actor=author, claim=claim)
    return claim


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


@pytest.mark.parametrize("role", ["fact_checker", "reviewer", "superuser"])
def test_workflow_pages_render_for_every_role(role, request, as_user, fact_checker, reviewer):
    published = submitted_claim(fact_checker)
    verdict_approve(actor=reviewer, claim=published)
    verdict = Verdict.objects.get(claim=published)
    entry = ReviewLogEntry.objects.filter(claim=published).last()
    client = as_user(request.getfixturevalue(role))

    index = client.get(reverse("admin:index"))
    assert index.status_code == 200
    assert QUEUE in index.content.decode()
    for url in (
        QUEUE,
        reverse("admin:verifier_verdict_changelist"),
        reverse("admin:verifier_verdict_change", args=[verdict.pk]),
        reverse("admin:verifier_verdict_history", args=[verdict.pk]),
        reverse("admin:verifier_reviewlogentry_changelist"),
        reverse("admin:verifier_reviewlogentry_change", args=[entry.pk]),
        reverse("admin:verifier_rating_changelist"),
        reverse("admin:verifier_rating_change", args=[rating().pk]),
    ):
        assert client.get(url).status_code == 200, url


def test_fact_checker_drafts_the_verdict_on_the_claim_page(as_user, fact_checker):
    claim = drafted_claim(fact_checker)
    client = as_user(fact_checker)

    response = client.post(
        reverse("admin:claims_claim_verdict", args=[claim.pk]),
        {"rating": rating("false").pk, "summary": "  Exported later.  ", "explanation": "Dates."},
        follow=True,
    )

    verdict = Verdict.objects.get(claim=claim)
    assert (verdict.rating.slug, verdict.summary, verdict.explanation) == (
        "false",
        "Exported later.",
        "Dates.",
    )
    assert "Saved the draft verdict (version 1)." in messages_of(response)
    assert response.redirect_chain[-1][0] == claim_url(claim) + "#verdict"


def test_fact_checker_submits_with_the_button_and_it_is_logged(as_user, fact_checker):
    claim = drafted_claim(fact_checker)
    client = as_user(fact_checker)
    page = client.get(claim_url(claim))
    assert 'name="submit_for_review"' in page.content.decode()

    response = client.post(
        claim_url(claim), {**admin_form_data(page), "submit_for_review": "Submit for review"}, follow=True
    )

    assert "Submitted the verdict for review." in messages_of(response)
    claim.refresh_from_db()
    assert claim.status == Claim.Status.IN_REVIEW
    logged = ReviewLogEntry.objects.filter(claim=claim).last()
    assert (logged.action, logged.actor) == (ReviewLogEntry.Action.SUBMIT, fact_checker)


def test_submitting_an_incomplete_verdict_shows_why_and_changes_nothing(as_user, fact_checker):
    claim = drafted_claim(fact_checker)
    claim.evidence.all().delete()
    client = as_user(fact_checker)

    response = client.post(reverse("admin:claims_claim_submit", args=[claim.pk]), follow=True)

    assert response.status_code == 200
    assert messages_of(response) == [
        "Before submitting, the verdict needs at least one piece of evidence."
    ]
    claim.refresh_from_db()
    assert claim.status == Claim.Status.DRAFT


def test_reviewer_approves_with_the_button(as_user, fact_checker, reviewer):
    claim = submitted_claim(fact_checker)
    client = as_user(reviewer)
    page = client.get(claim_url(claim)).content.decode()
    approve_url = reverse("admin:claims_claim_approve", args=[claim.pk])
    assert approve_url in page

    response = client.post(approve_url, {"comment": "Dates check out."}, follow=True)

    assert f"Approved and published verdict version 1 of claim #{claim.pk}." in messages_of(response)
    claim.refresh_from_db()
    assert claim.status == Claim.Status.PUBLISHED
    verdict = Verdict.objects.get(claim=claim)
    assert (verdict.state, verdict.reviewer) == (Verdict.State.APPROVED, reviewer)
    logged = ReviewLogEntry.objects.filter(claim=claim).last()
    assert (logged.action, logged.actor, logged.comment) == (
        ReviewLogEntry.Action.APPROVE,
        reviewer,
        "Dates check out.",
    )


def test_authors_page_has_no_approve_button_and_says_why(as_user, superuser):
    claim = submitted_claim(superuser)
    client = as_user(superuser)
    approve_url = reverse("admin:claims_claim_approve", args=[claim.pk])

    page = client.get(claim_url(claim)).content.decode()

    assert approve_url not in page
    assert FOUR_EYES in page
    # Request changes stays open to them: sending back one's own verdict publishes nothing.
    assert reverse("admin:claims_claim_request_changes", args=[claim.pk]) in page
    # The service holds the rule, not the hidden button.
    response = client.post(approve_url, follow=True)
    assert messages_of(response) == [FOUR_EYES]
    claim.refresh_from_db()
    assert claim.status == Claim.Status.IN_REVIEW


def test_fact_checkers_never_see_the_review_buttons(as_user, fact_checker):
    claim = submitted_claim(FactCheckerFactory())

    page = as_user(fact_checker).get(claim_url(claim)).content.decode()

    assert reverse("admin:claims_claim_approve", args=[claim.pk]) not in page
    assert reverse("admin:claims_claim_request_changes", args=[claim.pk]) not in page
    assert FOUR_EYES not in page
    assert "waiting for a reviewer" in page


def test_fact_checker_posting_approve_is_refused_by_the_service(as_user, fact_checker):
    claim = submitted_claim(FactCheckerFactory())

    response = as_user(fact_checker).post(
        reverse("admin:claims_claim_approve", args=[claim.pk]), follow=True
    )

    assert messages_of(response) == ["Only reviewers can approve verdicts or request changes."]
    claim.refresh_from_db()
    assert claim.status == Claim.Status.IN_REVIEW


def test_reviewer_cannot_draft_a_verdict(as_user, fact_checker, reviewer):
    claim = drafted_claim(fact_checker)
    client = as_user(reviewer)

    page = client.get(claim_url(claim)).content.decode()
    response = client.post(
        reverse("admin:claims_claim_verdict", args=[claim.pk]),
        {"rating": rating("true").pk, "summary": "Fine."},
        follow=True,
    )

    assert reverse("admin:claims_claim_verdict", args=[claim.pk]) not in page
    assert messages_of(response) == ["Only fact-checkers can do this."]
    assert Verdict.objects.get(claim=claim).rating.slug == "misleading"


def test_request_changes_without_a_comment_shows_an_error_and_changes_nothing(
    as_user, fact_checker, reviewer
):
    claim = submitted_claim(fact_checker)
    logged = ReviewLogEntry.objects.count()

    response = as_user(reviewer).post(
        reverse("admin:claims_claim_request_changes", args=[claim.pk]),
        {"comment": "   "},
        follow=True,
    )

    assert messages_of(response) == ["Say what needs to change."]
    claim.refresh_from_db()
    assert claim.status == Claim.Status.IN_REVIEW
    assert Verdict.objects.get(claim=claim).state == Verdict.State.IN_REVIEW
    assert ReviewLogEntry.objects.count() == logged


def test_request_changes_sends_the_claim_back_with_the_comment(as_user, fact_checker, reviewer):
    claim = submitted_claim(fact_checker)

    as_user(reviewer).post(
        reverse("admin:claims_claim_request_changes", args=[claim.pk]),
        {"comment": "Cite the export dates."},
    )

    claim.refresh_from_db()
    assert claim.status == Claim.Status.DRAFT
    logged = ReviewLogEntry.objects.filter(claim=claim).last()
    assert (logged.action, logged.actor, logged.comment) == (
        ReviewLogEntry.Action.REQUEST_CHANGES,
        reviewer,
        "Cite the export dates.",
    )


def test_workflow_buttons_accept_only_post(as_user, fact_checker, reviewer):
    claim = submitted_claim(fact_checker)

    response = as_user(reviewer).get(reverse("admin:claims_claim_approve", args=[claim.pk]))

    assert response.status_code == 405
    claim.refresh_from_db()
    assert claim.status == Claim.Status.IN_REVIEW


def test_workflow_buttons_need_a_csrf_token(fact_checker, reviewer):
    from django.test import Client

    claim = submitted_claim(fact_checker)
    client = Client(enforce_csrf_checks=True)
    client.force_login(reviewer)

    response = client.post(reverse("admin:claims_claim_approve", args=[claim.pk]))

    assert response.status_code == 403
    claim.refresh_from_db()
    assert claim.status == Claim.Status.IN_REVIEW


def test_review_queue_lists_oldest_submission_first_with_what_a_reviewer_needs(
    as_user, fact_checker, reviewer
):
    newer = submitted_claim(fact_checker, text="Russia has acquired hundreds of drones from Iran")
    older = submitted_claim(
        fact_checker,
        text="The Alabuga plant will be fully operational early next year",
        url="https://news.example.org/alabuga",
        checked=False,
    )
    Verdict.objects.filter(claim=older).update(submitted_at=timezone.now() - timedelta(days=1))
    drafted_claim(fact_checker, text="Still a draft", url="https://news.example.org/draft")

    response = as_user(reviewer).get(QUEUE)

    rows = response.context["rows"]
    assert [row.claim for row in rows] == [older, newer]
    first = rows[0]
    assert first.verdict.rating.label == "Misleading"
    assert [evidence.source.url for evidence in first.evidence] == ["https://news.example.org/alabuga"]
    assert first.quote_counts == [("pending", 1, "wait")]
    assert rows[1].quote_counts == [("found", 1, "ok")]
    assert first.changes is None
    page = response.content.decode()
    assert "Iran admits supplying drones but disputes the timing." in page
    assert '<span class="badge badge-ok" title="">found</span>' in page
    assert "Still a draft" not in page


def test_review_queue_has_approve_and_request_changes_buttons_for_reviewers(
    as_user, fact_checker, reviewer
):
    claim = submitted_claim(fact_checker)

    page = as_user(reviewer).get(QUEUE).content.decode()

    assert f'action="{reverse("admin:claims_claim_approve", args=[claim.pk])}"' in page
    assert f'action="{reverse("admin:claims_claim_request_changes", args=[claim.pk])}"' in page


def test_review_queue_withholds_approve_from_the_author_with_the_four_eyes_reason(
    as_user, fact_checker
):
    # A user in both groups: they write verdicts and review the others'.
    both = FactCheckerFactory()
    both.groups.add(Group.objects.get(name=REVIEWERS))
    own = submitted_claim(both, text="A claim this reviewer wrote")
    other = submitted_claim(fact_checker, text="A claim someone else wrote")

    response = as_user(both).get(QUEUE)

    rows = {row.claim: row for row in response.context["rows"]}
    assert rows[own].four_eyes_reason == FOUR_EYES
    assert rows[other].four_eyes_reason is None
    page = response.content.decode()
    assert reverse("admin:claims_claim_approve", args=[own.pk]) not in page
    assert reverse("admin:claims_claim_approve", args=[other.pk]) in page
    assert FOUR_EYES in page
    # Sending one's own verdict back publishes nothing: that button stays.
    assert reverse("admin:claims_claim_request_changes", args=[own.pk]) in page


def test_superusers_follow_the_four_eyes_rule_in_the_queue(as_user, superuser):
    claim = submitted_claim(superuser)

    page = as_user(superuser).get(QUEUE).content.decode()

    assert reverse("admin:claims_claim_approve", args=[claim.pk]) not in page
    assert FOUR_EYES in page


def test_fact_checkers_see_the_queue_without_decision_buttons(as_user, fact_checker):
    claim = submitted_claim(FactCheckerFactory())

    response = as_user(fact_checker).get(QUEUE)

    page = response.content.decode()
    assert [row.claim for row in response.context["rows"]] == [claim]
    assert reverse("admin:claims_claim_approve", args=[claim.pk]) not in page
    assert reverse("admin:claims_claim_request_changes", args=[claim.pk]) not in page
    assert "Decision" not in page


def test_reviewer_approves_from_the_queue_and_returns_to_it(as_user, fact_checker, reviewer):
    claim = submitted_claim(fact_checker)

    response = as_user(reviewer).post(
        reverse("admin:claims_claim_approve", args=[claim.pk]), {"next": QUEUE}, follow=True
    )

    assert response.redirect_chain[-1][0] == QUEUE
    assert f"Approved and published verdict version 1 of claim #{claim.pk}." in messages_of(response)
    assert response.context["rows"] == []
    claim.refresh_from_db()
    assert claim.status == Claim.Status.PUBLISHED


def test_request_changes_from_the_queue_needs_a_comment(as_user, fact_checker, reviewer):
    claim = submitted_claim(fact_checker)
    client = as_user(reviewer)
    url = reverse("admin:claims_claim_request_changes", args=[claim.pk])

    refused = client.post(url, {"next": QUEUE, "comment": ""}, follow=True)
    claim.refresh_from_db()
    assert claim.status == Claim.Status.IN_REVIEW
    sent_back = client.post(url, {"next": QUEUE, "comment": "Cite the export dates."}, follow=True)

    assert messages_of(refused) == ["Say what needs to change."]
    assert sent_back.redirect_chain[-1][0] == QUEUE
    claim.refresh_from_db()
    assert claim.status == Claim.Status.DRAFT


def test_a_next_page_on_another_site_is_ignored(as_user, fact_checker, reviewer):
    claim = submitted_claim(fact_checker)

    response = as_user(reviewer).post(
        reverse("admin:claims_claim_approve", args=[claim.pk]), {"next": "https://evil.example/"}
    )

    assert response["Location"] == claim_url(claim) + "#verdict"


def correction_in_review(author, reviewer):
    """A published claim whose correction (new rating, summary and one more source) is in review."""
    claim = submitted_claim(author)
    verdict_approve(actor=reviewer, claim=claim)
    verdict_save_draft(
        actor=author,
        claim=claim,
        rating=rating("false"),
        summary="The drones were delivered after the invasion began.",
        explanation="Reports show deliveries after February 2022.",
    )
    evidence_add(
        actor=author,
        claim=claim,
        url="https://news.example.org/kyiv-strikes",
        quote="Shahed drones struck Kyiv",
        stance="refutes",
    )
    claim_submit(actor=author, claim=claim)
    return claim


def test_a_correction_shows_what_changed_against_the_published_version(
    as_user, fact_checker, reviewer, second_reviewer
):
    claim = correction_in_review(fact_checker, reviewer)

    response = as_user(second_reviewer).get(QUEUE)

    [row] = response.context["rows"]
    assert row.is_correction
    changes = row.changes
    assert (changes.published.version, changes.proposed.version) == (1, 2)
    assert changes.rating_changed and changes.summary_changed
    assert not changes.explanation_changed
    assert [e.source.url for e in changes.evidence_added] == ["https://news.example.org/kyiv-strikes"]
    assert changes.evidence_removed == []
    page = response.content.decode()
    assert "Changes against published version 1" in page
    assert "Rating: <del>Misleading</del> → <ins>False</ins>" in page
    assert "Evidence added: refutes · https://news.example.org/kyiv-strikes" in page
    # The claim page shows the same comparison above the verdict.
    claim_page = as_user(second_reviewer).get(claim_url(claim)).content.decode()
    assert "Rating: <del>Misleading</del> → <ins>False</ins>" in claim_page


@pytest.mark.parametrize("claims", [3, 12])
def test_review_queue_query_count_does_not_grow_with_claims(
    claims, as_user, fact_checker, reviewer, second_reviewer, django_assert_num_queries
):
    for number in range(claims):
        submitted_claim(fact_checker, text=f"Claim {number}", url=f"https://n{number}.example.org/")
    correction_in_review(fact_checker, reviewer)
    client = as_user(second_reviewer)

    # Session, user, its permissions (user, group), the count and the page of verdicts in review,
    # their claims, the claims' verdicts (in review and published, with rating and author) and
    # their evidence with its source, the latest hand-off comment of each; the unread notifications
    # in the header; and for the four-eyes rule the verdicts' field history, the claims' last
    # approvals and their evidence history.
    with django_assert_num_queries(14):
        response = client.get(QUEUE)

    assert len(response.context["rows"]) == claims + 1


def test_verdicts_and_the_review_log_cannot_be_changed_from_the_admin(
    as_user, superuser, fact_checker, reviewer
):
    claim = submitted_claim(fact_checker)
    verdict_approve(actor=reviewer, claim=claim)
    verdict = Verdict.objects.get(claim=claim)
    entry = ReviewLogEntry.objects.filter(claim=claim).first()
    client = as_user(superuser)

    assert client.get(reverse("admin:verifier_verdict_add")).status_code == 403
    assert (
        client.post(
            reverse("admin:verifier_verdict_change", args=[verdict.pk]), {"summary": "Edited"}
        ).status_code
        == 403
    )
    assert (
        client.post(reverse("admin:verifier_verdict_delete", args=[verdict.pk])).status_code == 403
    )
    assert client.get(reverse("admin:verifier_reviewlogentry_add")).status_code == 403
    assert (
        client.post(reverse("admin:verifier_reviewlogentry_delete", args=[entry.pk])).status_code
        == 403
    )
    verdict.refresh_from_db()
    assert verdict.summary == "Iran admits supplying drones but disputes the timing."
    assert ReviewLogEntry.objects.filter(pk=entry.pk).exists()


def test_only_superusers_edit_the_rating_scale(as_user, fact_checker, superuser):
    scale_entry = rating("unverifiable")
    url = reverse("admin:verifier_rating_change", args=[scale_entry.pk])
    data = {
        "label": "Unverifiable",
        "slug": "unverifiable",
        "value": "",
        "order": "8",
        "description": "Cannot be checked with the evidence available.",
    }

    assert as_user(fact_checker).post(url, data).status_code == 403
    assert as_user(superuser).post(url, data).status_code == 302

    assert Rating.objects.get(pk=scale_entry.pk).description == data["description"]


@pytest.mark.parametrize(("role", "can_import"), [("fact_checker", True), ("reviewer", False)])
def test_index_links_the_workflow_pages(role, can_import, request, as_user):
    page = as_user(request.getfixturevalue(role)).get(reverse("admin:index")).content.decode()

    assert QUEUE in page
    assert f"{reverse('admin:claims_claim_changelist')}?quote_not_found=yes" in page
    assert reverse("admin:claims_claim_export_published") in page
    assert (reverse("admin:claims_claim_import") in page) == can_import
