"""The claims API of SPEC §5: reads of published claims (drafts for staff) and the workflow writes.

Views parse with a serializer, call one service and render; services decide every rule and raise
DomainError, which verifier.api.errors turns into 400/403/404/409.
"""

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.encoding import force_str
from django.utils.http import http_date
from django.views.decorators.vary import vary_on_headers
from django_filters import rest_framework as filters
from django_filters.fields import IsoDateTimeField
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotAuthenticated, ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import APIView

from claims.models import Claim
from core.errors import DomainError
from core.roles import require_fact_checker, require_reviewer
from verifier.api.http_cache import public_read
from verifier.api.pagination import KeysetCursorPagination
from verifier.api.serializers import (
    CLAIM_REVIEW,
    CLAIM_REVIEW_FEED,
    ApproveSerializer,
    ClaimCreateSerializer,
    ClaimSerializer,
    DraftVerdictSerializer,
    ErrorSerializer,
    EvidenceCreateSerializer,
    EvidenceSerializer,
    RequestChangesSerializer,
    VerdictDraftSerializer,
    serializer_context,
)
from verifier.claimreview import claim_review, claim_review_feed
from verifier.selectors.published import (
    RatingScale,
    claim_last_modified,
    claims_for_staff,
    claims_matching_text,
    claims_tagged,
    claims_with_current_rating,
    evidence_with_sources,
    published_claim_reviews,
    published_claims,
    ratings_matching,
)
from verifier.services.claims import claim_create, evidence_add
from verifier.services.verdicts import (
    claim_request_changes,
    claim_submit,
    verdict_approve,
    verdict_save_draft,
)

PUBLISHED_ORDERING = ("-published_at", "-id")
# Unpublished claims have no published_at to page on.
WORK_IN_PROGRESS_ORDERING = ("-created_at", "-id")


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


class JSONLDRenderer(JSONRenderer):
    media_type = "application/ld+json"
    format = "jsonld"


# JSON-LD unless the client asks for plain JSON.
CLAIM_REVIEW_RENDERERS = [JSONLDRenderer, JSONRenderer]


class IsoDateTimeParameter(IsoDateTimeField):
    def strptime(self, value: Any, format: str) -> Any:
        value = force_str(value)
        # An unencoded "+" in a query string arrives as a space: "2024-03-01T10:00:00 01:00".
        if "T" in value and " " in value:
            value = value.replace(" ", "+")
        return super().strptime(value, format)

    def to_python(self, value: Any) -> Any:
        moment = super().to_python(value)
        if moment is None:
            return None
        # Python accepts offsets up to 24 hours, PostgreSQL only up to 16: compare in UTC.
        try:
            return moment.astimezone(UTC)
        except OverflowError:
            raise DjangoValidationError("This moment is out of range.", code="invalid") from None


class IsoDateTimeFilter(filters.IsoDateTimeFilter):
    field_class = IsoDateTimeParameter


class ClaimFilter(filters.FilterSet):
    rating = filters.CharFilter(
        method="filter_rating", help_text="The current verdict's rating, by label or slug."
    )
    claimant = filters.CharFilter(
        field_name="claimant__name", lookup_expr="iexact", help_text="Claimant name (any case)."
    )
    tag = filters.CharFilter(method="filter_tag", help_text="Tag slug or name.")
    q = filters.CharFilter(
        method="filter_text",
        max_length=200,
        help_text="Full-text search of the claim's text and the claimant's name (web search syntax: "
        '"quoted phrase", -excluded, or).',
    )
    published_after = IsoDateTimeFilter(
        field_name="published_at", lookup_expr="gte", help_text="ISO 8601; published at or after."
    )
    published_before = IsoDateTimeFilter(
        field_name="published_at", lookup_expr="lt", help_text="ISO 8601; published strictly before."
    )
    updated_since = IsoDateTimeFilter(
        field_name="updated_at",
        lookup_expr="gte",
        help_text="ISO 8601; changed at or after (for incremental pulls).",
    )

    class Meta:
        model = Claim
        fields: list[str] = []

    def filter_rating(self, queryset: QuerySet[Claim], name: str, value: str) -> QuerySet[Claim]:
        ratings = ratings_matching(value)
        if not ratings.exists():
            raise ValidationError({"rating": [f"Unknown rating {value!r}."]})
        return claims_with_current_rating(queryset, ratings)

    def filter_tag(self, queryset: QuerySet[Claim], name: str, value: str) -> QuerySet[Claim]:
        return claims_tagged(queryset, value)

    def filter_text(self, queryset: QuerySet[Claim], name: str, value: str) -> QuerySet[Claim]:
        return claims_matching_text(queryset, value)


