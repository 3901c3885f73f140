"""Hand-offs in the admin (SPEC §8): warnings beside Submit and Approve and after them, the queue's
confirmation before approving with warnings, the changes-requested banner, the attention column,
comments on queue rows, and My work."""

import re

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from claims.models import Claim, Evidence
from core.roles import REVIEWERS
from sources.models import Source
from tests.admin_helpers import claim_url, drafted_claim
from tests.factories import FactCheckerFactory, ReviewerFactory
from verifier.models import ReviewLogEntry, Verdict
from verifier.services.verdicts import claim_request_changes, claim_submit, verdict_approve

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("queued")]

QUEUE = reverse("admin:claims_claim_review_queue")
CHANGELIST = reverse("admin:claims_claim_changelist")
MY_WORK = reverse("admin:claims_claim_my_work")


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def quote_not_found(claim: Claim) -> Evidence:
    evidence = claim.evidence.get()
    Evidence.objects.filter(pk=evidence.pk).update(quote_status=Evidence.QuoteStatus.NOT_FOUND)
    return evidence


def submitted(author, **kwargs) -> Claim:
    claim = drafted_claim(author, **kwargs)
    claim_submit(actor=author, claim=claim)
    return claim


def hidden_values(page: str, name: str) -> list[str]:
    return re.findall(rf'<input type="hidden" name="{name}" value="([^"]*)">', page)


# Warnings beside Submit and Approve, and after them.


def test_the_claim_page_warns_beside_submit_and_the_warning_follows_the_submission(as_user, fact_checker):
    claim = drafted_claim(fact_checker)
    evidence = quote_not_found(claim)
    client = as_user(fact_checker)
    warning = f"The quote of evidence #{evidence.pk} was not found in https://news.example.org/iran-drones."

    page = client.get(claim_url(claim)).content.decode()
    response = client.post(
        reverse("admin:claims_claim_submit", args=[claim.pk]),
        {"comment": "Ready for a second look."},
        follow=True,
    )

    submit_form = page[page.index('id="submit_form"') :]
    assert warning in submit_form[: submit_form.index("</form>")]
    assert "Ready, with the warnings above" in page
    assert messages_of(response) == ["Submitted the verdict for review.", f"Warning: {warning}"]
    claim.refresh_from_db()
    assert claim.status == Claim.Status.IN_REVIEW


def test_approving_from_the_claim_page_with_the_warnings_it_showed_is_one_click(
    as_user, fact_checker, reviewer
):
    claim = submitted(fact_checker, checked=False)
    client = as_user(reviewer)

    page = client.get(claim_url(claim)).content.decode()
    approve_form = page[page.index('id="approve_form"') :]
    approve_form = approve_form[: approve_form.index("</form>")]
    acknowledged = hidden_values(approve_form, "acknowledged_warnings")
    response = client.post(
        reverse("admin:claims_claim_approve", args=[claim.pk]),
        {"comment": "", "acknowledged_warnings": acknowledged},
        follow=True,
    )

    evidence = claim.evidence.get()
    assert acknowledged == [f"source_pending:{evidence.pk}"]
    assert "is still being fetched" in approve_form
    assert messages_of(response) == [
        f"Approved and published verdict version 1 of claim #{claim.pk}.",
        f"Warning: https://news.example.org/iran-drones (evidence #{evidence.pk}) is still being "
        "fetched: its quote is not checked yet.",
    ]
    assert Verdict.objects.get(claim=claim).state == Verdict.State.APPROVED


def test_a_warning_that_appeared_after_the_page_was_loaded_is_asked_about(as_user, fact_checker, reviewer):
    claim = submitted(fact_checker)
    client = as_user(reviewer)
    page = client.get(claim_url(claim)).content.decode()
    assert hidden_values(page, "acknowledged_warnings") == []
    Source.objects.update(status=Source.Status.FAILED, outcome_reason="HTTP 404")

    response = client.post(reverse("admin:claims_claim_approve", args=[claim.pk]), {"comment": "Fine."})

    assert response.status_code == 200
    assert "approve_confirmation_form" in response.content.decode()
    assert "failed: HTTP 404." in response.content.decode()
    assert Verdict.objects.get(claim=claim).state == Verdict.State.IN_REVIEW


