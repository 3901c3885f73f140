"""The claims write API of SPEC §5: a draft claim, evidence, the draft verdict, submit, approve and
request changes.

Each action parses with a serializer, calls one service and renders the claim as the read API
shows it; the services decide every rule and raise DomainError, which verifier.api.errors turns
into 400/403/404/409. The permission classes refuse a wrong role before the request is parsed,
with the service's own message.
"""

from collections.abc import Callable, Sequence
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import APIView

from claims.models import Claim
from core.errors import DomainError
from core.roles import require_fact_checker, require_reviewer
from verifier.api.schema import error_responses
from verifier.api.serializers import (
    ApproveSerializer,
    ClaimCreateSerializer,
    ClaimSerializer,
    DraftVerdictSerializer,
    EvidenceCreateSerializer,
    EvidenceSerializer,
    RequestChangesSerializer,
    VerdictDraftSerializer,
)
from verifier.selectors.evidence import evidence_item_record
from verifier.selectors.records import claim_records, claim_rows
from verifier.services.claims import claim_create
from verifier.services.evidence import evidence_add
from verifier.services.verdicts import (
    claim_request_changes,
    claim_submit,
    verdict_approve,
    verdict_save_draft,
)


class IsStaff(BasePermission):
    message = "The write API is for staff accounts."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return bool(request.user and request.user.is_staff)


class _RoleRequired(BasePermission):
    """Refuses a user the service would refuse, before the request is parsed, with its message."""

    requirement: Callable[[Any], None]

    def has_permission(self, request: Request, view: APIView) -> bool:
        try:
            self.requirement(request.user)
        except DomainError as refused:
            self.message = refused.message
            return False
        return True


class FactCheckerRequired(_RoleRequired):
    requirement = staticmethod(require_fact_checker)


class ReviewerRequired(_RoleRequired):
    requirement = staticmethod(require_reviewer)


class ClaimWriteActions(viewsets.GenericViewSet):
    """The write actions of the claims viewset (verifier.api.claims_read.ClaimViewSet)."""

    def get_permissions(self) -> Sequence[Any]:
        if self.action == "create":
            return [IsStaff(), FactCheckerRequired()]
        return super().get_permissions()

    @extend_schema(
        summary="Create a draft claim (fact-checkers)",
        request=ClaimCreateSerializer,
        responses={201: ClaimSerializer, **error_responses(400, 401, 403)},
    )
    def create(self, request: Request) -> Response:
        data = _parsed(ClaimCreateSerializer, request)
        claim = claim_create(
            actor=_actor(request),
            text=data["text"],
            claimant_name=data["claimant"],
            claim_date=data["claim_date"],
            appearance_url=data["appearance_url"],
            tags=data["tags"],
        )
        location = reverse("api:claim-detail", args=[claim.pk])
        return self._claim_response(claim.pk, status.HTTP_201_CREATED, headers={"Location": location})

    @extend_schema(
        summary="Add evidence; its source is fetched in the background (fact-checkers)",
        request=EvidenceCreateSerializer,
        responses={201: EvidenceSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"], permission_classes=[IsStaff, FactCheckerRequired])
    def evidence(self, request: Request, pk: int) -> Response:
        claim = self._claim_for_write(pk)
        data = _parsed(EvidenceCreateSerializer, request)
        evidence = evidence_add(actor=_actor(request), claim=claim, **data)
        return Response(evidence_item_record(evidence.pk), status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Save the draft verdict; on a published claim, starts a correction (fact-checkers)",
        request=VerdictDraftSerializer,
        responses={200: DraftVerdictSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    @action(detail=True, methods=["put"], permission_classes=[IsStaff, FactCheckerRequired])
    def verdict(self, request: Request, pk: int) -> Response:
        claim = self._claim_for_write(pk)
        data = _parsed(VerdictDraftSerializer, request)
        verdict = verdict_save_draft(actor=_actor(request), claim=claim, **data)
        return Response(DraftVerdictSerializer(verdict, context=self.get_serializer_context()).data)

    @extend_schema(
        summary="Send the draft verdict to review (fact-checkers)",
        request=None,
        responses={200: ClaimSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"], permission_classes=[IsStaff, FactCheckerRequired])
    def submit(self, request: Request, pk: int) -> Response:
        claim_submit(actor=_actor(request), claim=self._claim_for_write(pk))
        return self._claim_response(pk)

    @extend_schema(
        summary="Approve and publish the verdict in review (reviewers; never its author)",
        request=ApproveSerializer,
        responses={200: ClaimSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"], permission_classes=[IsStaff, ReviewerRequired])
    def approve(self, request: Request, pk: int) -> Response:
        claim = self._claim_for_write(pk)
        data = _parsed(ApproveSerializer, request)
        verdict_approve(actor=_actor(request), claim=claim, comment=data["comment"])
        return self._claim_response(pk)

    @extend_schema(
        summary="Send the verdict in review back to its author with a comment (reviewers)",
        request=RequestChangesSerializer,
        responses={200: ClaimSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="request-changes",
        url_name="request-changes",
        permission_classes=[IsStaff, ReviewerRequired],
    )
    def request_changes(self, request: Request, pk: int) -> Response:
        claim = self._claim_for_write(pk)
        data = _parsed(RequestChangesSerializer, request)
        claim_request_changes(actor=_actor(request), claim=claim, comment=data["comment"])
        return self._claim_response(pk)

    def _claim_for_write(self, pk: int) -> Claim:
        # Writes reach claims in every status; who may act is the services' decision.
        return get_object_or_404(Claim.objects.all(), pk=pk)

    def _claim_response(self, pk: int, code: int = status.HTTP_200_OK, **kwargs: Any) -> Response:
        row = claim_rows(Claim.objects.filter(pk=pk)).get()
        return Response(claim_records([row], published_only=False).records[0], status=code, **kwargs)


def _actor(request: Request) -> User:
    user = request.user
    if isinstance(user, AnonymousUser):
        # Every write's permission classes refuse anonymous requests before the view runs.
        raise NotAuthenticated()
    return user


def _parsed(serializer_class: type[Serializer], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
