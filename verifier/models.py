import secrets
import uuid
from typing import Any, NotRequired, TypedDict

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from claims.models import Claim
from core.hash_chain import entry_chain_hash
from core.models import AppendOnlyModel, ImmutableRowError
from sources.models import Snapshot, Source


class Rating(models.Model):
    """One label of the rating scale; `value` is set only for labels on the numeric scale."""

    label = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    value = models.PositiveSmallIntegerField(null=True, blank=True)
    description = models.TextField(blank=True)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "label"]

    def __str__(self) -> str:
        return self.label


class ImmutableVerdictError(ImmutableRowError):
    """An approved verdict or a review log entry was about to be changed."""


class FingerprintEntry(TypedDict):
    """One evidence a verdict cited at approval, with the snapshot its quote was checked against
    (None before any fetch) and the SHA-256 of that snapshot's raw body. Approval writes every key;
    only `evidence` and `url` are needed to compare versions."""

    evidence: int
    url: str
    quote_status: NotRequired[str]
    snapshot: NotRequired[int | None]
    content_sha256: NotRequired[str]


def fingerprint_entries(stored_entries: list[Any]) -> list[FingerprintEntry]:
    """A verdict's evidence fingerprint read from its stored JSON, without loading the verdict."""
    entries = []
    for stored in stored_entries:
        entry = FingerprintEntry(evidence=int(stored["evidence"]), url=str(stored["url"]))
        if "quote_status" in stored:
            entry["quote_status"] = str(stored["quote_status"])
        if "snapshot" in stored:
            entry["snapshot"] = None if stored["snapshot"] is None else int(stored["snapshot"])
        if "content_sha256" in stored:
            entry["content_sha256"] = str(stored["content_sha256"])
        entries.append(entry)
    return entries


class Verdict(models.Model):
    class State(models.TextChoices):
        DRAFT = "draft", "Draft"
        IN_REVIEW = "in_review", "In review"
        APPROVED = "approved", "Approved"

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="verdicts")
    version = models.PositiveSmallIntegerField()
    rating = models.ForeignKey(Rating, null=True, blank=True, on_delete=models.PROTECT)
    summary = models.TextField(blank=True)
    explanation = models.TextField(blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="authored_verdicts"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reviewed_verdicts",
    )
    state = models.CharField(
        max_length=10, choices=State.choices, default=State.DRAFT, editable=False, db_index=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True, editable=False)
    approved_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Frozen at approval: every cited evidence with the snapshot it was checked against and that
    # snapshot's SHA-256, so the verdict can be traced to the exact bytes it relied on.
    evidence_fingerprint = models.JSONField(default=list, blank=True, editable=False)
    # A correction (version 2 on) says to readers what changed and why, dated by its approval.
    correction_note = models.TextField(blank=True)

    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["claim", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["claim", "version"], name="verdict_unique_version"),
            # At most one verdict per claim is being worked on at a time.
            models.UniqueConstraint(
                fields=["claim"],
                condition=~models.Q(state="approved"),
                name="verdict_one_open_per_claim",
            ),
        ]
        indexes = [
            # The review queue's order (verdicts_in_review): its page and its count read only this.
            models.Index(
                fields=["submitted_at", "id"],
                condition=models.Q(state="in_review"),
                name="verdict_review_queue_idx",
            ),
        ]
        permissions = [("review_verdict", "Can approve verdicts or request changes")]

    def __str__(self) -> str:
        return f"{self.claim_id} v{self.version} ({self.state})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if getattr(self, "_loaded_state", None) == self.State.APPROVED:
            raise ImmutableVerdictError(
                "An approved verdict cannot be changed; draft a correction instead."
            )
        super().save(*args, **kwargs)
        self._loaded_state = self.state

    @classmethod
    def from_db(cls, db: Any, field_names: Any, values: Any, **kwargs: Any) -> "Verdict":
        instance = super().from_db(db, field_names, values, **kwargs)
        instance._loaded_state = instance.state  # type: ignore[attr-defined]
        return instance

    def fingerprint(self) -> list[FingerprintEntry]:
        """The evidence fingerprint frozen at approval, read from its JSON (empty before approval)."""
        return fingerprint_entries(self.evidence_fingerprint)

    def cited_evidence_ids(self) -> set[int]:
        """The evidence the verdict cited at approval."""
        return {entry["evidence"] for entry in self.fingerprint()}


class ReviewLogEntry(AppendOnlyModel):
    """Append-only, hash-chained record of every workflow transition."""

    immutable_error = ImmutableVerdictError
    immutable_reason = "The review log is append-only."

    class Action(models.TextChoices):
        CREATE = "create", "Created claim"
        DRAFT = "draft", "Drafted verdict"
        SUBMIT = "submit", "Submitted for review"
        APPROVE = "approve", "Approved and published"
        REQUEST_CHANGES = "request_changes", "Requested changes"
        CORRECT = "correct", "Started a correction"
        DISMISS_FLAG = "dismiss_flag", "Dismissed a source flag"

    # A gap-free, unique sequence makes the chain linear: two concurrent appends cannot both
    # claim the same predecessor, and a deleted entry leaves a hole.
    sequence = models.PositiveBigIntegerField(unique=True, editable=False)
    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="review_log")
    verdict = models.ForeignKey(
        Verdict, null=True, blank=True, on_delete=models.PROTECT, related_name="review_log"
    )
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=20, choices=Action.choices)
    from_state = models.CharField(max_length=20, blank=True)
    to_state = models.CharField(max_length=20, blank=True)
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField()
    previous_hash = models.CharField(max_length=64, editable=False)
    entry_hash = models.CharField(max_length=64, unique=True, editable=False)

    class Meta:
        ordering = ["sequence"]
        verbose_name = "review log entry"
        verbose_name_plural = "review log"

    def __str__(self) -> str:
        return f"#{self.sequence} {self.action} on claim {self.claim_id}"

    def content(self) -> dict[str, Any]:
        return {
            "sequence": self.sequence,
            "claim": self.claim_id,
            "verdict": self.verdict_id,
            "actor": self.actor_id,
            "action": self.action,
            "from_state": self.from_state,
            "to_state": self.to_state,
            "comment": self.comment,
            "created_at": self.created_at.isoformat(),
        }

    def compute_hash(self) -> str:
        return entry_chain_hash(self.previous_hash, self.content())


