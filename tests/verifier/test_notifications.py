"""Notifications (SPEC §8): who hears of each workflow event, the rows in the admin, one mail task per
recipient after commit, and a mail that is sent once, retried only when the server says "not now".

The workflow services call notifications_send (tests/verifier/test_notification_events.py); here the
tests also call it directly, to vary who is concerned.
"""

import datetime
from unittest import mock

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.db import transaction
from django.utils import timezone

from core.roles import REVIEWERS
from tests.factories import FactCheckerFactory, ReviewerFactory, UserFactory, rating
from tests.processes import free_port
from tests.smtp import smtp_server, text_and_html
from tests.verifier.conftest import claim_in_review
from verifier.models import Notification
from verifier.services.claims import claim_update
from verifier.services.notifications import (
    MAIL_TASK,
    notification_email_set,
    notification_mail_send,
    notification_mails_requeue_stale,
    notifications_mark_read,
    notifications_send,
)
from verifier.services.verdicts import claim_request_changes, verdict_approve, verdict_save_draft
from verifier.tasks import mail_notification

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("queued")]

Event = Notification.Event


@pytest.fixture
def enqueued():
    """Records the mail tasks asked of the broker instead of sending them."""
    enqueue_mail = "verifier.services.notifications.enqueue_notification_mail"
    with mock.patch(enqueue_mail, return_value=True) as enqueue:
        yield enqueue


def recipients_of(notifications) -> set:
    return {notification.recipient for notification in notifications}


def test_a_submission_tells_the_reviewers_but_not_the_author(
    fact_checker, reviewer, second_reviewer, enqueued
):
    claim = claim_in_review(fact_checker)

    notifications = list(Notification.objects.filter(claim=claim))

    assert recipients_of(notifications) == {reviewer, second_reviewer}
    assert {n.event for n in notifications} == {"submitted"}
    assert notifications[0].text == (
        f"{fact_checker.username} submitted the verdict on “{claim.text}” for review."
    )


def test_a_reviewer_who_wrote_the_verdict_is_not_asked_to_review_it(fact_checker, reviewer, enqueued):
    both = FactCheckerFactory()
    both.groups.add(Group.objects.get(name=REVIEWERS))
    # Submitted by a colleague: the four-eyes rule still keeps the author from approving.
    claim = claim_in_review(both, submitter=fact_checker)

    notifications = notifications_send(event=Event.SUBMITTED, claim=claim, actor=fact_checker)

    assert recipients_of(notifications) == {reviewer}


def test_superusers_and_inactive_reviewers_hear_of_no_submission(fact_checker, reviewer, superuser, enqueued):
    ReviewerFactory(is_active=False)
    claim = claim_in_review(fact_checker)
    notifications = notifications_send(event=Event.SUBMITTED, claim=claim, actor=fact_checker)

    assert recipients_of(notifications) == {reviewer}


def test_requested_changes_tell_the_author_and_the_assignee_with_the_comment(
    fact_checker, other_fact_checker, reviewer, enqueued
):
    claim = claim_in_review(fact_checker, assignee=other_fact_checker)
    verdict = claim_request_changes(actor=reviewer, claim=claim, comment="Cite the Reuters documents.")

    notifications = notifications_send(
        event=Event.CHANGES_REQUESTED, claim=claim, actor=reviewer, verdict=verdict,
        comment="Cite the Reuters documents.",
    )

    assert recipients_of(notifications) == {fact_checker, other_fact_checker}
    assert notifications[0].text.endswith(": Cite the Reuters documents.")
    assert notifications[0].actor == reviewer


def test_an_approval_tells_the_author_once_when_they_are_also_the_assignee(fact_checker, reviewer, enqueued):
    claim = claim_in_review(fact_checker, assignee=fact_checker)
    verdict = verdict_approve(actor=reviewer, claim=claim)

    notifications = notifications_send(event=Event.APPROVED, claim=claim, actor=reviewer, verdict=verdict)

    assert recipients_of(notifications) == {fact_checker}
    assert "approved the verdict" in notifications[0].text and "it is published" in notifications[0].text


def test_nobody_is_told_of_their_own_action(fact_checker, reviewer, enqueued):
    claim = claim_in_review(fact_checker, assignee=reviewer)
    verdict = verdict_approve(actor=reviewer, claim=claim)

    notifications = notifications_send(event=Event.APPROVED, claim=claim, actor=reviewer, verdict=verdict)

    assert recipients_of(notifications) == {fact_checker}


