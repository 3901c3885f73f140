"""The Django admin, the team's working interface: an entry point that parses input, calls the
services and shows their answer. It lives in the top app because it shows every layer at once.

Fact-checkers create claims, attach evidence and draft the verdict on the claim page (claim.py);
reviewers decide from the review queue (review_queue.py) or the claim page. The claim list has
filters (filters.py), bulk actions (bulk.py) and CSV import and export (transfer.py); claimants,
tags and evidence across claims are in related.py, sources and snapshots in sources.py, the rating
scale, verdicts and the review log in verdicts.py, webhooks in webhooks.py, each person's
notifications in notifications.py, trusted timestamps in provenance.py. Every write goes
through verifier.services or sources.services, so the admin cannot do anything the rules forbid.
"""

from verifier.admin.claim import ClaimAdmin
from verifier.admin.login import LoginAttemptAdmin, LoginFailureLogAdmin, LoginLogAdmin
from verifier.admin.notifications import NotificationAdmin
from verifier.admin.provenance import TrustedTimestampAdmin
from verifier.admin.related import ClaimantAdmin, EvidenceAdmin, TagAdmin
from verifier.admin.sources import SnapshotAdmin, SourceAdmin
from verifier.admin.verdicts import RatingAdmin, ReviewLogEntryAdmin, VerdictAdmin
from verifier.admin.webhooks import WebhookDeliveryAdmin, WebhookEndpointAdmin

__all__ = [
    "ClaimAdmin",
    "ClaimantAdmin",
    "EvidenceAdmin",
    "LoginAttemptAdmin",
    "LoginFailureLogAdmin",
    "LoginLogAdmin",
    "NotificationAdmin",
    "RatingAdmin",
    "ReviewLogEntryAdmin",
    "SnapshotAdmin",
    "SourceAdmin",
    "TagAdmin",
    "TrustedTimestampAdmin",
    "VerdictAdmin",
    "WebhookDeliveryAdmin",
    "WebhookEndpointAdmin",
]
