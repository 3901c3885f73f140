"""The body of a webhook delivery: the claim exactly as `GET /api/v1/claims/{id}/` shows it, with
the event, delivery id and time (see verifier.services.webhooks and README, "Webhooks")."""

from verifier.api.renderers import FastJSONRenderer
from verifier.models import WebhookDelivery
from verifier.selectors.published import published_only
from verifier.selectors.records import claim_records, claim_rows


def webhook_body(delivery: WebhookDelivery) -> bytes:
    """The JSON body of the delivery, rendered from the claim's current published record."""
    row = claim_rows(published_only().filter(pk=delivery.claim_id)).get()
    return FastJSONRenderer().render(
        {
            "event": delivery.event,
            "delivery": str(delivery.delivery_id),
            "created_at": delivery.created_at.isoformat(),
            "claim": claim_records([row], published_only=True).records[0],
        }
    )
