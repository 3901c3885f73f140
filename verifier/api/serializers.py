"""The claim as the API shows it (SPEC §5), and the parsing of write requests.

The claim's output serializers are declarations for the OpenAPI schema only: verifier.selectors.records
builds the bodies (tests/verifier/test_api_schema.py validates them against it). DraftVerdictSerializer
renders the verdict a write saved. Input serializers only parse and validate the shape of a request:
every write is done by a service.
"""

from typing import Any

from rest_framework import serializers

from claims.matching import SUPPORTED_LANGUAGES
from claims.models import Claim, Evidence
from core.text_bounds import (
    CLAIM_TEXT_MAX,
    COMMENT_MAX,
    EXPLANATION_MAX,
    NOTE_MAX,
    QUOTE_MAX,
    SUMMARY_MAX,
)
from sources.models import OUTCOME_CHOICES, Snapshot, Source
from verifier.models import Rating, SourceFlag, Verdict
from verifier.selectors.published import RatingScale
from verifier.selectors.verdicts import ratings_matching

SINCE_PUBLICATION_CHANGES = [change for change in Snapshot.Change if change != Snapshot.Change.FIRST]


def serializer_context(**extra: Any) -> dict[str, Any]:
    """Context for claim output: the rating scale bounds are read at most once per response."""
    return {"rating_scale": RatingScale(), **extra}


# The most similar claims one request may ask for.
SIMILAR_LIMIT_MAX = 20


class ErrorSerializer(serializers.Serializer):
    """Every error body; a 400 adds `{field: [message]}` for each field at fault."""

    detail = serializers.CharField()


class RatingSerializer(serializers.Serializer):
    label = serializers.CharField()  # type: ignore[assignment]  # a rating's label, not Field.label
    value = serializers.IntegerField(allow_null=True)
    best = serializers.SerializerMethodField(help_text="Top of the scale; null for a label without a value.")
    worst = serializers.SerializerMethodField(help_text="Bottom of the scale; null for a label without one.")

    def get_best(self, rating: Rating) -> int | None:
        return self.context["rating_scale"].best if rating.value is not None else None

    def get_worst(self, rating: Rating) -> int | None:
        return self.context["rating_scale"].worst if rating.value is not None else None


class VerdictVersionSerializer(serializers.Serializer):
    rating = RatingSerializer(allow_null=True)
    summary = serializers.CharField()
    explanation = serializers.CharField()
    version = serializers.IntegerField()
    published_at = serializers.DateTimeField(
        source="approved_at", allow_null=True, help_text="Null while the verdict is not yet approved."
    )
    correction_note = serializers.CharField(
        help_text="For a correction (version 2 on), what it changed and why, as the fact-checker wrote "
        "it for readers; dated by published_at. Empty for a first version."
    )


class VerdictSerializer(VerdictVersionSerializer):
    corrections = VerdictVersionSerializer(
        many=True, help_text="Earlier published versions, newest first (empty if never corrected)."
    )


class DraftVerdictSerializer(VerdictVersionSerializer):
    """The verdict being worked on, as a fact-checker saved it."""

    state = serializers.ChoiceField(choices=Verdict.State.choices)


class CitedSourceSerializer(serializers.Serializer):
    url = serializers.CharField()
    status = serializers.ChoiceField(
        choices=Source.Status.choices,
        help_text="For a published claim, the fetch state of the snapshot frozen at approval "
        "(pending if there was none); otherwise the source's fetch state now.",
    )
    snapshot = serializers.IntegerField(allow_null=True, help_text="The id of the snapshot shown.")
    final_url = serializers.CharField(allow_null=True)
    title = serializers.CharField(allow_null=True)
    http_status = serializers.IntegerField(allow_null=True)
    fetched_at = serializers.DateTimeField(allow_null=True)
    content_sha256 = serializers.CharField(
        allow_null=True, help_text="SHA-256 of the raw body fetched; null when the fetch got none."
    )
    outcome = serializers.ChoiceField(
        choices=OUTCOME_CHOICES, allow_null=True, help_text="The snapshot's fetch outcome code."
    )
    outcome_reason = serializers.CharField(
        allow_null=True, help_text="Why the fetch failed; null for a fetched snapshot."
    )


class SincePublicationSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=[(change.value, change.label) for change in SINCE_PUBLICATION_CHANGES],
        help_text="The source's latest snapshot against the one frozen at approval.",
    )
    checked_at = serializers.DateTimeField()
    latest_content_sha256 = serializers.CharField(
        allow_null=True, help_text="SHA-256 of the latest body; null when that fetch got none."
    )


