"""GET /api/v1/sources/{id}/: a cited source with its fetch history, for staff."""

from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.generics import RetrieveAPIView
from rest_framework.permissions import IsAdminUser

from sources.models import Snapshot, Source
from verifier.api.serializers import ErrorSerializer
from verifier.api.source_serializers import SourceSerializer


def sources_with_snapshots() -> QuerySet[Source]:
    # Snapshot text can be megabytes and is not shown; the body stays in file storage.
    snapshots = Snapshot.objects.defer("text").order_by("-fetched_at", "-id")
    return Source.objects.prefetch_related(
        Prefetch("snapshots", queryset=snapshots, to_attr="snapshots_newest_first")
    )


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
