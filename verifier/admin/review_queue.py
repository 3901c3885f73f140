"""The review queue: claims whose verdict awaits a reviewer, oldest submission first, each with
what a reviewer needs to decide and the Approve / Request changes buttons."""

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.contrib import admin
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.safestring import SafeString

from claims.models import Claim, Evidence
from core.roles import is_reviewer
from verifier.admin.badges import QUOTE_TONES, attention_badges
from verifier.admin.common import actor
from verifier.models import ReviewLogEntry, Verdict
from verifier.selectors.verdicts import VerdictContributors, verdicts_contributors
from verifier.selectors.workflow import VerdictChanges, claims_for_review, verdict_changes, verdicts_in_review
from verifier.services.verdicts import verdict_four_eyes_refusal

if TYPE_CHECKING:
    from verifier.selectors.workflow import ClaimForReview

REVIEW_QUEUE_PAGE_SIZE = 50

@dataclass(frozen=True)
class QueueRow:
    claim: Claim
    verdict: Verdict
    evidence: list[Evidence]
    # For a correction: what it changes against the published version.
    changes: VerdictChanges | None
    # For a reviewer: why the four-eyes rule withholds the Approve button, if it does.
    four_eyes_reason: str | None
    url: str
    approve_url: str
    request_changes_url: str
    attention: SafeString
    # The latest comment of a hand-off: the reviewer's request for changes, or the note the
    # fact-checker submitted with.
    latest_comment: ReviewLogEntry | None

    @property
    def is_correction(self) -> bool:
        return self.claim.published_at is not None

    @property
    def quote_counts(self) -> list[tuple[str, int, str]]:
        """(label, how many, badge tone) for each quote check result present."""
        counts = []
        for status, tone in QUOTE_TONES.items():
            count = sum(1 for row in self.evidence if row.quote_status == status)
            if count:
                counts.append((Evidence.QuoteStatus(status).label.lower(), count, tone))
        return counts


def _row(
    model_admin: admin.ModelAdmin,
    reviewer: User | None,
    claim: "ClaimForReview",
    contributors: dict[int, VerdictContributors],
) -> QueueRow | None:
    verdicts = claim.review_verdicts
    verdict = next((v for v in verdicts if v.state == Verdict.State.IN_REVIEW), None)
    if verdict is None:
        return None  # decided between the queries of this page
    published = next((v for v in verdicts if v.state == Verdict.State.APPROVED), None)
    evidence = claim.review_evidence
    site = model_admin.admin_site.name
    return QueueRow(
        claim=claim,
        verdict=verdict,
        evidence=evidence,
        changes=(
            verdict_changes(published=published, proposed=verdict, evidence=evidence)
            if published is not None
            else None
        ),
        four_eyes_reason=(
            verdict_four_eyes_refusal(
                actor=reviewer, verdict=verdict, contributors=contributors[verdict.pk]
            )
            if reviewer
            else None
        ),
        url=reverse("admin:claims_claim_change", args=[claim.pk], current_app=site),
        approve_url=reverse("admin:claims_claim_approve", args=[claim.pk], current_app=site),
        request_changes_url=reverse(
            "admin:claims_claim_request_changes", args=[claim.pk], current_app=site
        ),
        attention=attention_badges(claim),
        latest_comment=next(iter(claim.latest_comments), None),
    )


def review_queue_view(model_admin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    # Paged on the verdicts in review (their state index), not by sorting every claim.
    queue = verdicts_in_review().values_list("claim_id", flat=True)
    page = Paginator(queue, REVIEW_QUEUE_PAGE_SIZE).get_page(request.GET.get("p"))
    reviewer = actor(request) if is_reviewer(request.user) else None
    claims = claims_for_review(list(page.object_list))
    in_review = [
        verdict
        for claim in claims
        for verdict in claim.review_verdicts
        if verdict.state == Verdict.State.IN_REVIEW
    ]
    contributors = verdicts_contributors(verdicts=in_review) if reviewer else {}
    rows = [
        row for claim in claims if (row := _row(model_admin, reviewer, claim, contributors))
    ]
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Review queue",
        "subtitle": None,
        "opts": model_admin.opts,
        "app_label": model_admin.opts.app_label,
        "page_obj": page,
        "rows": rows,
        "is_reviewer": reviewer is not None,
        "here": request.get_full_path(),
    }
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, "admin/claims/claim/review_queue.html", context)