class EvidenceSerializer(serializers.Serializer):
    stance = serializers.ChoiceField(choices=Evidence.Stance.choices)
    quote = serializers.CharField()
    quote_status = serializers.ChoiceField(
        choices=Evidence.QuoteStatus.choices,
        help_text="The quote check made against the snapshot shown (for a published claim, the "
        "one made before approval).",
    )
    note = serializers.CharField()
    source = CitedSourceSerializer(  # type: ignore[assignment]  # not Field.source
        help_text="The cited source as seen in one snapshot. For a published claim, the snapshot "
        "frozen in the published verdict's fingerprint, never a later one; otherwise the one the "
        "quote was last checked against, else the latest. The snapshot fields are null when there "
        "is none."
    )
    since_publication = SincePublicationSerializer(
        allow_null=True,
        help_text="For a published claim, what became of the source after publication; null "
        "until it was fetched again, and always null for a claim never published.",
    )


class FlaggedSnapshotSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    content_sha256 = serializers.CharField(help_text="SHA-256 of the raw body fetched; empty if none.")


class NewFlaggedSnapshotSerializer(FlaggedSnapshotSerializer):
    http_status = serializers.IntegerField(allow_null=True)


class FlagEntrySerializer(serializers.Serializer):
    source = serializers.CharField(help_text="The cited source's URL.")  # type: ignore[assignment]  # not Field.source
    kind = serializers.ChoiceField(choices=SourceFlag.Kind.choices)
    detected_at = serializers.DateTimeField()
    approved_snapshot = FlaggedSnapshotSerializer(
        allow_null=True, help_text="The snapshot the published verdict was approved on; null if none."
    )
    new_snapshot = NewFlaggedSnapshotSerializer(help_text="The snapshot that found the change.")


class EvidenceItemSerializer(EvidenceSerializer):
    """One evidence item at its own address, /api/v1/claims/{id}/evidence/{evidence_id}/."""

    id = serializers.IntegerField(help_text="The evidence_id of its address.")


class ClaimantSerializer(serializers.Serializer):
    name = serializers.CharField()
    url = serializers.CharField(help_text="The claimant's sameAs page; may be empty.")


class ClaimSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField(help_text="The public fact-check page.")
    text = serializers.CharField()
    claimant = ClaimantSerializer()
    claim_date = serializers.DateField(allow_null=True)
    appearance_url = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField(), help_text="Tag names.")
    language = serializers.CharField(help_text="BCP 47 language of the text; empty if unknown.")
    same_as = serializers.IntegerField(
        allow_null=True,
        help_text="The id of the claim this one restates (for anonymous clients, published claims only).",
    )
    status = serializers.ChoiceField(choices=Claim.Status.choices)
    published_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField()
    flag = FlagEntrySerializer(
        many=True,
        help_text="The open flag entries, oldest first: each change or disappearance of a cited source "
        "since publication that the fact-checkers have not yet dismissed or corrected (empty if none).",
    )
    verdict = VerdictSerializer(
        allow_null=True,
        help_text="The latest published verdict. For a claim never published (staff only), the "
        "verdict being worked on, with a null published_at; null if there is none.",
    )
    evidence = EvidenceSerializer(
        many=True, help_text="For a published claim, exactly the evidence its published verdict cites."
    )


class PublishingWarningSerializer(serializers.Serializer):
    code = serializers.ChoiceField(
        choices=["quote_not_found", "source_pending", "source_failed"],
        help_text="quote_not_found: the quote is not in its source's latest text; source_pending: "
        "the source is still being fetched; source_failed: its last fetch failed.",
    )
    evidence = serializers.IntegerField(help_text="The evidence item the warning is about.")
    url = serializers.CharField(help_text="Its source.")
    message = serializers.CharField()


class ClaimWithWarningsSerializer(ClaimSerializer):
    warnings = PublishingWarningSerializer(
        many=True,
        help_text="What to look at twice in the evidence just submitted or approved. Warnings never "
        "stop the action; an empty list means none.",
    )


class SimilarClaimSerializer(serializers.Serializer):
    score = serializers.FloatField(
        help_text="Calibrated probability (0..1) that the text makes the same assertion as the claim."
    )
    same_claim = serializers.BooleanField(
        help_text='Verifier\'s judgement that the claim was already recorded ("already checked"): the '
        "same assertion, not merely the same topic; a denial, another number, year or country is not."
    )
    claim = ClaimSerializer()


