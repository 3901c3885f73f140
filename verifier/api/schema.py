"""What the OpenAPI schema (/api/v1/schema/) says beyond the serializers: the error responses, the
Link header and status parameter of the claim lists, and the ClaimReview JSON-LD bodies that
verifier.claimreview builds."""

from drf_spectacular.drainage import set_override
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers

from verifier.api.serializers import ErrorSerializer


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    """The documented error responses of a claims endpoint, by status code."""
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


# ClaimReview JSON-LD, for the OpenAPI schema only: verifier.claimreview builds these bodies.


def _schema_org_type(name: str, *names: str) -> serializers.CharField:
    choices = " or ".join(f'"{each}"' for each in (name, *names))
    return serializers.CharField(help_text=f"The schema.org type: {choices}.")


_ORGANIZATION = inline_serializer(
    "SchemaOrgOrganization",
    {
        "@type": _schema_org_type("Organization"),
        "name": serializers.CharField(),
        "url": serializers.URLField(),
    },
)

CLAIM_REVIEW = inline_serializer(
    "ClaimReview",
    {
        "@context": serializers.CharField(
            required=False, help_text='"https://schema.org"; absent where the review is nested in a feed.'
        ),
        "@type": _schema_org_type("ClaimReview"),
        "url": serializers.URLField(help_text="The public fact-check page."),
        "claimReviewed": serializers.CharField(help_text="The claim's text."),
        "datePublished": serializers.DateTimeField(help_text="When the fact-check was first published."),
        "dateModified": serializers.DateTimeField(
            required=False, help_text="When the latest correction was published; absent if never corrected."
        ),
        "author": _ORGANIZATION,
        "itemReviewed": inline_serializer(
            "ClaimReviewClaim",
            {
                "@type": _schema_org_type("Claim"),
                "author": inline_serializer(
                    "ClaimReviewClaimant",
                    {
                        "@type": _schema_org_type("Person", "Organization"),
                        "name": serializers.CharField(),
                        "sameAs": serializers.URLField(
                            required=False, help_text="The claimant's page, if known."
                        ),
                    },
                ),
                "datePublished": serializers.DateField(required=False, help_text="When the claim was made."),
                "appearance": inline_serializer(
                    "ClaimReviewAppearance",
                    {"@type": _schema_org_type("CreativeWork"), "url": serializers.URLField()},
                    required=False,
                    help_text="Where the claim was made, if recorded.",
                ),
            },
        ),
        "reviewRating": inline_serializer(
            "ClaimReviewRating",
            {
                "@type": _schema_org_type("Rating"),
                "alternateName": serializers.CharField(help_text="The rating's label."),
                "ratingValue": serializers.IntegerField(
                    required=False, help_text="Only for a label on the numeric scale, as are the bounds."
                ),
                "bestRating": serializers.IntegerField(required=False),
                "worstRating": serializers.IntegerField(required=False),
                "ratingExplanation": serializers.CharField(
                    required=False, help_text="The verdict's summary."
                ),
            },
        ),
        "citation": inline_serializer(
            "ClaimReviewCitation",
            {
                "@type": _schema_org_type("CreativeWork"),
                "url": serializers.URLField(help_text="The cited source."),
                "archivedAt": serializers.URLField(
                    help_text="Its archived copy: the snapshot the published verdict cites."
                ),
            },
            many=True,
            required=False,
            help_text="The sources the published verdict cites that were fetched; absent if none was.",
        ),
    },
)

CLAIM_REVIEW_FEED = inline_serializer(
    "ClaimReviewFeed",
    {
        "@context": serializers.CharField(help_text='"https://schema.org".'),
        "@type": _schema_org_type("DataFeed"),
        "name": serializers.CharField(),
        "url": serializers.URLField(help_text="This page of the feed."),
        "publisher": _ORGANIZATION,
        "next": serializers.URLField(
            allow_null=True, help_text="The following (older) page, also sent as a Link header (rel=next)."
        ),
        "previous": serializers.URLField(
            allow_null=True, help_text="The preceding (newer) page, also sent as a Link header (rel=prev)."
        ),
        "dataFeedElement": inline_serializer(
            "ClaimReviewFeedItem",
            {
                "@type": _schema_org_type("DataFeedItem"),
                "dateCreated": serializers.DateTimeField(
                    help_text="When the fact-check was first published."
                ),
                "dateModified": serializers.DateTimeField(
                    help_text="When the claim last changed: the time `updated_since` compares with."
                ),
                "item": CLAIM_REVIEW,
            },
            many=True,
        ),
    },
)
# A feed page is one object whose list is inside it: not to be wrapped as a list of feeds.
set_override(CLAIM_REVIEW_FEED, "many", False)