class SourceFlag(models.Model):
    """One change or disappearance of a source cited by a published claim (SPEC §8), compared with
    the snapshot the published verdict was approved on. It stays open until a fact-checker dismisses
    it or a correction of the claim is approved; the claim is flagged while any entry is open."""

    class Kind(models.TextChoices):
        CHANGED = "changed", "Changed"
        GONE = "gone", "Disappeared"

    class State(models.TextChoices):
        OPEN = "open", "Open"
        DISMISSED = "dismissed", "Dismissed: verdict still valid"
        CORRECTED = "corrected", "Corrected"

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="source_flags")
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # The published verdict's snapshot of the source (None if it was approved before any fetch),
    # and the snapshot that found the change.
    approved_snapshot = models.ForeignKey(
        Snapshot, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    new_snapshot = models.ForeignKey(Snapshot, on_delete=models.PROTECT, related_name="+")
    detected_at = models.DateTimeField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN, editable=False)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    comment = models.TextField(blank=True, help_text="Why the verdict still holds, for a dismissal.")
    correction = models.ForeignKey(
        Verdict,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="corrected_flags",
        help_text="The correction started from this entry, or that resolved it.",
    )

    class Meta:
        ordering = ["-detected_at", "-id"]
        constraints = [
            # A snapshot flags a claim once, whatever redelivers it.
            models.UniqueConstraint(fields=["claim", "new_snapshot"], name="source_flag_once_per_snapshot"),
        ]
        indexes = [
            models.Index(fields=["claim"], condition=models.Q(state="open"), name="source_flag_open_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.source_id} on claim {self.claim_id} ({self.state})"


def webhook_secret() -> str:
    return secrets.token_urlsafe(32)


class WebhookEndpoint(models.Model):
    """A URL that receives a signed POST of the claim whenever one of its events happens."""

    class Event(models.TextChoices):
        PUBLISH = "publish", "Publish"
        CORRECTION = "correction", "Correction"
        FLAG = "flag", "Link-rot flag"

    url = models.URLField(
        max_length=2048, help_text="Checked by the same guard as sources: public addresses only."
    )
    description = models.CharField(max_length=200, blank=True, help_text="Who receives it, and why.")
    secret = models.CharField(
        max_length=100,
        default=webhook_secret,
        editable=False,
        help_text="Signs every delivery (Verifier-Signature); give it to the receiver.",
    )
    events = models.JSONField(default=list, help_text="The events delivered: publish, correction, flag.")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["url"]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """One event for one endpoint, with every attempt's result folded in."""

    class Outcome(models.TextChoices):
        PENDING = "pending", "Pending"
        RETRYING = "retrying", "Retrying"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"
        BLOCKED = "blocked", "Blocked (URL refused)"

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=20, choices=WebhookEndpoint.Event.choices)
    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="webhook_deliveries")
    # Sent as Verifier-Delivery: receivers drop a delivery they have already seen.
    delivery_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    payload = models.BinaryField(
        default=b"", editable=False, help_text="The body sent, rendered at the first attempt."
    )
    payload_sha256 = models.CharField(max_length=64, blank=True, editable=False)
    outcome = models.CharField(
        max_length=10, choices=Outcome.choices, default=Outcome.PENDING, editable=False, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(default=0, editable=False)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    error = models.TextField(blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True, editable=False)
    delivered_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.event} of claim {self.claim_id} to {self.endpoint_id} ({self.outcome})"


class Notification(models.Model):
    """One workflow event told to one person: listed in the admin until read, and mailed once unless
    they turned e-mail off."""

    class Event(models.TextChoices):
        SUBMITTED = "submitted", "Submitted for review"
        CHANGES_REQUESTED = "changes_requested", "Changes requested"
        APPROVED = "approved", "Approved and published"
        SOURCE_FLAGGED = "source_flagged", "Cited source changed or disappeared"

    class Mail(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        RETRYING = "retrying", "Retrying"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Not sent (e-mail off or no address)"

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    event = models.CharField(max_length=20, choices=Event.choices)
    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="notifications")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    mail = models.CharField(max_length=10, choices=Mail.choices, default=Mail.PENDING)
    mail_attempts = models.PositiveSmallIntegerField(default=0)
    mail_error = models.TextField(blank=True)
    mail_last_attempt_at = models.DateTimeField(null=True, blank=True)
    mailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "-created_at", "-id"], name="notification_inbox_idx"),
            # The unread count shown on every admin page.
            models.Index(
                fields=["recipient"], condition=models.Q(read_at__isnull=True), name="notification_unread_idx"
            ),
            # The beat sweep for mails a broker outage or a dead worker left waiting.
            models.Index(
                fields=["created_at"],
                condition=models.Q(mail__in=["pending", "retrying"]),
                name="notification_mail_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_event_display()} for {self.recipient_id} on claim {self.claim_id}"


class NotificationPreference(models.Model):
    """A person's choice about notification e-mail; without a row, e-mail is on."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="notification_preference",
    )
    email = models.BooleanField(default=True, help_text="Send me an e-mail for each notification.")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Notification e-mail {'on' if self.email else 'off'} for {self.user_id}"