def test_a_flag_tells_the_published_verdicts_author_and_reviewer_and_the_assignee(
    make_published_claim, fact_checker, other_fact_checker, reviewer, enqueued
):
    claim = make_published_claim()
    assignee = FactCheckerFactory()
    claim = claim_update(actor=fact_checker, claim=claim, assignee=assignee)
    # A correction drafted by someone else since: the flag is about the published version.
    verdict_save_draft(actor=other_fact_checker, claim=claim, rating=rating("false"), summary="Corrected.")

    notifications = notifications_send(
        event=Event.SOURCE_FLAGGED, claim=claim, actor=None,
        comment="Source https://news.example.org/drones-1 disappeared.",
    )

    assert recipients_of(notifications) == {fact_checker, assignee, reviewer}
    assert notifications[0].actor is None
    assert notifications[0].text == (
        f"A source cited by the published fact-check “{claim.text}” changed or disappeared. "
        "Source https://news.example.org/drones-1 disappeared."
    )


def test_one_mail_task_per_recipient_is_queued_only_once_the_event_commits(
    fact_checker, reviewer, second_reviewer, enqueued, django_capture_on_commit_callbacks
):
    claim = claim_in_review(fact_checker)

    with django_capture_on_commit_callbacks(execute=True):
        notifications = notifications_send(event=Event.SUBMITTED, claim=claim, actor=fact_checker)
        assert not enqueued.called

    assert sorted(call.args for call in enqueued.call_args_list) == sorted((n.pk,) for n in notifications)


def test_an_event_that_rolls_back_leaves_no_notification_and_queues_nothing(
    fact_checker, reviewer, enqueued, django_capture_on_commit_callbacks
):
    claim = claim_in_review(fact_checker)
    before = set(Notification.objects.values_list("pk", flat=True))

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        notifications_send(event=Event.SUBMITTED, claim=claim, actor=fact_checker)
        raise RuntimeError("the transition failed")

    assert set(Notification.objects.values_list("pk", flat=True)) == before and not enqueued.called


def test_people_who_turned_email_off_or_have_no_address_get_no_mail_task(
    fact_checker, reviewer, second_reviewer, enqueued, django_capture_on_commit_callbacks
):
    notification_email_set(user=reviewer, enabled=False)
    no_address = ReviewerFactory(email="")
    claim = claim_in_review(fact_checker)

    with django_capture_on_commit_callbacks(execute=True):
        notifications = notifications_send(event=Event.SUBMITTED, claim=claim, actor=fact_checker)

    mail_by_person = {n.recipient: n.mail for n in notifications}
    assert mail_by_person == {reviewer: "skipped", no_address: "skipped", second_reviewer: "pending"}
    [(queued_id,)] = [call.args for call in enqueued.call_args_list]
    assert queued_id == next(n.pk for n in notifications if n.recipient == second_reviewer)


def test_the_mail_task_is_queued_by_its_registered_name():
    assert mail_notification.name == MAIL_TASK


@pytest.fixture
def notification(fact_checker, reviewer, enqueued) -> Notification:
    claim = claim_in_review(fact_checker)
    [one] = notifications_send(event=Event.SUBMITTED, claim=claim, actor=fact_checker)
    return one


def test_a_notification_mail_has_text_and_html_linking_to_the_claims_admin_page(
    notification, reviewer, settings
):
    assert notification_mail_send(notification_id=notification.pk, final_attempt=False) == "sent"

    [sent] = mail.outbox
    claim_url = f"{settings.PUBLIC_BASE_URL}/admin/claims/claim/{notification.claim_id}/change/"
    assert sent.to == [reviewer.email]
    assert sent.from_email == settings.DEFAULT_FROM_EMAIL
    assert sent.subject == (
        "[Verifier] Submitted for review: Iran says the drones were exported before the invasion"
    )
    assert notification.text in sent.body and claim_url in sent.body
    assert "/admin/verifier/notification/" in sent.body
    [(html, mimetype)] = sent.alternatives
    assert mimetype == "text/html" and f'href="{claim_url}"' in html
    notification.refresh_from_db()
    assert (notification.mail, notification.mail_attempts) == ("sent", 1)
    assert notification.mailed_at is not None


def test_a_redelivered_mail_task_sends_nothing_more(notification):
    notification_mail_send(notification_id=notification.pk, final_attempt=False)

    assert notification_mail_send(notification_id=notification.pk, final_attempt=False) is None
    assert len(mail.outbox) == 1