class SimilarClaimsSerializer(serializers.Serializer):
    results = SimilarClaimSerializer(many=True, help_text="Best first.")


class ClaimCreatedSerializer(ClaimSerializer):
    similar = SimilarClaimSerializer(
        many=True, help_text="Recorded claims similar to the new one, best first (it is not among them)."
    )


# Input: parsing only.


class ClaimCreateSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=CLAIM_TEXT_MAX)
    claimant = serializers.CharField(max_length=200, help_text="The claimant's name; created if new.")
    claim_date = serializers.DateField(required=False, allow_null=True, default=None)
    appearance_url = serializers.URLField(max_length=2048, required=False, allow_blank=True, default="")
    language = serializers.CharField(
        max_length=35,
        required=False,
        allow_blank=True,
        default="",
        help_text="BCP 47 language of the text; detected from it when left out.",
    )
    same_as = serializers.PrimaryKeyRelatedField(
        queryset=Claim.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        help_text="The id of a claim this one restates.",
    )
    tags = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, default=list, help_text="Tag names."
    )


class SimilarQuerySerializer(serializers.Serializer):
    text = serializers.CharField(max_length=CLAIM_TEXT_MAX, help_text="The text to match.")
    limit = serializers.IntegerField(min_value=1, max_value=SIMILAR_LIMIT_MAX, default=5)
    lang = serializers.CharField(
        max_length=35,
        required=False,
        help_text=f"The text's language as a BCP 47 tag ({', '.join(SUPPORTED_LANGUAGES)}; a regional tag "
        "such as pt-BR counts as its language); detected from the text when left out.",
    )

    def validate_lang(self, value: str) -> str:
        language = value.split("-")[0].lower()
        if language not in SUPPORTED_LANGUAGES:
            raise serializers.ValidationError(
                f"Unsupported language {value!r}; use one of {', '.join(SUPPORTED_LANGUAGES)}."
            )
        return language


class EvidenceCreateSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=2048, help_text="The cited page; fetched after saving.")
    quote = serializers.CharField(max_length=QUOTE_MAX, help_text="The exact words from the source.")
    stance = serializers.ChoiceField(choices=Evidence.Stance.choices)
    note = serializers.CharField(max_length=NOTE_MAX, required=False, allow_blank=True, default="")


class EvidenceUpdateSerializer(serializers.Serializer):
    """The fields of draft evidence that can change; the cited URL cannot (add new evidence)."""

    quote = serializers.CharField(max_length=QUOTE_MAX, required=False)
    stance = serializers.ChoiceField(choices=Evidence.Stance.choices, required=False)
    note = serializers.CharField(max_length=NOTE_MAX, required=False, allow_blank=True)


class VerdictDraftSerializer(serializers.Serializer):
    rating = serializers.CharField(
        required=False, allow_null=True, default=None, help_text="A rating's label or slug."
    )
    summary = serializers.CharField(max_length=SUMMARY_MAX, required=False, allow_blank=True, default="")
    explanation = serializers.CharField(
        max_length=EXPLANATION_MAX, required=False, allow_blank=True, default=""
    )
    correction_note = serializers.CharField(
        max_length=EXPLANATION_MAX,
        required=False,
        allow_blank=True,
        default="",
        help_text="On a published claim: what the correction changes and why, shown to readers. "
        "Needed to submit a correction; ignored on a first version.",
    )

    def validate_rating(self, value: str | None) -> Rating | None:
        if value is None or not value.strip():
            return None
        rating = ratings_matching(value).first()
        if rating is None:
            labels = ", ".join(Rating.objects.values_list("label", flat=True))
            raise serializers.ValidationError(f"Unknown rating {value!r}; use one of: {labels}.")
        return rating


class SubmitSerializer(serializers.Serializer):
    comment = serializers.CharField(
        max_length=COMMENT_MAX,
        required=False,
        allow_blank=True,
        default="",
        help_text="A note for the reviewer, such as what changed since they sent it back.",
    )


class ApproveSerializer(serializers.Serializer):
    comment = serializers.CharField(max_length=COMMENT_MAX, required=False, allow_blank=True, default="")


class RequestChangesSerializer(serializers.Serializer):
    comment = serializers.CharField(max_length=COMMENT_MAX, help_text="What needs to change.")
