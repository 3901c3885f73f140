"""A notification mail goes through the broker to a real worker process and a real SMTP server that
refuses it once with a temporary error: it arrives once, and a redelivered task sends nothing more."""

from unittest import mock

import pytest
from django.db import close_old_connections

from tests.processes import WorkerProcess, purge_queues, wait_for
from tests.smtp import smtp_server, text_and_html
from tests.verifier.conftest import claim_in_review
from verifier.models import Notification
from verifier.tasks import mail_notification

# Serialized rollback restores the rating scale and groups the migrations made (see test_end_to_end).
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def refusing_once_mailbox():
    with smtp_server(refusals=1, refusal="451 4.7.1 Greylisted, try again later") as mailbox:
        yield mailbox


@pytest.fixture
def mail_worker(refusing_once_mailbox):
    purge_queues()
    process = WorkerProcess({"EMAIL_URL": refusing_once_mailbox.url}).start()
    yield process
    process.stop()


def mail_status(notification: Notification) -> str:
    close_old_connections()
    notification.refresh_from_db()
    return notification.mail


@pytest.mark.worker
def test_a_greylisted_mail_is_retried_by_a_real_worker_and_arrives_once(
    mail_worker, refusing_once_mailbox, fact_checker, reviewer, settings
):
    # The cited source is not fetched here: only the mail claim_submit queued goes through the broker.
    with mock.patch("sources.services.enqueue_fetch"):
        claim = claim_in_review(fact_checker)
    [notification] = Notification.objects.filter(claim=claim, event=Notification.Event.SUBMITTED)

    wait_for(
        lambda: mail_status(notification) == "sent", timeout=90,
        what=f"the worker to send the mail after a refusal\n{mail_worker.log()}",
    )
    assert refusing_once_mailbox.refused == 1
    [message] = refusing_once_mailbox.messages
    assert message["To"] == reviewer.email
    assert message["Subject"].startswith("[Verifier] Submitted for review: Iran says")
    plain, html = text_and_html(message)
    claim_url = f"{settings.PUBLIC_BASE_URL}/admin/claims/claim/{claim.pk}/change/"
    assert claim_url in plain and f'href="{claim_url}"' in html
    assert notification.mail_attempts == 2

    mail_notification.delay(notification.pk)

    wait_for(
        lambda: "succeeded" in mail_worker.log() and "'skipped'" in mail_worker.log(), timeout=60,
        what=f"the worker to skip the redelivered task\n{mail_worker.log()}",
    )
    assert len(refusing_once_mailbox.messages) == 1
    assert "No hostname was supplied" not in mail_worker.log()
