"""What a reader needs to check a fact-check without trusting Verifier's database (SPEC §7): the
evidence package of a published version, the signing keys at /.well-known/ and the latest signed
review-log checkpoint."""

import re
from collections.abc import Iterable
from typing import Any

from django.core.files.storage import default_storage
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.utils.cache import get_conditional_response
from django.views.decorators.http import require_GET
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import DomainError
from verifier.api.pagination import MAX_ID
from verifier.api.renderers import FastJSONRenderer
from verifier.api.schema import error_responses
from verifier.api.serializers import ErrorSerializer
from verifier.provenance.package import MEDIA_TYPE as WACZ_MEDIA_TYPE
from verifier.provenance.selectors import (
    checkpoint_document,
    evidence_package_spec,
    published_verdict,
    review_log_checkpoint_latest,
)
from verifier.provenance.services import evidence_package_key, evidence_package_store, signing_keys_published
from verifier.provenance.signing import public_key_from_b64, public_key_pem

PEM_MEDIA_TYPE = "application/x-pem-file"
# A verdict version is a PositiveSmallIntegerField.
VERSION_PATTERN = re.compile(r"[1-9][0-9]{0,4}")
MAX_VERSION = 32767


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


class JSONErrorsOnly(BaseContentNegotiation):
    """The package is a file whatever the client accepts; only an error is rendered, as JSON."""

    def select_parser(self, request: Request, parsers: Any) -> Any:
        return parsers[0] if parsers else None

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


@extend_schema(
    summary="The signed evidence package (WACZ) of a published fact-check",
    description=(
        "A WACZ 1.1.1 file holding the WARC capture of every snapshot the published verdict cites, "
        "`verifier/fact-check.json` (claim, verdict, ClaimReview, evidence with quote offsets, "
        "fingerprint, this claim's review-log entries and the checkpoint covering them) and "
        "`datapackage-digest.json`, signed (ECDSA P-256, WACZ Signing and Verification 0.1.0) with "
        "the key at `/.well-known/verifier-signing-key.pem`. The same version always gives the same "
        "bytes, and the `ETag` names them; `If-None-Match` answers 304. Check it with `wacz validate` "
        "and `manage.py verify_evidence_package`."
    ),
    parameters=[
        OpenApiParameter(
            "version",
            OpenApiTypes.INT,
            description="An earlier published version of the verdict; the current one by default.",
        ),
        OpenApiParameter(
            "ETag",
            OpenApiTypes.STR,
            location=OpenApiParameter.HEADER,
            response=[200],
            description="The package's content hash (SHA-256 of everything its bytes are built from).",
        ),
    ],
    responses={
        (200, WACZ_MEDIA_TYPE): OpenApiResponse(OpenApiTypes.BINARY, description="The WACZ file."),
        304: OpenApiResponse(description="The package named by `If-None-Match` is still current."),
        **error_responses(400, 404),
    },
)
class EvidencePackageView(APIView):
    renderer_classes = [FastJSONRenderer]
    content_negotiation_class = JSONErrorsOnly

    def get(self, request: Request, pk: int) -> HttpResponseBase:
        if pk > MAX_ID:
            # No row has it, and SQLite cannot even compare with it.
            raise NotFound("No such published fact-check (or version).")
        # Staff read drafts elsewhere; a package only ever holds what was published.
        verdict = published_verdict(claim_id=pk, version=_requested_version(request))
        if verdict is None:
            raise NotFound("No such published fact-check (or version).")
        spec = evidence_package_spec(verdict)
        etag = f'"{evidence_package_key(spec)}"'
        not_modified = get_conditional_response(request, etag=etag)
        if not_modified is not None:
            not_modified["ETag"] = etag
            return not_modified
        # A reader is waiting: the package's token is left to the sweep, never waited for here.
        stored = evidence_package_store(spec=spec, stamp_now=False)
        response = FileResponse(
            default_storage.open(stored.name, "rb"),
            as_attachment=True,
            filename=f"verifier-fact-check-{pk}-v{verdict.version}.wacz",
            content_type=WACZ_MEDIA_TYPE,
        )
        response["ETag"] = etag
        response["X-Content-Type-Options"] = "nosniff"
        return response


def _requested_version(request: Request) -> int | None:
    raw = request.query_params.get("version")
    if raw is None:
        return None
    if not VERSION_PATTERN.fullmatch(raw) or int(raw) > MAX_VERSION:
        raise ValidationError({"version": ["A published version number: a whole number from 1."]})
    return int(raw)
