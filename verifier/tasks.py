"""Celery entry points for verifier: thin adapters over verifier.services.webhooks and
verifier.provenance.services; notification mails for verifier.services.notifications."""

from celery import Task, shared_task
from django.conf import settings

from core.queueing import retry_delay
from verifier.api.webhooks import webhook_body
from verifier.models import Notification, WebhookDelivery
from verifier.provenance import services as provenance
from verifier.services import notifications, webhooks


@shared_task(bind=True, name=webhooks.DELIVER_TASK, acks_late=True, max_retries=settings.WEBHOOK_MAX_RETRIES)
def deliver_webhook(self: Task, delivery_id: int) -> str:
    """Sends one webhook delivery, retrying transient failures with backoff and jitter."""
    final_attempt = self.request.retries >= (self.max_retries or 0)
    attempt = webhooks.webhook_deliver(
        delivery_id=delivery_id, final_attempt=final_attempt, render_body=webhook_body
    )
    if attempt is None:
        return "skipped"
    if attempt.outcome == WebhookDelivery.Outcome.RETRYING:
        raise self.retry(countdown=retry_delay(self.request.retries, attempt.retry_after))
    return attempt.outcome


@shared_task
def requeue_stale_webhook_deliveries() -> int:
    """Queues again the webhook deliveries that a broker outage or a dead worker left behind."""
    return webhooks.webhook_deliveries_requeue_stale()


@shared_task
def store_review_log_checkpoint() -> int:
    """Signs the head of the review log, so entries appended outside an approval are covered too."""
    checkpoint = provenance.review_log_checkpoint_store()
    return checkpoint.size if checkpoint is not None else 0


@shared_task(name=provenance.TIMESTAMP_TASK)
def request_missing_trusted_timestamps(retry_now: bool = False) -> int:
    """Asks the timestamp authority again for the tokens an outage left missing (`retry_now`:
    also those that failed only minutes ago, when a person asks from the admin)."""
    return provenance.trusted_timestamps_request_missing(retry_now=retry_now)


@shared_task(name=provenance.PACKAGE_TASK, acks_late=True)
def build_evidence_package(claim_id: int, version: int) -> str:
    """Builds and stores the evidence package of a newly published version (a no-op if stored)."""
    stored = provenance.evidence_package_build(claim_id=claim_id, version=version)
    if stored is None:
        return "not published"
    return "built" if stored.built else "already stored"


@shared_task(bind=True, name=notifications.MAIL_TASK, acks_late=True, max_retries=settings.EMAIL_MAX_RETRIES)
def mail_notification(self: Task, notification_id: int) -> str:
    """Mails one notification, retrying what the mail server refused for now or could not take, with
    backoff and jitter."""
    final_attempt = self.request.retries >= (self.max_retries or 0)
    status = notifications.notification_mail_send(
        notification_id=notification_id, final_attempt=final_attempt
    )
    if status is None:
        return "skipped"
    if status == Notification.Mail.RETRYING:
        raise self.retry(countdown=retry_delay(self.request.retries, None))
    return status


@shared_task
def requeue_stale_notification_mails() -> int:
    """Queues again the notification mails that a broker outage or a dead worker left behind."""
    return notifications.notification_mails_requeue_stale()
