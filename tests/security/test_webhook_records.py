"""Webhook deliveries (issue 9, finding 10): the record of what was sent where cannot be erased in
the admin, by a superuser either."""

import pytest

from verifier.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db

DELIVERIES = "/admin/verifier/webhookdelivery/"


@pytest.fixture
def delivery(published_claim):
    endpoint = WebhookEndpoint.objects.create(url="https://a.example.org/hook", events=["publish"])
    return WebhookDelivery.objects.create(endpoint=endpoint, event="publish", claim=published_claim)


def test_a_superuser_cannot_delete_a_delivery(client, superuser, delivery):
    client.force_login(superuser)

    page = client.get(f"{DELIVERIES}{delivery.pk}/delete/")
    posted = client.post(f"{DELIVERIES}{delivery.pk}/delete/", {"post": "yes"})

    assert page.status_code == 403
    assert posted.status_code == 403
    assert WebhookDelivery.objects.filter(pk=delivery.pk).exists()


def test_nor_delete_deliveries_in_bulk(client, superuser, delivery):
    client.force_login(superuser)

    listing = client.get(DELIVERIES)
    posted = client.post(
        DELIVERIES, {"action": "delete_selected", "_selected_action": [delivery.pk], "post": "yes"}
    )

    assert 'value="delete_selected"' not in listing.content.decode()
    assert posted.status_code in (200, 302)
    assert WebhookDelivery.objects.filter(pk=delivery.pk).exists()
