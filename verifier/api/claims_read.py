"""The claims read API of SPEC §5: published claims (drafts for staff), one claim, its ClaimReview
and the ClaimReview feed, filtered and cursor-paginated.

ClaimViewSet is routed at /api/v1/claims/ and takes its write actions (create, evidence, verdict,
submit, approve, request-changes) from claims_write.ClaimWriteActions.
"""

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.utils.decorators import method_decorator
from django.utils.encoding import force_str
from django.utils.http import http_date
from django.views.decorators.vary import vary_on_headers
from django_filters import rest_framework as filters
from django_filters.fields import IsoDateTimeField
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from claims.models import Claim
from claims.selectors import claims_matching_text, claims_tagged
from core.compiled_rows import ShapedRows
from verifier.api.claims_write import ClaimWriteActions
from verifier.api.http_cache import public_read
from verifier.api.pagination import MAX_ID, KeysetCursorPagination
from verifier.api.renderers import FastJSONRenderer, JSONLDRenderer
from verifier.api.schema import (
    CLAIM_REVIEW,
    CLAIM_REVIEW_FEED,
    LINK_HEADER,
    STATUS_PARAMETER,
    error_responses,
)
from verifier.api.serializers import (
    ClaimSerializer,
    SimilarClaimsSerializer,
    SimilarQuerySerializer,
    serializer_context,
)
from verifier.claimreview import claim_review_feed, claim_review_of
from verifier.selectors.published import published_only, reviewable_claims
from verifier.selectors.records import claim_records, claim_rows, review_rows, reviewed_claims
from verifier.selectors.similar import similar_claim_records
from verifier.selectors.verdicts import claims_with_current_rating, ratings_matching

PUBLISHED_ORDERING = ("-published_at", "-id")
# Unpublished claims have no published_at to page on.
WORK_IN_PROGRESS_ORDERING = ("-created_at", "-id")


# JSON-LD unless the client asks for plain JSON.
CLAIM_REVIEW_RENDERERS = [JSONLDRenderer, FastJSONRenderer]


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


