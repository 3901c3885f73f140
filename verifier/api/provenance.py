"""What a reader needs to check Verifier's signatures without trusting its database (SPEC §7):
the signing keys at /.well-known/ and the latest signed review-log checkpoint."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import DomainError
from verifier.api.serializers import ErrorSerializer
from verifier.provenance.selectors import checkpoint_document, review_log_checkpoint_latest
from verifier.provenance.services import signing_keys_published
from verifier.provenance.signing import public_key_from_b64, public_key_pem

PEM_MEDIA_TYPE = "application/x-pem-file"


@require_GET
def signing_key_pem(request: HttpRequest) -> HttpResponse:
    """The public key that signs new packages and checkpoints, PEM encoded."""
    current = signing_keys_published()[0]
    return HttpResponse(public_key_pem(public_key_from_b64(current.public_key)), content_type=PEM_MEDIA_TYPE)


@require_GET
def signing_keys_json(request: HttpRequest) -> JsonResponse:
    """Every key Verifier has signed with, newest first; retired keys stay so old packages verify."""
    keys = [
        {
            "keyId": key.key_id,
            "publicKey": key.public_key,
            "pem": public_key_pem(public_key_from_b64(key.public_key)),
            "created": key.created_at.isoformat(),
            "retired": key.retired_at.isoformat() if key.retired_at else None,
        }
        for key in signing_keys_published()
    ]
    return JsonResponse({"keys": keys})


class CheckpointSerializer(serializers.Serializer):
    size = serializers.IntegerField(help_text="How many review-log entries the checkpoint covers.")
    head = serializers.CharField(help_text="Hex Merkle tree hash (RFC 6962) of those entries.")
    created = serializers.DateTimeField()
    signature = serializers.CharField(help_text="Base64 ECDSA P-256 signature (r || s).")
    publicKey = serializers.CharField(help_text="Base64 DER public key that made the signature.")


@extend_schema(
    summary="The latest signed head of the review log",
    description=(
        "Save it: `manage.py verify_review_log --checkpoint FILE` later proves that none of the entries "
        "it covers was edited, reordered or deleted, the newest included."
    ),
    responses={
        200: CheckpointSerializer,
        404: OpenApiResponse(ErrorSerializer, description="The review log is still empty."),
    },
)
class ReviewLogCheckpointView(APIView):
    def get(self, request: Request) -> Response:
        checkpoint = review_log_checkpoint_latest()
        if checkpoint is None:
            raise DomainError.not_found("The review log has no checkpoint yet.")
        return Response(checkpoint_document(checkpoint))
