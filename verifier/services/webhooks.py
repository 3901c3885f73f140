"""Webhooks: a signed POST of the claim to every endpoint registered for the event.

A delivery is a row written in the transaction of the event itself (publish, correction, link-rot
flag), so none is lost; the deliver_webhook task sends it once that transaction commits, retries
transient failures, and folds every attempt's result into the row.

The body is `{"event", "delivery", "created_at", "claim"}`, the claim exactly as
`GET /api/v1/claims/{id}/` shows it (verifier.api.webhooks.webhook_body, which the task passes in),
rendered at the first attempt and sent unchanged on retries.
The request carries `Verifier-Signature: t=<unix seconds>,v1=<hex>`, the hex being
HMAC-SHA256(secret, "<t>.<body>") (see README, "Webhooks").
"""

import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from claims.models import Claim
from core.queueing import task_queue
from sources.fetcher import Outcome, post_json
from sources.services import fetch_limits
from verifier.models import WebhookDelivery, WebhookEndpoint

# The name verifier.tasks registers its delivery task under (see core.queueing.task_queue).
DELIVER_TASK = "verifier.tasks.deliver_webhook"
SIGNATURE_HEADER = "Verifier-Signature"
USER_AGENT = "VerifierWebhooks/1 (+signed with Verifier-Signature)"
_REFUSED = frozenset({Outcome.BLOCKED, Outcome.INVALID_URL})
_DUE = (WebhookDelivery.Outcome.PENDING, WebhookDelivery.Outcome.RETRYING)


def webhook_signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """The Verifier-Signature header value for `body` sent at `timestamp` (unix seconds)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def webhook_signature_valid(
    *, secret: str, header: str, body: bytes, tolerance: int = 300, now: float | None = None
) -> bool:
    """Whether a received Verifier-Signature header signs `body` and is at most `tolerance` s old:
    what a receiver checks, shown here in Python."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    if not fields.get("t", "").isdigit() or "v1" not in fields:
        return False
    timestamp = int(fields["t"])
    if abs((now if now is not None else time.time()) - timestamp) > tolerance:
        return False
    expected = webhook_signature(secret=secret, timestamp=timestamp, body=body)
    return hmac.compare_digest(expected, f"t={timestamp},v1={fields['v1']}")


def webhook_events_for_claim(*, claim: Claim, event: str) -> list[WebhookDelivery]:
    """A pending delivery of `event` to every active endpoint that asked for it, each sent once the
    current transaction commits."""
    active = WebhookEndpoint.objects.filter(active=True)
    endpoints = [endpoint for endpoint in active if event in endpoint.events]
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(endpoint=endpoint, event=event, claim=claim) for endpoint in endpoints
    )
    for delivery in deliveries:
        transaction.on_commit(partial(enqueue_webhook_delivery, delivery.pk))
    return deliveries


def enqueue_webhook_delivery(delivery_id: int) -> bool:
    """Sends the delivery task; with the broker down the delivery waits for the stale sweep."""
    return task_queue(name=DELIVER_TASK, args=(delivery_id,), swept_by="the stale-delivery sweep")


@dataclass(frozen=True)
class DeliveryAttempt:
    outcome: str
    retry_after: float | None = None


def webhook_deliver(
    *, delivery_id: int, final_attempt: bool, render_body: Callable[[WebhookDelivery], bytes]
) -> DeliveryAttempt | None:
    """Sends the delivery once and records the result; None if it is not due (already delivered,
    given up, or being sent by another worker). `render_body` makes the body at the first attempt
    (verifier.api.webhooks.webhook_body); retries send the stored one."""
    due = WebhookDelivery.objects.select_related("endpoint").filter(outcome__in=_DUE)
    delivery = due.filter(pk=delivery_id).first()
    if delivery is None:
        return None
    now = timezone.now()
    # Of two workers holding the same delivery (a redelivered task, the sweep), one sends it.
    claimed = WebhookDelivery.objects.filter(
        pk=delivery.pk, outcome__in=_DUE, attempts=delivery.attempts
    ).update(attempts=F("attempts") + 1, last_attempt_at=now)
    if not claimed:
        return None
    body = bytes(delivery.payload) or _record_payload(delivery, render_body(delivery))
    endpoint = delivery.endpoint
    if not endpoint.active:
        return _record(delivery, WebhookDelivery.Outcome.FAILED, error="The endpoint was deactivated.")
    headers = {
        SIGNATURE_HEADER: webhook_signature(secret=endpoint.secret, timestamp=int(time.time()), body=body),
        "Verifier-Event": delivery.event,
        "Verifier-Delivery": str(delivery.delivery_id),
        "User-Agent": USER_AGENT,
    }
    # No transaction is open: the receiver may take up to SOURCES_TIMEOUT_TOTAL seconds.
    result = post_json(endpoint.url, body, headers, limits=fetch_limits())
    if result.ok:
        return _record(delivery, WebhookDelivery.Outcome.DELIVERED, status_code=result.http_status)
    if result.failure in _REFUSED:
        outcome = WebhookDelivery.Outcome.BLOCKED
    elif result.transient and not final_attempt:
        outcome = WebhookDelivery.Outcome.RETRYING
    else:
        outcome = WebhookDelivery.Outcome.FAILED
    attempt = _record(delivery, outcome, status_code=result.http_status, error=result.reason)
    return DeliveryAttempt(attempt.outcome, retry_after=result.retry_after)


def _record_payload(delivery: WebhookDelivery, body: bytes) -> bytes:
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        payload=body, payload_sha256=hashlib.sha256(body).hexdigest()
    )
    return body


def _record(
    delivery: WebhookDelivery, outcome: str, *, status_code: int | None = None, error: str = ""
) -> DeliveryAttempt:
    delivered = outcome == WebhookDelivery.Outcome.DELIVERED
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        outcome=outcome,
        status_code=status_code,
        error=error[:2000],
        delivered_at=timezone.now() if delivered else None,
    )
    return DeliveryAttempt(outcome)


def webhook_deliveries_requeue_stale() -> int:
    """Queues again the deliveries a broker outage or a dead worker left waiting."""
    cutoff = timezone.now() - timedelta(minutes=settings.WEBHOOK_STALE_MINUTES)
    stale = WebhookDelivery.objects.filter(outcome__in=_DUE).filter(
        Q(last_attempt_at__lt=cutoff) | Q(last_attempt_at__isnull=True, created_at__lt=cutoff)
    )
    return sum(enqueue_webhook_delivery(pk) for pk in stale.values_list("pk", flat=True))
