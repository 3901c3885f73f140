"""Recorded claims similar to a text, as the read API shows claims: for the similar-claims API,
the answer to a new claim, the admin's claim form and the CSV import preview."""

from typing import Any

from django.db.models import QuerySet

from claims.models import Claim
from claims.similarity import claims_similar
from verifier.selectors.records import claim_records, claim_rows

Row = dict[str, Any]


def similar_claim_records(
    *,
    text: str,
    visible: QuerySet[Claim],
    published_only: bool,
    limit: int = 5,
    language: str | None = None,
    excluding: int | None = None,
) -> list[Row]:
    """`{"score", "same_claim", "claim"}` for the claims among `visible` most similar to the text,
    best first; each claim as the list shows it (`published_only` as for claim_records)."""
    similar = claims_similar(
        text=text, visible=visible, limit=limit, language=language, excluding=excluding
    )
    if not similar:
        return []
    rows = list(claim_rows(Claim.objects.filter(pk__in=[match.claim_id for match in similar])))
    records = {record["id"]: record for record in claim_records(rows, published_only=published_only).records}
    return [
        {"score": match.score, "same_claim": match.same_claim, "claim": records[match.claim_id]}
        for match in similar
        if match.claim_id in records
    ]