def test_a_mail_claimed_by_another_worker_is_not_sent_again(notification):
    # Another worker claimed this attempt between our read and our claim.
    original_filter = Notification.objects.filter

    def claimed_meanwhile(*args, **kwargs):
        if "mail_attempts" in kwargs:
            Notification.objects.filter(pk=notification.pk).update(mail_attempts=1)
        return original_filter(*args, **kwargs)

    with mock.patch.object(Notification.objects, "filter", side_effect=claimed_meanwhile):
        assert notification_mail_send(notification_id=notification.pk, final_attempt=False) is None

    assert mail.outbox == []


def test_turning_email_off_after_the_event_stops_the_mail(notification, reviewer):
    notification_email_set(user=reviewer, enabled=False)

    assert notification_mail_send(notification_id=notification.pk, final_attempt=False) == "skipped"
    assert mail.outbox == []


@pytest.fixture
def smtp_settings(settings):
    def point_at(port: int) -> None:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_TIMEOUT = 5

    return point_at


def test_a_temporary_refusal_is_retried_and_the_mail_delivered_once(notification, smtp_settings):
    with smtp_server(refusals=1) as mailbox:
        smtp_settings(mailbox.port)

        assert notification_mail_send(notification_id=notification.pk, final_attempt=False) == "retrying"
        notification.refresh_from_db()
        assert "451" in notification.mail_error and notification.mail_attempts == 1

        assert notification_mail_send(notification_id=notification.pk, final_attempt=False) == "sent"

    assert len(mailbox.messages) == 1 and mailbox.refused == 1
    plain, html = text_and_html(mailbox.messages[0])
    assert notification.text in plain and "Open the claim" in html


def test_a_permanent_refusal_is_not_retried(notification, smtp_settings):
    with smtp_server(refusals=1, refusal="550 5.1.1 No such mailbox") as mailbox:
        smtp_settings(mailbox.port)

        assert notification_mail_send(notification_id=notification.pk, final_attempt=False) == "failed"

    notification.refresh_from_db()
    assert "550" in notification.mail_error and mailbox.messages == []


def test_an_unreachable_server_is_retried_until_the_last_attempt(notification, smtp_settings):
    smtp_settings(free_port())

    assert notification_mail_send(notification_id=notification.pk, final_attempt=False) == "retrying"
    assert notification_mail_send(notification_id=notification.pk, final_attempt=True) == "failed"
    notification.refresh_from_db()
    assert notification.mail_attempts == 2 and "ConnectionRefusedError" in notification.mail_error


def test_the_sweep_queues_again_only_mails_left_waiting(fact_checker, reviewer, enqueued):
    claim = claim_in_review(fact_checker)
    long_ago = timezone.now() - datetime.timedelta(hours=1)

    def notification(**fields):
        made = Notification.objects.create(recipient=reviewer, event=Event.SUBMITTED, claim=claim, **fields)
        Notification.objects.filter(pk=made.pk).update(created_at=long_ago)
        return made

    waiting = notification(text="Never picked up")
    notification(text="Being retried", mail="retrying", mail_last_attempt_at=timezone.now())
    notification(text="Done", mail="sent")
    Notification.objects.create(recipient=reviewer, event=Event.SUBMITTED, claim=claim, text="Just queued")

    assert notification_mails_requeue_stale() == 1
    enqueued.assert_called_once_with(waiting.pk)


def test_marking_read_touches_only_the_persons_own_unread_notifications(
    fact_checker, reviewer, second_reviewer, enqueued
):
    claim_in_review(fact_checker)
    other = UserFactory()

    assert notifications_mark_read(user=other) == 0
    assert notifications_mark_read(user=reviewer) == 1
    assert notifications_mark_read(user=reviewer) == 0
    assert Notification.objects.get(recipient=second_reviewer).read_at is None


def test_marking_read_by_id_leaves_the_others_unread(fact_checker, reviewer, enqueued):
    first = claim_in_review(fact_checker)
    second = claim_in_review(fact_checker, text="Iran says the drones were never exported")
    [one] = notifications_send(event=Event.SUBMITTED, claim=first, actor=fact_checker)
    [two] = notifications_send(event=Event.SUBMITTED, claim=second, actor=fact_checker)

    assert notifications_mark_read(user=reviewer, ids=[one.pk]) == 1

    assert Notification.objects.get(pk=two.pk).read_at is None
