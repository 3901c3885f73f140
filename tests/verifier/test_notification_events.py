"""The workflow services tell the people concerned of each event (SPEC §8): submitting, requesting
changes, approving, and a published claim's source changing or disappearing."""

from unittest import mock

import pytest

from tests.verifier.conftest import claim_in_review, record_fetch
from verifier.models import Notification
from verifier.services.verdicts import claim_request_changes, verdict_approve

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("queued")]

Event = Notification.Event


@pytest.fixture(autouse=True)
def no_mail_queued():
    with mock.patch("verifier.services.notifications.enqueue_notification_mail", return_value=True):
        yield


def told(event: str) -> list[tuple[str, str]]:
    return [
        (notification.recipient.username, notification.text)
        for notification in Notification.objects.filter(event=event).select_related("recipient")
    ]


def test_submitting_tells_the_reviewers(fact_checker, reviewer, second_reviewer):
    claim = claim_in_review(fact_checker)

    reviewers = {reviewer.username, second_reviewer.username}
    assert {username for username, _ in told(Event.SUBMITTED)} == reviewers
    assert set(Notification.objects.values_list("claim", flat=True)) == {claim.pk}


def test_requesting_changes_tells_the_author_with_the_comment(fact_checker, reviewer):
    claim = claim_in_review(fact_checker)

    claim_request_changes(actor=reviewer, claim=claim, comment="Cite the UN report too.")

    [(username, text)] = told(Event.CHANGES_REQUESTED)
    assert username == fact_checker.username
    assert text.endswith(": Cite the UN report too.")


def test_approving_tells_the_author(fact_checker, reviewer):
    claim = claim_in_review(fact_checker)

    verdict_approve(actor=reviewer, claim=claim)

    assert [username for username, _ in told(Event.APPROVED)] == [fact_checker.username]


def test_a_source_that_disappears_tells_each_flagged_claims_people(
    make_published_claim, fact_checker, reviewer
):
    claim = make_published_claim()
    source = claim.evidence.get().source

    record_fetch(source, text="", http_status=404)

    notified = told(Event.SOURCE_FLAGGED)
    assert {username for username, _ in notified} == {fact_checker.username, reviewer.username}
    assert all(f"Source {source.url} disappeared" in text for _, text in notified)


def test_an_unchanged_source_tells_nobody(make_published_claim):
    claim = make_published_claim()
    source = claim.evidence.get().source

    record_fetch(source, text=source.snapshots.first().text)

    assert told(Event.SOURCE_FLAGGED) == []