def _errors(*codes: int) -> dict[int, OpenApiResponse]:
    descriptions = {
        400: "Invalid input: `detail`, and `{field: [message]}` for each field at fault.",
        401: "Not authenticated.",
        403: "Not staff, wrong role, or the four-eyes rule (you wrote this verdict).",
        404: "No such claim (or not visible to you).",
        409: "The transition does not apply to the claim's current state.",
    }
    return {code: OpenApiResponse(ErrorSerializer, description=descriptions[code]) for code in codes}


LINK_HEADER = OpenApiParameter(
    "Link",
    OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    response=[200],
    description='The next and previous pages as in the body: `<url>; rel="next", <url>; rel="prev"` '
    "(RFC 8288); absent when there is neither.",
)

STATUS_PARAMETER = OpenApiParameter(
    "status",
    OpenApiTypes.STR,
    description="Staff only (ignored otherwise): claim statuses, comma-separated, from draft, in_review, "
    "published. Unpublished claims are listed newest created first.",
)


@extend_schema_view(
    list=extend_schema(
        summary="Published claims, newest first",
        parameters=[STATUS_PARAMETER, LINK_HEADER],
        responses={200: ClaimSerializer(many=True), **_errors(400)},
    ),
    retrieve=extend_schema(summary="One published claim", responses={200: ClaimSerializer, **_errors(404)}),
)
@method_decorator(vary_on_headers("Authorization"), name="dispatch")
# ETag, Last-Modified, 304 and the response cache: verifier.api.http_cache.
@method_decorator(public_read, name="list")
@method_decorator(public_read, name="retrieve")
@method_decorator(public_read, name="claimreview")
class ClaimViewSet(viewsets.GenericViewSet):
    serializer_class = ClaimSerializer
    pagination_class = KeysetCursorPagination
    filterset_class = ClaimFilter
    lookup_value_converter = "int"
    list_ordering: tuple[str, ...] = PUBLISHED_ORDERING

    def get_permissions(self) -> Sequence[Any]:
        if self.action == "create":
            return [IsStaff(), FactCheckerRequired()]
        return super().get_permissions()

    def get_queryset(self) -> QuerySet[Claim]:
        return claims_for_staff() if self._is_staff() else published_claims()

    def get_serializer_context(self) -> dict[str, Any]:
        return serializer_context(**super().get_serializer_context())

    def list(self, request: Request) -> Response:
        statuses = self._requested_statuses()
        if statuses is None:
            queryset = published_claims()
        else:
            queryset = claims_for_staff().filter(status__in=statuses)
            if set(statuses) != {Claim.Status.PUBLISHED}:
                self.list_ordering = WORK_IN_PROGRESS_ORDERING
        page = self.paginate_queryset(self.filter_queryset(queryset))
        assert page is not None
        response = self.get_paginated_response(self.get_serializer(page, many=True).data)
        return _with_last_modified(response, page)

    def retrieve(self, request: Request, pk: int) -> Response:
        claim = get_object_or_404(self.get_queryset(), pk=pk)
        return _with_last_modified(Response(self.get_serializer(claim).data), [claim])

    @extend_schema(
        summary="The published claim as schema.org ClaimReview (JSON-LD)",
        description="The same ClaimReview the public page embeds; only published claims have one, "
        "for staff too.",
        responses={200: CLAIM_REVIEW, **_errors(404)},
    )
    @action(detail=True, methods=["get"], renderer_classes=CLAIM_REVIEW_RENDERERS)
    def claimreview(self, request: Request, pk: int) -> Response:
        claim = get_object_or_404(published_claim_reviews(), pk=pk)
        body = claim_review(claim, rating_scale=RatingScale())
        return _with_last_modified_at(Response(body), [claim.updated_at])

    @extend_schema(
        summary="Create a draft claim (fact-checkers)",
        request=ClaimCreateSerializer,
        responses={201: ClaimSerializer, **_errors(400, 401, 403)},
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
        responses={201: EvidenceSerializer, **_errors(400, 401, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"], permission_classes=[IsStaff, FactCheckerRequired])
    def evidence(self, request: Request, pk: int) -> Response:
        claim = self._claim_for_write(pk)
        data = _parsed(EvidenceCreateSerializer, request)
        evidence = evidence_add(actor=_actor(request), claim=claim, **data)
        shown = evidence_with_sources().get(pk=evidence.pk)
        body = EvidenceSerializer(shown, context=self.get_serializer_context()).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Save the draft verdict; on a published claim, starts a correction (fact-checkers)",
        request=VerdictDraftSerializer,
        responses={200: DraftVerdictSerializer, **_errors(400, 401, 403, 404, 409)},
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
        responses={200: ClaimSerializer, **_errors(400, 401, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"], permission_classes=[IsStaff, FactCheckerRequired])
    def submit(self, request: Request, pk: int) -> Response:
        claim_submit(actor=_actor(request), claim=self._claim_for_write(pk))
        return self._claim_response(pk)

    @extend_schema(
        summary="Approve and publish the verdict in review (reviewers; never its author)",
        request=ApproveSerializer,
        responses={200: ClaimSerializer, **_errors(400, 401, 403, 404, 409)},
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
        responses={200: ClaimSerializer, **_errors(400, 401, 403, 404, 409)},
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

    def _is_staff(self) -> bool:
        return bool(self.request.user and self.request.user.is_staff)

    def _requested_statuses(self) -> tuple[str, ...] | None:
        raw = self.request.query_params.get("status", "")
        if not self._is_staff() or not raw.strip():
            return None
        statuses = tuple(value.strip() for value in raw.split(",") if value.strip())
        unknown = [value for value in statuses if value not in Claim.Status.values]
        if unknown:
            choices = ", ".join(Claim.Status.values)
            message = f"Unknown status {unknown[0]!r}; use {choices} (comma-separated)."
            raise ValidationError({"status": [message]})
        return statuses

    def _claim_for_write(self, pk: int) -> Claim:
        # Writes reach claims in every status; who may act is the services' decision.
        return get_object_or_404(Claim.objects.all(), pk=pk)

    def _claim_response(self, pk: int, code: int = status.HTTP_200_OK, **kwargs: Any) -> Response:
        claim = claims_for_staff().get(pk=pk)
        return Response(self.get_serializer(claim).data, status=code, **kwargs)


@extend_schema_view(
    list=extend_schema(
        summary="Published claims as a schema.org DataFeed of ClaimReviews, newest first",
        description="The filters and cursor pages of `GET /api/v1/claims/`; the next and previous "
        "pages are top-level `next` and `previous` fields and a `Link` header.",
        parameters=[LINK_HEADER],
        responses={200: CLAIM_REVIEW_FEED, **_errors(400)},
    )
)
# ETag, Last-Modified, 304 and the response cache: verifier.api.http_cache.
@method_decorator(public_read, name="list")
class ClaimReviewFeedViewSet(viewsets.GenericViewSet):
    renderer_classes = CLAIM_REVIEW_RENDERERS
    pagination_class = KeysetCursorPagination
    filterset_class = ClaimFilter
    list_ordering: tuple[str, ...] = PUBLISHED_ORDERING

    def get_queryset(self) -> QuerySet[Claim]:
        return published_claim_reviews()

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        assert page is not None and isinstance(self.paginator, KeysetCursorPagination)
        links = {"next": self.paginator.get_next_link(), "previous": self.paginator.get_previous_link()}
        body = claim_review_feed(
            page, rating_scale=RatingScale(), url=request.build_absolute_uri(), links=links
        )
        response = self.paginator.with_link_header(Response(body))
        return _with_last_modified_at(response, [claim.updated_at for claim in page])


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


def _with_last_modified(response: Response, claims: Sequence[Claim]) -> Response:
    if claims:
        response["Last-Modified"] = http_date(max(claim_last_modified(claim) for claim in claims).timestamp())
    return response


def _with_last_modified_at(response: Response, moments: Iterable[datetime]) -> Response:
    # A ClaimReview shows no evidence: its claims' own update times are when it last changed.
    latest = max(moments, default=None)
    if latest is not None:
        response["Last-Modified"] = http_date(latest.timestamp())
    return response
