"""Webhooks (verifier.services.webhooks): signed deliveries on publish, correction and link-rot flag."""

import hashlib
import json
import time
from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone
from werkzeug import Response

from tests.factories import rating
from tests.verifier.conftest import record_fetch
from verifier.api.webhooks import webhook_body
from verifier.models import WebhookDelivery, WebhookEndpoint
from verifier.services.verdicts import claim_submit, verdict_approve, verdict_save_draft
from verifier.services.webhooks import (
    webhook_deliver,
    webhook_deliveries_requeue_stale,
    webhook_signature,
    webhook_signature_valid,
)
from verifier.tasks import deliver_webhook

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("queued")]

ALL_EVENTS = ["publish", "correction", "flag"]


@pytest.fixture(autouse=True)
def eager_tasks_keep_the_test_connection():
    """Tasks run here with apply(), in the test's transaction: config.celery's closing of old
    connections between tasks would close the test's own."""
    from celery.signals import task_postrun, task_prerun

    from config.celery import close_old_database_connections

    for signal in (task_prerun, task_postrun):
        signal.disconnect(close_old_database_connections)
    yield
    for signal in (task_prerun, task_postrun):
        signal.connect(close_old_database_connections)


@pytest.fixture
def receiver(httpserver, settings):
    """A webhook receiver on loopback, which the guard treats as public for this test."""
    settings.SOURCES_ALLOW_PRIVATE_NETWORKS = True
    settings.SOURCES_ALLOWED_PORTS = frozenset({80, 443, httpserver.port})
    return httpserver


@pytest.fixture
def endpoint(receiver):
    return WebhookEndpoint.objects.create(url=receiver.url_for("/hook"), events=ALL_EVENTS)


def correct(claim, fact_checker, reviewer):
    verdict_save_draft(
        actor=fact_checker, claim=claim, rating=rating("true"), summary="Corrected.",
        correction_note="Rating corrected after new reporting.",
    )
    claim_submit(actor=fact_checker, claim=claim)
    verdict_approve(actor=reviewer, claim=claim)


def received(server):
    return [(request.headers, request.get_data()) for request, _ in server.log]


# Signing.


def test_a_signature_verifies_only_the_exact_body_recently_signed():
    body = b'{"event":"publish"}'
    now = int(time.time())
    header = webhook_signature(secret="s3cret", timestamp=now, body=body)

    assert header.startswith(f"t={now},v1=")
    assert webhook_signature_valid(secret="s3cret", header=header, body=body)
    assert not webhook_signature_valid(secret="s3cret", header=header, body=body + b" ")
    assert not webhook_signature_valid(secret="other", header=header, body=body)
    assert not webhook_signature_valid(secret="s3cret", header=header, body=body, now=now + 301)
    assert not webhook_signature_valid(secret="s3cret", header="v1=abc", body=body)


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body():
    import hmac

    expected = hmac.new(b"k", b"1700000000.{}", hashlib.sha256).hexdigest()

    assert webhook_signature(secret="k", timestamp=1_700_000_000, body=b"{}") == f"t=1700000000,v1={expected}"


# Which events make deliveries.


def test_a_publish_makes_one_delivery_per_subscribed_active_endpoint(make_published_claim):
    wants_publish = WebhookEndpoint.objects.create(url="https://a.example.org/hook", events=["publish"])
    WebhookEndpoint.objects.create(url="https://b.example.org/hook", events=["flag"])
    WebhookEndpoint.objects.create(url="https://c.example.org/hook", events=ALL_EVENTS, active=False)

    claim = make_published_claim()

    delivery = WebhookDelivery.objects.get()
    assert (delivery.endpoint, delivery.event, delivery.claim) == (wants_publish, "publish", claim)
    assert delivery.outcome == WebhookDelivery.Outcome.PENDING and delivery.attempts == 0


def test_a_correction_and_a_link_rot_flag_are_events_of_their_own(published_claim, fact_checker, reviewer):
    WebhookEndpoint.objects.create(url="https://a.example.org/hook", events=ALL_EVENTS)

    correct(published_claim, fact_checker, reviewer)
    record_fetch(published_claim.evidence.get().source, text="The page was rewritten.")

    events = WebhookDelivery.objects.order_by("id").values_list("event", flat=True)
    assert list(events) == ["correction", "flag"]


