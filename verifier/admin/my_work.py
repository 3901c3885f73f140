"""Each person's "My work" page (SPEC §8): for a fact-checker, the claims sent back to them, their
flagged claims and the claims assigned to them; for a reviewer, the claims waiting for a review
they may give. verifier.selectors.attention.my_work decides what belongs where."""

from dataclasses import dataclass

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.safestring import SafeString

from claims.models import Claim
from verifier.admin.badges import attention_badges
from verifier.admin.common import actor
from verifier.selectors.attention import my_work
from verifier.selectors.workflow import claims_for_list

# Each list shows this many claims; the claim list's filters reach the rest.
MY_WORK_LIMIT = 50


@dataclass(frozen=True)
class WorkRow:
    claim: Claim
    url: str
    attention: SafeString


@dataclass(frozen=True)
class WorkList:
    key: str
    title: str
    explanation: str
    rows: list[WorkRow]
    # More claims than the page shows.
    more: bool


def _work_list(
    model_admin: admin.ModelAdmin, key: str, title: str, explanation: str, claims: QuerySet[Claim]
) -> WorkList:
    loaded = list(
        claims_for_list(claims).select_related("claimant", "assignee")[: MY_WORK_LIMIT + 1]
    )
    site = model_admin.admin_site.name
    rows = [
        WorkRow(
            claim=claim,
            url=reverse("admin:claims_claim_change", args=[claim.pk], current_app=site),
            attention=attention_badges(claim),
        )
        for claim in loaded[:MY_WORK_LIMIT]
    ]
    return WorkList(key, title, explanation, rows, more=len(loaded) > MY_WORK_LIMIT)


def my_work_view(model_admin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    work = my_work(actor(request))
    candidates = [
        (
            "sent-back",
            "Sent back to you",
            "A reviewer requested changes; their comment is on the claim page.",
            work.sent_back,
        ),
        (
            "flagged",
            "Your flagged claims",
            "A source cited by the published verdict changed or disappeared.",
            work.flagged,
        ),
        (
            "assigned",
            "Assigned to you",
            "Drafts, claims in review and corrections assigned to you.",
            work.assigned,
        ),
        (
            "to-review",
            "Waiting for your review",
            "Verdicts in review that you did not write, oldest submission first.",
            work.to_review,
        ),
    ]
    lists = [
        _work_list(model_admin, key, title, explanation, claims)
        for key, title, explanation, claims in candidates
        if claims is not None
    ]
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "My work",
        "subtitle": None,
        "opts": model_admin.opts,
        "app_label": model_admin.opts.app_label,
        "lists": lists,
    }
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, "admin/claims/claim/my_work.html", context)
