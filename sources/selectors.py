"""Reads of sources, each declaring what it loads."""

from django.db.models import Prefetch, QuerySet

from sources.models import Snapshot, Source


def sources_with_snapshots() -> QuerySet[Source]:
    """Sources with every snapshot, newest first (`snapshots_newest_first`), without their text."""
    # Snapshot text can be megabytes and is not shown; the body stays in file storage.
    snapshots = Snapshot.objects.defer("text").order_by("-fetched_at", "-id")
    return Source.objects.prefetch_related(
        Prefetch("snapshots", queryset=snapshots, to_attr="snapshots_newest_first")
    )