def test_approving_from_the_queue_with_warnings_asks_first_on_a_csrf_protected_form(fact_checker, reviewer):
    claim = submitted(fact_checker)
    evidence = quote_not_found(claim)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(reviewer)
    queue = browser.get(QUEUE).content.decode()
    token = hidden_values(queue, "csrfmiddlewaretoken")[0]
    approve_url = reverse("admin:claims_claim_approve", args=[claim.pk])

    without_token = browser.post(approve_url, {"next": QUEUE})
    asked = browser.post(approve_url, {"next": QUEUE, "csrfmiddlewaretoken": token})

    assert without_token.status_code == 403
    assert asked.status_code == 200
    page = asked.content.decode()
    assert "Approve with warnings?" in page
    assert f"The quote of evidence #{evidence.pk} was not found" in page
    assert Verdict.objects.get(claim=claim).state == Verdict.State.IN_REVIEW
    form = page[page.index('id="approve_confirmation_form"') :]
    form = form[: form.index("</form>")]
    assert f'method="post" action="{approve_url}"' in page
    assert hidden_values(form, "next") == [QUEUE]
    acknowledged = hidden_values(form, "acknowledged_warnings")
    assert acknowledged == [f"quote_not_found:{evidence.pk}"]

    confirmed = browser.post(
        approve_url,
        {
            "next": QUEUE,
            "acknowledged_warnings": acknowledged,
            "comment": "Checked the quote by hand.",
            "csrfmiddlewaretoken": hidden_values(form, "csrfmiddlewaretoken")[0],
        },
        follow=True,
    )

    assert confirmed.redirect_chain[-1][0] == QUEUE
    assert messages_of(confirmed)[0] == f"Approved and published verdict version 1 of claim #{claim.pk}."
    assert Verdict.objects.get(claim=claim).state == Verdict.State.APPROVED
    assert ReviewLogEntry.objects.filter(claim=claim).last().comment == "Checked the quote by hand."


def test_approving_from_the_queue_without_warnings_stays_one_click(as_user, fact_checker, reviewer):
    claim = submitted(fact_checker)

    response = as_user(reviewer).post(
        reverse("admin:claims_claim_approve", args=[claim.pk]), {"next": QUEUE}, follow=True
    )

    assert response.redirect_chain[-1][0] == QUEUE
    assert messages_of(response) == [f"Approved and published verdict version 1 of claim #{claim.pk}."]
    assert Verdict.objects.get(claim=claim).state == Verdict.State.APPROVED


def test_the_author_is_refused_by_the_four_eyes_rule_not_asked_to_confirm(as_user, superuser):
    claim = submitted(superuser)
    quote_not_found(claim)

    response = as_user(superuser).post(
        reverse("admin:claims_claim_approve", args=[claim.pk]), {"next": QUEUE}, follow=True
    )

    assert messages_of(response) == [
        "Four-eyes rule: you wrote this verdict, so another reviewer must approve it."
    ]


# The changes-requested banner.


def test_the_author_sees_the_reviewers_request_at_the_top_until_resubmitting(as_user, fact_checker):
    reviewer = ReviewerFactory(first_name="Rashid", last_name="Khan")
    claim = submitted(fact_checker)
    claim_request_changes(actor=reviewer, claim=claim, comment="Cite the export dates.\nAnd the source.")
    entry = ReviewLogEntry.objects.filter(claim=claim).last()
    client = as_user(fact_checker)

    page = client.get(claim_url(claim)).content.decode()
    claim_submit(actor=fact_checker, claim=claim)
    after = client.get(claim_url(claim)).content.decode()

    banner = page[page.index('class="changes-requested-banner"') :]
    banner = banner[: banner.index("</div>")]
    # At the top: before the claim's first fieldset.
    assert page.index("changes-requested-banner") < page.index("<fieldset")
    assert "Changes requested</strong> by Rashid Khan" in banner
    assert f"{timezone.localtime(entry.created_at):%Y-%m-%d %H:%M}</time>" in banner
    assert "Cite the export dates.<br>And the source." in banner
    assert "changes-requested-banner" not in after


