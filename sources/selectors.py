"""Reads of sources, each declaring what it loads."""

from django.db.models import F, Prefetch, QuerySet, Window
from django.db.models.functions import RowNumber

from sources.models import Snapshot, Source

# Never loaded for lists: extracted text and headers can be megabytes per snapshot.
SNAPSHOT_HEAVY_FIELDS = ("text", "headers", "redirect_chain")


def _snapshot_summaries() -> QuerySet[Snapshot]:
    return Snapshot.objects.defer(*SNAPSHOT_HEAVY_FIELDS)


def latest_snapshot_per_source() -> QuerySet[Snapshot]:
    """Each source's newest snapshot, without its text: for a prefetch by source."""
    # The prefetch adds "source_id IN (...)"; the window then keeps each source's newest row.
    return _snapshot_summaries().annotate(
        newest_rank=Window(
            RowNumber(), partition_by=[F("source_id")], order_by=[F("fetched_at").desc(), F("id").desc()]
        )
    ).filter(newest_rank=1)


def sources_with_snapshots() -> QuerySet[Source]:
    """Sources with every snapshot, newest first (`snapshots_newest_first`), without their text."""
    # Snapshot text can be megabytes and is not shown; the body stays in file storage.
    snapshots = Snapshot.objects.defer("text").order_by("-fetched_at", "-id")
    return Source.objects.prefetch_related(
        Prefetch("snapshots", queryset=snapshots, to_attr="snapshots_newest_first")
    )