def test_deliveries_are_queued_once_the_publish_commits(
    make_published_claim, django_capture_on_commit_callbacks
):
    WebhookEndpoint.objects.create(url="https://a.example.org/hook", events=ALL_EVENTS)

    with (
        mock.patch("verifier.services.webhooks.enqueue_webhook_delivery") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        make_published_claim()
        assert not delay.called

    delay.assert_called_once_with(WebhookDelivery.objects.get().pk)


# Delivering.


def test_a_delivery_posts_the_signed_claim_as_the_api_shows_it(receiver, endpoint, published_claim, client):
    receiver.expect_request("/hook", method="POST").respond_with_data("ok")
    delivery = WebhookDelivery.objects.get()

    result = deliver_webhook.apply(args=(delivery.pk,)).get()

    assert result == "delivered"
    ((headers, body),) = received(receiver)
    payload = json.loads(body)
    assert payload["event"] == "publish" and payload["delivery"] == str(delivery.delivery_id)
    assert payload["claim"] == client.get(f"/api/v1/claims/{published_claim.pk}/").json()
    assert webhook_signature_valid(secret=endpoint.secret, header=headers["Verifier-Signature"], body=body)
    assert headers["Verifier-Event"] == "publish"
    assert headers["Verifier-Delivery"] == str(delivery.delivery_id)
    delivery.refresh_from_db()
    assert delivery.outcome == WebhookDelivery.Outcome.DELIVERED
    assert (delivery.attempts, delivery.status_code, delivery.error) == (1, 200, "")
    assert delivery.payload_sha256 == hashlib.sha256(body).hexdigest()
    assert delivery.delivered_at is not None


def test_a_server_error_is_retried_until_delivered(receiver, endpoint, published_claim):
    answers = iter([500, 503, 200])
    receiver.expect_request("/hook", method="POST").respond_with_handler(
        lambda request: Response("", status=next(answers))
    )
    delivery = WebhookDelivery.objects.get()

    with mock.patch("verifier.tasks.retry_delay", return_value=0) as delay:
        deliver_webhook.apply(args=(delivery.pk,))

    delivery.refresh_from_db()
    assert delivery.outcome == WebhookDelivery.Outcome.DELIVERED
    assert delivery.attempts == 3
    # Exponential backoff with jitter between the attempts, from core.queueing.retry_delay.
    assert [call.args[0] for call in delay.call_args_list] == [0, 1]
    bodies = {body for _, body in received(receiver)}
    assert len(bodies) == 1, "every attempt sends the same bytes"


def test_a_delivery_gives_up_after_the_last_retry(receiver, endpoint, published_claim):
    receiver.expect_request("/hook").respond_with_data("down", status=502)
    delivery = WebhookDelivery.objects.get()

    with mock.patch("verifier.tasks.retry_delay", return_value=0):
        deliver_webhook.apply(args=(delivery.pk,))

    delivery.refresh_from_db()
    assert delivery.outcome == WebhookDelivery.Outcome.FAILED
    assert delivery.attempts == deliver_webhook.max_retries + 1
    assert (delivery.status_code, delivery.error) == (502, "the receiver answered 502 BAD GATEWAY")


def test_a_client_error_is_not_retried(receiver, endpoint, published_claim):
    receiver.expect_request("/hook").respond_with_data("who?", status=404)
    delivery = WebhookDelivery.objects.get()

    deliver_webhook.apply(args=(delivery.pk,))

    delivery.refresh_from_db()
    assert (delivery.outcome, delivery.attempts, delivery.status_code) == ("failed", 1, 404)


def test_a_private_url_is_refused_and_recorded_as_blocked(httpserver, make_published_claim, settings):
    # The port is open, so what refuses the URL is its address, as a receiver on port 443 would be.
    settings.SOURCES_ALLOWED_PORTS = frozenset({80, 443, httpserver.port})
    WebhookEndpoint.objects.create(url=f"http://127.0.0.1:{httpserver.port}/hook", events=ALL_EVENTS)
    make_published_claim()
    delivery = WebhookDelivery.objects.get()

    deliver_webhook.apply(args=(delivery.pk,))

    delivery.refresh_from_db()
    assert (delivery.outcome, delivery.attempts, delivery.status_code) == ("blocked", 1, None)
    assert delivery.error == "address 127.0.0.1 is loopback"
    assert httpserver.log == []


def test_a_redirect_is_not_followed(receiver, endpoint, published_claim):
    receiver.expect_request("/hook").respond_with_data("", status=301, headers={"Location": "/elsewhere"})
    delivery = WebhookDelivery.objects.get()

    deliver_webhook.apply(args=(delivery.pk,))

    delivery.refresh_from_db()
    assert (delivery.outcome, delivery.status_code) == ("failed", 301)
    assert "do not follow redirects" in delivery.error
    assert [request.path for request, _ in receiver.log] == ["/hook"]


def test_a_delivery_is_sent_once_however_often_its_task_runs(receiver, endpoint, published_claim):
    receiver.expect_request("/hook").respond_with_data("ok")
    delivery = WebhookDelivery.objects.get()

    first = webhook_deliver(delivery_id=delivery.pk, final_attempt=False, render_body=webhook_body)
    again = webhook_deliver(delivery_id=delivery.pk, final_attempt=False, render_body=webhook_body)

    assert first is not None and first.outcome == "delivered"
    assert again is None
    assert len(receiver.log) == 1


def test_the_sweep_queues_deliveries_left_waiting(make_published_claim):
    WebhookEndpoint.objects.create(url="https://a.example.org/hook", events=ALL_EVENTS)
    published_claim = make_published_claim()
    waiting = WebhookDelivery.objects.get()
    fresh = WebhookDelivery.objects.create(endpoint=waiting.endpoint, event="flag", claim=published_claim)
    WebhookDelivery.objects.filter(pk=waiting.pk).update(created_at=timezone.now() - timedelta(hours=1))

    with mock.patch("verifier.services.webhooks.enqueue_webhook_delivery", return_value=True) as delay:
        assert webhook_deliveries_requeue_stale() == 1

    delay.assert_called_once_with(waiting.pk)
    assert fresh.pk != waiting.pk


# The admin.


def test_staff_register_an_endpoint_and_read_its_secret_in_the_admin(client, superuser):
    client.force_login(superuser)

    response = client.post(
        "/admin/verifier/webhookendpoint/add/",
        {
            "url": "https://hooks.example.org/verifier",
            "description": "Newsroom CMS",
            "events": ["publish", "flag"],
            "active": "on",
        },
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.events == ["publish", "flag"] and len(endpoint.secret) == 43
    change_page = client.get(f"/admin/verifier/webhookendpoint/{endpoint.pk}/change/")
    assert endpoint.secret in change_page.content.decode()


@pytest.mark.parametrize("url", ["http://127.0.0.1/hook", "http://169.254.169.254/latest", "ftp://example.org/x"])
def test_the_admin_refuses_a_url_the_guard_refuses(client, superuser, url):
    client.force_login(superuser)

    response = client.post("/admin/verifier/webhookendpoint/add/", {"url": url, "events": ["publish"]})

    assert response.status_code == 200
    assert "This URL cannot receive webhooks" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_deliveries_are_listed_read_only_in_the_admin(client, superuser, published_claim):
    WebhookEndpoint.objects.create(url="https://a.example.org/hook", events=ALL_EVENTS)
    client.force_login(superuser)
    delivery = WebhookDelivery.objects.create(
        endpoint=WebhookEndpoint.objects.get(), event="flag", claim=published_claim
    )

    listing = client.get("/admin/verifier/webhookdelivery/")
    detail = client.get(f"/admin/verifier/webhookdelivery/{delivery.pk}/change/")

    assert listing.status_code == 200 and "a.example.org" in listing.content.decode()
    assert detail.status_code == 200 and str(delivery.delivery_id) in detail.content.decode()
    assert client.get("/admin/verifier/webhookdelivery/add/").status_code == 403

