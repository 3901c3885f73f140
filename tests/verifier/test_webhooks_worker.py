"""A publish reaches a registered webhook through the broker and a real worker process."""

import json
from unittest import mock

import pytest
from django.db import close_old_connections

from tests.processes import wait_for
from verifier.models import WebhookDelivery, WebhookEndpoint
from verifier.services.webhooks import webhook_signature_valid

# Serialized rollback restores the rating scale and groups the migrations made (see test_end_to_end).
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.mark.worker
def test_a_publish_is_delivered_signed_by_a_real_worker(worker, httpserver, make_published_claim):
    httpserver.expect_request("/verifier-hook", method="POST").respond_with_data("thanks")
    endpoint = WebhookEndpoint.objects.create(url=httpserver.url_for("/verifier-hook"), events=["publish"])

    # The cited sources are not fetched here: only the webhook goes through the broker.
    with mock.patch("sources.services.enqueue_fetch"):
        claim = make_published_claim()

    def delivered():
        close_old_connections()
        return WebhookDelivery.objects.filter(outcome=WebhookDelivery.Outcome.DELIVERED).first()

    delivery = wait_for(delivered, timeout=60, what=f"the worker to deliver the webhook\n{worker.log()}")
    ((request, _),) = httpserver.log
    body = request.get_data()
    assert json.loads(body)["claim"]["id"] == claim.pk
    signature = request.headers["Verifier-Signature"]
    assert webhook_signature_valid(secret=endpoint.secret, header=signature, body=body)
    assert (delivery.event, delivery.attempts, delivery.status_code) == ("publish", 1, 200)
