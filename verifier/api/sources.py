"""GET /api/v1/sources/{id}/: a cited source with its fetch history, for staff."""

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.generics import RetrieveAPIView
from rest_framework.permissions import IsAdminUser

from sources.models import Source
from sources.selectors import sources_with_snapshots
from verifier.api.serializers import ErrorSerializer
from verifier.api.source_serializers import SourceSerializer


@extend_schema(
    summary="A source with its snapshots, newest first (staff)",
    responses={
        200: SourceSerializer,
        401: OpenApiResponse(ErrorSerializer, description="Not authenticated."),
        403: OpenApiResponse(ErrorSerializer, description="Not staff."),
        404: OpenApiResponse(ErrorSerializer, description="No such source."),
    },
)
class SourceDetailView(RetrieveAPIView):
    permission_classes = [IsAdminUser]
    serializer_class = SourceSerializer

    def get_queryset(self) -> QuerySet[Source]:
        return sources_with_snapshots()