# The attention column, and comments on queue rows.


def test_the_claim_list_marks_a_claim_sent_back(as_user, fact_checker, reviewer):
    claim = submitted(fact_checker)
    claim_request_changes(actor=reviewer, claim=claim, comment="Cite the dates.")

    page = as_user(fact_checker).get(CHANGELIST).content.decode()

    assert ">changes requested</span>" in page


@pytest.mark.parametrize("claims", [3, 12])
def test_the_claim_list_with_every_attention_marker_takes_the_same_queries(
    claims, as_user, fact_checker, reviewer, django_assert_num_queries
):
    for number in range(claims):
        claim = submitted(fact_checker, text=f"Claim {number}", url=f"https://n{number}.example.org/")
        claim_request_changes(actor=reviewer, claim=claim, comment="Again.")
        quote_not_found(claim)
    Source.objects.filter(url__startswith="https://n1").update(status=Source.Status.FAILED)
    Source.objects.filter(url__startswith="https://n2").update(status=Source.Status.PENDING)
    Claim.objects.filter(text="Claim 0").update(source_flag="A source changed.")
    client = as_user(fact_checker)

    # As in tests/claims/test_admin.py: the markers come with the page of claims, in its query.
    with django_assert_num_queries(11):
        page = client.get(CHANGELIST).content.decode()

    assert page.count(">changes requested</span>") == claims
    assert page.count(">quote not found</span>") == claims
    assert ">source failed</span>" in page and ">source pending</span>" in page
    assert ">source changed</span>" in page


def test_each_queue_row_shows_the_latest_hand_off_comment_and_what_needs_attention(
    as_user, fact_checker, reviewer
):
    resubmitted = submitted(fact_checker, text="Sent back once")
    claim_request_changes(actor=reviewer, claim=resubmitted, comment="Cite the export dates.")
    claim_submit(actor=fact_checker, claim=resubmitted, comment="Added the dates from the ministry.")
    sent_back_then_silent = submitted(fact_checker, text="Resubmitted without a note", url="https://b.example/")
    claim_request_changes(actor=reviewer, claim=sent_back_then_silent, comment="Name the source.")
    claim_submit(actor=fact_checker, claim=sent_back_then_silent)
    quote_not_found(sent_back_then_silent)
    fresh = submitted(fact_checker, text="Never sent back", url="https://c.example/")

    response = as_user(reviewer).get(QUEUE)

    rows = {row.claim.pk: row for row in response.context["rows"]}
    assert rows[resubmitted.pk].latest_comment.comment == "Added the dates from the ministry."
    assert rows[sent_back_then_silent.pk].latest_comment.comment == "Name the source."
    assert rows[fresh.pk].latest_comment is None
    assert "quote not found" in rows[sent_back_then_silent.pk].attention
    page = response.content.decode()
    assert "Submitted for review by" in page and "“Added the dates from the ministry.”" not in page
    assert "<q>Added the dates from the ministry.</q>" in page
    assert "<q>Name the source.</q>" in page


# My work.


def test_my_work_is_linked_from_the_index_and_every_admin_page(as_user, fact_checker):
    client = as_user(fact_checker)

    assert MY_WORK in client.get(reverse("admin:index")).content.decode()
    assert f'<a href="{MY_WORK}" id="my-work-link">My work</a>' in client.get(CHANGELIST).content.decode()


