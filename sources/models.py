
from django.db import models

from core.models import AppendOnlyModel
from core.models import ImmutableRowError as ImmutableRowError
from sources.fetcher import Outcome as FetchOutcome

# The choices of Snapshot.outcome, derived from the fetcher's codes and labels.
OUTCOME_CHOICES = [(outcome.value, outcome.label) for outcome in FetchOutcome]


def change_of_failed_fetch(*, outcome: str, http_status: int | None) -> str:
    """What a fetch that got no content says about its source: gone (404, 410), blocked (the
    fetcher refused the URL) or unreachable (anything else, possibly passing)."""
    if outcome == FetchOutcome.HTTP_ERROR and http_status in (404, 410):
        return Snapshot.Change.GONE
    if outcome in (FetchOutcome.BLOCKED, FetchOutcome.INVALID_URL):
        return Snapshot.Change.BLOCKED
    return Snapshot.Change.UNREACHABLE


class Source(models.Model):
    """One cited URL, shared by every piece of evidence that cites it."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        FETCHING = "fetching", "Fetching"
        FETCHED = "fetched", "Fetched"
        FAILED = "failed", "Failed"

    url = models.CharField(max_length=2048, unique=True, help_text="Normalised URL.")
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    # The outcome code and reason of the latest finished fetch (see Snapshot.Outcome).
    outcome = models.CharField(max_length=32, blank=True)
    outcome_reason = models.TextField(blank=True)
    # Identifies the fetch currently asked for; a task carrying an older token is a no-op and a
    # redelivered task with the current one cannot store a second snapshot (unique constraint).
    fetch_token = models.UUIDField(null=True, blank=True, editable=False)
    fetch_requested_at = models.DateTimeField(null=True, blank=True)
    fetch_started_at = models.DateTimeField(null=True, blank=True)
    # The claim of the worker running the fetch lapses at this time unless it renews it; a fetching
    # source whose lease has lapsed lost its worker (SOURCES_FETCH_LEASE_SECONDS).
    fetch_lease_expires_at = models.DateTimeField(null=True, blank=True)
    last_fetched_at = models.DateTimeField(null=True, blank=True)
    # The newest snapshot, kept here as it is recorded so that the public record can say what
    # happened to a source since publication from a join, not a per-source window query.
    latest_snapshot = models.ForeignKey(
        "Snapshot", null=True, blank=True, on_delete=models.PROTECT, related_name="+", editable=False
    )
    next_check_at = models.DateTimeField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["url"]

    def __str__(self) -> str:
        return self.url


class Snapshot(AppendOnlyModel):
    """One finished fetch attempt of a source, kept exactly as recorded: never updated."""

    immutable_reason = "Snapshots are immutable; record a new fetch instead."

    # The fetcher's outcome codes, the one list of them, also reachable as Snapshot.Outcome.
    Outcome = FetchOutcome

    class Change(models.TextChoices):
        FIRST = "first", "First snapshot"
        SAME = "same", "Same"
        CHANGED = "changed", "Changed"
        GONE = "gone", "Gone"
        UNREACHABLE = "unreachable", "Unreachable"
        BLOCKED = "blocked", "Blocked"

    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="snapshots")
    fetch_token = models.UUIDField(editable=False)
    fetched_at = models.DateTimeField(auto_now_add=True, db_index=True)
    requested_url = models.CharField(max_length=2048)
    final_url = models.CharField(max_length=2048, blank=True)
    redirect_chain = models.JSONField(default=list, blank=True)
    connected_ip = models.GenericIPAddressField(null=True, blank=True)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    headers = models.JSONField(default=dict, blank=True)
    content_type = models.CharField(max_length=255, blank=True)
    charset = models.CharField(max_length=64, blank=True)
    bytes_received = models.PositiveBigIntegerField(default=0)
    body_bytes = models.PositiveBigIntegerField(default=0)
    truncated = models.BooleanField(default=False)
    content_sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    text_sha256 = models.CharField(max_length=64, blank=True)
    body = models.FileField(upload_to="snapshots/", blank=True, max_length=255)
    # The WARC/1.1 capture of the fetch (every hop as exchanged), stored once by its SHA-256;
    # empty for a fetch that got no response and for snapshots taken before captures existed.
    warc = models.FileField(upload_to="captures/", blank=True, max_length=255)
    warc_sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    warc_bytes = models.PositiveBigIntegerField(default=0)
    title = models.TextField(blank=True)
    author = models.TextField(blank=True)
    published = models.CharField(max_length=64, blank=True)
    text = models.TextField(blank=True)
    outcome = models.CharField(max_length=32, choices=OUTCOME_CHOICES)
    error_detail = models.TextField(blank=True)
    change = models.CharField(max_length=12, choices=Change.choices, default=Change.FIRST)

    class Meta:
        ordering = ["-fetched_at", "-id"]
        get_latest_by = ["fetched_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "fetch_token"], name="snapshot_one_per_fetch_attempt"
            )
        ]

    def __str__(self) -> str:
        return f"{self.source.url} @ {self.fetched_at:%Y-%m-%d %H:%M} ({self.outcome})"



class HostFetchSlot(models.Model):
    """A lease on one of the few concurrent fetches allowed per host, shared by every worker."""

    host = models.CharField(max_length=255)
    slot = models.PositiveSmallIntegerField()
    holder = models.UUIDField()
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["host", "slot"], name="host_fetch_slot_unique")
        ]

    def __str__(self) -> str:
        return f"{self.host} #{self.slot}"
