"""The body of a webhook delivery: the claim exactly as `GET /api/v1/claims/{id}/` shows it, with
the event, delivery id and time (see verifier.services.webhooks and README, "Webhooks")."""

from rest_framework.renderers import JSONRenderer

from verifier.api.serializers import ClaimSerializer, serializer_context
from verifier.models import WebhookDelivery
from verifier.selectors.published import published_claims


def webhook_body(delivery: WebhookDelivery) -> bytes:
    """The JSON body of the delivery, rendered from the claim's current published record."""
    claim = published_claims().get(pk=delivery.claim_id)
    return JSONRenderer().render(
        {
            "event": delivery.event,
            "delivery": str(delivery.delivery_id),
            "created_at": delivery.created_at.isoformat(),
            "claim": ClaimSerializer(claim, context=serializer_context()).data,
        }
    )
