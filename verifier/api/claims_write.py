"""The claims write API of SPEC §5: a draft claim, evidence (added, and edited until the claim is
published), the draft verdict, submit, approve and request changes.

Each action parses with a serializer, calls one service and renders the claim as the read API
shows it; the services decide every rule and raise DomainError, which verifier.api.errors turns
into 400/403/404/409. The permission classes refuse a wrong role before the request is parsed,
with the service's own message.
"""

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotAuthenticated, NotFound
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import APIView

from claims.models import Claim, Evidence
from core.errors import DomainError
from core.roles import require_fact_checker, require_reviewer
from verifier.api.pagination import MAX_ID
from verifier.api.schema import error_responses
from verifier.api.serializers import (
    ApproveSerializer,
    ClaimCreatedSerializer,
    ClaimCreateSerializer,
    ClaimSerializer,
    ClaimWithWarningsSerializer,
    DraftVerdictSerializer,
    EvidenceCreateSerializer,
    EvidenceItemSerializer,
    EvidenceUpdateSerializer,
    RequestChangesSerializer,
    SubmitSerializer,
    VerdictDraftSerializer,
)
from verifier.selectors.attention import PublishingWarning, claim_publishing_warnings
from verifier.selectors.evidence import evidence_item_record
from verifier.selectors.records import claim_records, claim_rows
from verifier.selectors.similar import similar_claim_records
from verifier.services.claims import claim_create
from verifier.services.evidence import evidence_add, evidence_update
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


class FactCheckerToWrite(FactCheckerRequired):
    """Reads for any staff member, writes for fact-checkers."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        return request.method in SAFE_METHODS or super().has_permission(request, view)


class ClaimWriteActions(viewsets.GenericViewSet):
    """The write actions of the claims viewset (verifier.api.claims_read.ClaimViewSet)."""

    def get_permissions(self) -> Sequence[Any]:
        if self.action == "create":
            return [IsStaff(), FactCheckerRequired()]
        return super().get_permissions()

    @extend_schema(
        summary="Create a draft claim (fact-checkers)",
        request=ClaimCreateSerializer,
        responses={201: ClaimCreatedSerializer, **error_responses(400, 401, 403)},
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
            language=data["language"],
            same_as=data["same_as"],
        )
        location = reverse("api:claim-detail", args=[claim.pk])
        response = self._claim_response(claim.pk, status.HTTP_201_CREATED, headers={"Location": location})
        # Staff wrote it, so staff's view: every claim, drafts included.
        response.data["similar"] = similar_claim_records(
            text=claim.text,
            visible=Claim.objects.all(),
            published_only=False,
            language=claim.language,
            excluding=claim.pk,
        )
        return response

    @extend_schema(
        summary="Add evidence; its source is fetched in the background (fact-checkers)",
        request=EvidenceCreateSerializer,
        responses={201: EvidenceItemSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"], permission_classes=[IsStaff, FactCheckerRequired])
    def evidence(self, request: Request, pk: int) -> Response:
        claim = self._claim_for_write(pk)
        data = _parsed(EvidenceCreateSerializer, request)
        evidence = evidence_add(actor=_actor(request), claim=claim, **data)
        location = reverse("api:claim-evidence-item", args=[claim.pk, evidence.pk])
        return Response(
            _evidence_item(evidence.pk), status=status.HTTP_201_CREATED, headers={"Location": location}
        )

    @extend_schema(
        methods=["GET"],
        summary="One evidence item of a claim, in any state (staff)",
        responses={200: EvidenceItemSerializer, **error_responses(401, 403, 404)},
    )
    @extend_schema(
        methods=["PATCH"],
        summary="Edit the quote, stance or note of evidence on a claim never published "
        "(fact-checkers); a changed quote is checked again against the latest snapshot",
        request=EvidenceUpdateSerializer,
        responses={200: EvidenceItemSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    @action(
        detail=True,
        methods=["get", "patch"],
        url_path="evidence/<int:evidence_id>",
        url_name="evidence-item",
        permission_classes=[IsStaff, FactCheckerToWrite],
    )
    def evidence_item(self, request: Request, pk: int, evidence_id: int) -> Response:
        if max(pk, evidence_id) > MAX_ID:
            # No row has it, and SQLite cannot even compare with it.
            raise NotFound()
        evidence = get_object_or_404(Evidence.objects.all(), pk=evidence_id, claim_id=pk)
        if request.method == "PATCH":
            changes = _parsed(EvidenceUpdateSerializer, request)
            evidence_update(
                actor=_actor(request),
                evidence=evidence,
                quote=changes.get("quote", evidence.quote),
                stance=changes.get("stance", evidence.stance),
                note=changes.get("note", evidence.note),
            )
        return Response(_evidence_item(evidence.pk))

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
        summary="Send the draft verdict to review (fact-checkers); answers with its warnings",
        request=SubmitSerializer,
        responses={200: ClaimWithWarningsSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"], permission_classes=[IsStaff, FactCheckerRequired])
    def submit(self, request: Request, pk: int) -> Response:
        claim = self._claim_for_write(pk)
        data = _parsed(SubmitSerializer, request)
        claim_submit(actor=_actor(request), claim=claim, comment=data["comment"])
        return self._claim_response(pk, warnings=claim_publishing_warnings(claim))

    @extend_schema(
        summary="Approve and publish the verdict in review (reviewers; never its author); "
        "answers with its warnings",
        request=ApproveSerializer,
        responses={200: ClaimWithWarningsSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"], permission_classes=[IsStaff, ReviewerRequired])
    def approve(self, request: Request, pk: int) -> Response:
        claim = self._claim_for_write(pk)
        data = _parsed(ApproveSerializer, request)
        verdict_approve(actor=_actor(request), claim=claim, comment=data["comment"])
        return self._claim_response(pk, warnings=claim_publishing_warnings(claim))

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

    def _claim_response(
        self,
        pk: int,
        code: int = status.HTTP_200_OK,
        *,
        warnings: list[PublishingWarning] | None = None,
        **kwargs: Any,
    ) -> Response:
        """The claim as the read API shows it; with `warnings` (of submit and approve: they warn,
        the action is done), plus those."""
        row = claim_rows(Claim.objects.filter(pk=pk)).get()
        record: dict[str, Any] = dict(claim_records([row], published_only=False).records[0])
        if warnings is not None:
            record["warnings"] = [dataclasses.asdict(warning) for warning in warnings]
        return Response(record, status=code, **kwargs)


def _evidence_item(pk: int) -> dict[str, Any]:
    return {"id": pk, **evidence_item_record(pk)}


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