class AnyAcceptedNegotiation(DefaultContentNegotiation):
    """DRF's content negotiation, which parses the Accept header against each renderer, skipped for
    a client that accepts anything (no Accept header, or */*) and names no format: DRF then chooses
    the first renderer, with its own media type. Parsing took a fortieth of a cold feed page's CPU."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderers = list(renderers)
        if (
            renderers
            and "*" not in renderers[0].media_type
            and request.META.get("HTTP_ACCEPT", "*/*") == "*/*"
            and format_suffix is None
            and self.settings.URL_FORMAT_OVERRIDE not in request.query_params
        ):
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)


class FilteredByClaimFilter(GenericAPIView):
    """Filters with ClaimFilter only a request that names one of its parameters: django-filter builds
    and validates a form on every request, which cost more than the rest of a cold list page, and
    with none of them given the form filters nothing."""

    def filter_queryset(self, queryset: QuerySet[Any, Any]) -> QuerySet[Any, Any]:
        if not self.filtered():
            return queryset
        return super().filter_queryset(queryset)

    def filtered(self) -> bool:
        return any(name in self.request.query_params for name in ClaimFilter.base_filters)

    def page_of(self, rows: Callable[[], QuerySet[Any]], shape: tuple[Any, ...]) -> list[Any]:
        """The page of the values() rows `rows()` builds from filter_queryset(); `shape` names that
        query when no filter is given (its page is then compiled once, KeysetCursorPagination)."""
        paginator = self.paginator
        assert isinstance(paginator, KeysetCursorPagination)
        return paginator.paginate_rows(rows, self.request, self, shape=None if self.filtered() else shape)


@extend_schema_view(
    list=extend_schema(
        summary="Published claims, newest first",
        parameters=[STATUS_PARAMETER, LINK_HEADER],
        responses={200: ClaimSerializer(many=True), **error_responses(400)},
    ),
    retrieve=extend_schema(
        summary="One published claim", responses={200: ClaimSerializer, **error_responses(404)}
    ),
)
@method_decorator(vary_on_headers("Authorization"), name="dispatch")
# ETag, Last-Modified, 304 and the response cache: verifier.api.http_cache.
@method_decorator(public_read, name="list")
@method_decorator(public_read, name="retrieve")
@method_decorator(public_read, name="claimreview")
class ClaimViewSet(FilteredByClaimFilter, ClaimWriteActions):
    serializer_class = ClaimSerializer
    renderer_classes = [FastJSONRenderer]
    content_negotiation_class = AnyAcceptedNegotiation
    pagination_class = KeysetCursorPagination
    filterset_class = ClaimFilter
    lookup_value_converter = "int"
    list_ordering: tuple[str, ...] = PUBLISHED_ORDERING

    def get_queryset(self) -> QuerySet[Claim]:
        return Claim.objects.all() if self._is_staff() else published_only()

    def get_serializer_context(self) -> dict[str, Any]:
        return serializer_context(**super().get_serializer_context())

    def list(self, request: Request) -> Response:
        statuses = self._requested_statuses()
        if statuses is None:
            claims = published_only()
        else:
            claims = Claim.objects.filter(status__in=statuses)
            if set(statuses) != {Claim.Status.PUBLISHED}:
                self.list_ordering = WORK_IN_PROGRESS_ORDERING
        rows = self.page_of(lambda: claim_rows(self.filter_queryset(claims)), ("claims", statuses))
        built = claim_records(rows, published_only=statuses is None)
        return _with_last_modified(self.get_paginated_response(built.records), built.last_modified)

    def retrieve(self, request: Request, pk: int) -> Response:
        staff = self._is_staff()
        rows = _one_claim(("claim", staff), lambda pk: claim_rows(self.get_queryset().filter(pk=pk)), pk)
        if not rows:
            raise NotFound()
        built = claim_records(rows, published_only=not staff)
        return _with_last_modified(Response(built.records[0]), built.last_modified)

    @extend_schema(
        summary="The published claim as schema.org ClaimReview (JSON-LD)",
        description="The same ClaimReview the public page embeds; only published claims have one, "
        "for staff too.",
        responses={200: CLAIM_REVIEW, **error_responses(404)},
    )
    @action(detail=True, methods=["get"], renderer_classes=CLAIM_REVIEW_RENDERERS)
    def claimreview(self, request: Request, pk: int) -> Response:
        rows = _one_claim(("claimreview",), lambda pk: review_rows(reviewable_claims().filter(pk=pk)), pk)
        if not rows:
            raise NotFound()
        claim = reviewed_claims(rows)[0]
        body = claim_review_of(claim)
        return _with_last_modified(Response(body), claim["updated_at"])

    @extend_schema(
        summary="Recorded claims that a text restates: has this been checked?",
        description="Best first, across wordings and languages. `same_claim` is Verifier's judgement "
        "that the text makes the same assertion (an \"already checked\" answer), not merely the same "
        "topic. Anonymous clients see published claims only; staff see every claim, with its status.",
        parameters=[SimilarQuerySerializer],
        responses={200: SimilarClaimsSerializer, **error_responses(400)},
        filters=False,
    )
    @action(detail=False, methods=["get"], pagination_class=None, filterset_class=None)
    def similar(self, request: Request) -> Response:
        query = SimilarQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        staff = self._is_staff()
        results = similar_claim_records(
            text=query.validated_data["text"],
            visible=Claim.objects.all() if staff else published_only(),
            published_only=not staff,
            limit=query.validated_data["limit"],
            language=query.validated_data.get("lang"),
        )
        return Response({"results": results})

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



@extend_schema_view(
    list=extend_schema(
        summary="Published claims as a schema.org DataFeed of ClaimReviews, newest first",
        description="The filters and cursor pages of `GET /api/v1/claims/`; the next and previous "
        "pages are top-level `next` and `previous` fields and a `Link` header.",
        parameters=[LINK_HEADER],
        responses={200: CLAIM_REVIEW_FEED, **error_responses(400)},
    )
)
# ETag, Last-Modified, 304 and the response cache: verifier.api.http_cache.
@method_decorator(public_read, name="list")
class ClaimReviewFeedViewSet(FilteredByClaimFilter, viewsets.GenericViewSet):
    renderer_classes = CLAIM_REVIEW_RENDERERS
    content_negotiation_class = AnyAcceptedNegotiation
    pagination_class = KeysetCursorPagination
    filterset_class = ClaimFilter
    list_ordering: tuple[str, ...] = PUBLISHED_ORDERING

    def get_queryset(self) -> QuerySet[Claim]:
        return reviewable_claims()

    def list(self, request: Request) -> Response:
        rows = self.page_of(
            lambda: review_rows(self.filter_queryset(self.get_queryset())), ("claimreview-feed",)
        )
        assert isinstance(self.paginator, KeysetCursorPagination)
        claims = reviewed_claims(rows)
        links = {"next": self.paginator.get_next_link(), "previous": self.paginator.get_previous_link()}
        body = claim_review_feed(claims, url=self.paginator.url, links=links)
        response = self.paginator.with_link_header(Response(body))
        # A ClaimReview cites only what its verdict froze at approval, which moves the claim's
        # updated_at: the claims' own update times are when it last changed.
        return _with_last_modified(response, max((claim["updated_at"] for claim in claims), default=None))


# The one-claim reads: the same query for every claim but for its id, compiled once (Django compiling
# it cost about as much as the rest of the read).
_ONE_CLAIM = ShapedRows()


def _one_claim(shape: tuple[Any, ...], rows: Callable[[int], QuerySet[Any]], pk: int) -> list[dict[str, Any]]:
    # The URL takes any run of digits; no id is larger than the id column holds.
    if pk > MAX_ID:
        return []
    return _ONE_CLAIM.rows(shape, rows, pk)


def _with_last_modified(response: Response, moment: datetime | None) -> Response:
    if moment is not None:
        response["Last-Modified"] = http_date(moment.timestamp())
    return response
