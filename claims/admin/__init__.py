"""Admin for claims and evidence: an entry point that parses input and calls the services.

Fact-checkers create claims, attach evidence and draft the verdict on the claim page (claim.py);
reviewers decide from the review queue (review_queue.py) or the claim page. The list has filters
(filters.py), bulk actions (bulk.py) and CSV import and export (transfer.py). Every write goes
through claims.services or verifier.services, so the admin cannot do anything the rules forbid.
"""

from claims.admin.claim import ClaimAdmin
from claims.admin.related import ClaimantAdmin, EvidenceAdmin, TagAdmin

__all__ = ["ClaimAdmin", "ClaimantAdmin", "EvidenceAdmin", "TagAdmin"]
