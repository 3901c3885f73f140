from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from simple_history.models import HistoricalRecords


class Claimant(models.Model):
    class Kind(models.TextChoices):
        ORGANIZATION = "organization", "Organization"
        PERSON = "person", "Person"

    name = models.CharField(max_length=200, unique=True)
    url = models.URLField(
        max_length=2048, blank=True, help_text="Used as sameAs in ClaimReview (e.g. Wikipedia page)."
    )
    kind = models.CharField(
        max_length=12,
        choices=Kind.choices,
        default=Kind.ORGANIZATION,
        help_text="The schema.org type of the claim's author in ClaimReview.",
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            # Claims name their claimant case-insensitively: "iran" must not become a second Iran.
            models.UniqueConstraint(
                Lower("name"),
                name="claimant_name_ci_unique",
                violation_error_message=(
                    "There is already a claimant named that; names are unique whatever their case."
                ),
            )
        ]

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Claim(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        IN_REVIEW = "in_review", "In review"
        PUBLISHED = "published", "Published"

    text = models.TextField()
    claimant = models.ForeignKey(Claimant, on_delete=models.PROTECT, related_name="claims")
    claim_date = models.DateField(null=True, blank=True, help_text="When the claim was made.")
    appearance_url = models.URLField(
        max_length=2048, blank=True, help_text="Where the claim was made (article, video, post)."
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="claims")
    language = models.CharField(
        max_length=35,
        blank=True,
        help_text="BCP 47 language of the text (en, es, pt-BR...); detected from the text when left empty.",
    )
    same_as = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="restatements",
        help_text="The claim this one restates (same assertion, other wording or language).",
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_claims",
    )
    # Changed only by the workflow services: once published, a claim stays published while a
    # correction goes through review (its verdict carries that state).
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.DRAFT, editable=False, db_index=True
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="created_claims"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    published_at = models.DateTimeField(null=True, blank=True, editable=False, db_index=True)
    # Link-rot watch: set when a source cited by the published verdict changed or disappeared.
    source_flag = models.TextField(blank=True, editable=False)
    source_flagged_at = models.DateTimeField(null=True, blank=True, editable=False)

    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "-published_at", "-id"], name="claim_published_idx"),
            # The admin's "source changed" list, newest first: the few flagged claims read from
            # the index, not found by scanning most of the table.
            models.Index(
                fields=["-id"], condition=~models.Q(source_flag=""), name="claim_source_flagged_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.text if len(self.text) <= 80 else self.text[:77] + "..."

    def get_absolute_url(self) -> str:
        return reverse("claim-page", args=[self.pk])

    def public_url(self) -> str:
        """The claim's public fact-check page, absolute (PUBLIC_BASE_URL): its ClaimReview `url`."""
        return settings.PUBLIC_BASE_URL + self.get_absolute_url()


class ClaimVector(models.Model):
    """The claim's sentence vector for matching (claims.matching), as of `indexed_at`.

    Kept in the database so every web and worker process builds the same in-memory index from it
    and follows changes by `indexed_at`; a claim saved after `indexed_at` is due for re-indexing.
    """

    claim = models.OneToOneField(
        Claim, on_delete=models.CASCADE, primary_key=True, related_name="vector"
    )
    # float16, L2-normalised: 1 KB a claim, precise enough for cosines to three decimals.
    vector = models.BinaryField()
    indexed_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"Vector of claim #{self.claim_id}"


class Evidence(models.Model):
    class Stance(models.TextChoices):
        SUPPORTS = "supports", "Supports"
        REFUTES = "refutes", "Refutes"
        CONTEXT = "context", "Context"

    class QuoteStatus(models.TextChoices):
        PENDING = "pending", "Pending"
        FOUND = "found", "Found"
        NOT_FOUND = "not_found", "Not found"
        NO_TEXT = "no_text", "No text to check"

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="evidence")
    source = models.ForeignKey("sources.Source", on_delete=models.PROTECT, related_name="evidence")
    quote = models.TextField(help_text="The exact words from the source.")
    stance = models.CharField(max_length=10, choices=Stance.choices)
    note = models.TextField(blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="evidence"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    quote_status = models.CharField(
        max_length=10, choices=QuoteStatus.choices, default=QuoteStatus.PENDING, editable=False
    )
    quote_checked_snapshot = models.ForeignKey(
        "sources.Snapshot",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    quote_checked_at = models.DateTimeField(null=True, blank=True, editable=False)

    history = HistoricalRecords()

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "evidence"

    def __str__(self) -> str:
        return f"{self.get_stance_display()}: {self.source.url}"


class ImportConfirmation(models.Model):
    """A confirmed CSV import, by the digest of its signed preview token: a token confirms once."""

    token_sha256 = models.CharField(max_length=64, unique=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    confirmed_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"import {self.token_sha256[:12]} by {self.confirmed_by_id}"