def test_a_fact_checkers_work_page_lists_what_was_sent_back_flagged_and_assigned(
    as_user, fact_checker, reviewer
):
    sent_back = submitted(fact_checker, text="Sent back to me")
    claim_request_changes(actor=reviewer, claim=sent_back, comment="Cite the dates.")
    flagged = submitted(fact_checker, text="Mine, flagged", url="https://f.example/")
    verdict_approve(actor=reviewer, claim=flagged)
    Claim.objects.filter(pk=flagged.pk).update(source_flag="A source changed.")
    assigned = drafted_claim(FactCheckerFactory(), text="Assigned to me", url="https://a.example/")
    Claim.objects.filter(pk=assigned.pk).update(assignee=fact_checker)
    drafted_claim(FactCheckerFactory(), text="Someone else's", url="https://s.example/")

    response = as_user(fact_checker).get(MY_WORK)

    lists = {work.key: [row.claim.pk for row in work.rows] for work in response.context["lists"]}
    assert lists == {"sent-back": [sent_back.pk], "flagged": [flagged.pk], "assigned": [assigned.pk]}
    page = response.content.decode()
    assert "Someone else" not in page
    assert ">changes requested</span>" in page and ">source changed</span>" in page


def test_a_reviewers_work_page_lists_what_waits_for_their_review(as_user, reviewer, fact_checker):
    waiting = submitted(fact_checker)
    both = FactCheckerFactory()
    both.groups.add(Group.objects.get(name=REVIEWERS))
    own = submitted(both, text="Written by the reviewer", url="https://own.example/")

    reviewers_page = as_user(reviewer).get(MY_WORK)
    both_page = as_user(both).get(MY_WORK)

    assert {w.key: [r.claim.pk for r in w.rows] for w in reviewers_page.context["lists"]} == {
        "to-review": [waiting.pk, own.pk]
    }
    both_lists = {w.key: [r.claim.pk for r in w.rows] for w in both_page.context["lists"]}
    assert both_lists["to-review"] == [waiting.pk]
    assert set(both_lists) == {"sent-back", "flagged", "assigned", "to-review"}


@pytest.mark.parametrize("claims", [2, 8])
def test_my_work_takes_the_same_queries_whatever_the_number_of_claims(
    claims, as_user, reviewer, django_assert_num_queries
):
    both = FactCheckerFactory()
    both.groups.add(Group.objects.get(name=REVIEWERS))
    author = FactCheckerFactory()
    for number in range(claims):
        sent_back = submitted(both, text=f"Mine {number}", url=f"https://m{number}.example/")
        claim_request_changes(actor=reviewer, claim=sent_back, comment="Again.")
        Claim.objects.filter(pk=sent_back.pk).update(assignee=both)
        assigned = drafted_claim(author, text=f"Assigned {number}", url=f"https://a{number}.example/")
        Claim.objects.filter(pk=assigned.pk).update(assignee=both)
        submitted(author, text=f"Theirs {number}", url=f"https://t{number}.example/")
        flagged = submitted(both, text=f"Flagged {number}", url=f"https://f{number}.example/")
        verdict_approve(actor=reviewer, claim=flagged)
        Claim.objects.filter(pk=flagged.pk).update(source_flag="A source changed.")
    client = as_user(both)

    # Session, user, its permissions (user, group: both roles read them); each of the four lists'
    # claims (with latest verdict and attention) and their tags; the unread notifications.
    with django_assert_num_queries(13):
        response = client.get(MY_WORK)

    lists = {work.key: len(work.rows) for work in response.context["lists"]}
    assert lists == {"sent-back": claims, "flagged": claims, "assigned": claims, "to-review": claims}


def test_a_person_with_neither_role_is_told_so(as_user):
    viewer = ReviewerFactory()
    viewer.groups.clear()
    viewer.user_permissions.add(Permission.objects.get(codename="view_claim"))

    response = as_user(viewer).get(MY_WORK)

    assert response.status_code == 200
    assert "your account has neither role" in response.content.decode()
