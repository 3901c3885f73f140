"""The evidence on a claim's page: what is recorded (with fetch and quote check; editable until
the claim is published) and a row to add more by pasting a URL."""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.forms import BaseInlineFormSet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import Truncator

from claims.models import Evidence
from verifier.admin.badges import fetch_badge_with_reason, quote_badge
from verifier.admin.common import rule
from verifier.admin.forms import EvidenceAddForm, EvidenceEditForm
from verifier.services.evidence import (
    evidence_change_refusal,
    evidence_edit_refusal,
    evidence_remove_refusal,
)


class EvidenceInline(admin.TabularInline):
    """The claim's evidence as recorded, with each source's fetch and quote check.

    Until the claim is first published a fact-checker edits the quote, stance and note in place
    (evidence_update checks a changed quote again at once); the cited URL never changes, since
    the fetch and its snapshots belong to it. The template adds a re-fetch button per row for
    fact-checkers.
    """

    model = Evidence
    form = EvidenceEditForm
    template = "admin/claims/claim/evidence_inline.html"
    fields = ("source_link", "stance", "quote", "note", "fetch_outcome", "quote_check", "added")
    extra = 0

    def get_queryset(self, request: HttpRequest) -> QuerySet[Evidence]:
        return super().get_queryset(request).select_related("source", "author")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if self.has_change_permission(request, obj):
            return ("source_link", "fetch_outcome", "quote_check", "added")
        return self.fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is None or not super().has_change_permission(request, obj):
            return False
        return rule(obj, "evidence_edit", evidence_edit_refusal) is None

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is None or not super().has_delete_permission(request, obj):
            return False
        return rule(obj, "evidence_remove", evidence_remove_refusal) is None

    @admin.display(description="source")
    def source_link(self, evidence: Evidence) -> str:
        source = evidence.source
        return format_html(
            '<a href="{}" rel="noreferrer noopener" target="_blank">{}</a><br>'
            '<a href="{}" class="viewlink">source record</a>',
            source.url,
            Truncator(source.url).chars(60),
            reverse("admin:sources_source_change", args=[source.pk]),
        )

    @admin.display(description="fetch")
    def fetch_outcome(self, evidence: Evidence) -> str:
        return evidence_fetch_cell(evidence)

    @admin.display(description="quote check")
    def quote_check(self, evidence: Evidence) -> str:
        return evidence_quote_cell(evidence)

    @admin.display(description="added")
    def added(self, evidence: Evidence) -> str:
        return format_html(
            "{}<br><small>{}</small>", evidence.author, f"{evidence.created_at:%Y-%m-%d %H:%M}"
        )


# The cells of an evidence row that change while its fetch and quote check run: the page shows them
# and the claim's live-status endpoint sends them again, rendered by the same functions.
LIVE_STATUS_FIELDS = ("fetch_outcome", "quote_check")


def evidence_fetch_cell(evidence: Evidence) -> str:
    return fetch_badge_with_reason(evidence.source)


def evidence_quote_cell(evidence: Evidence) -> str:
    shown = quote_badge(evidence)
    if evidence.quote_checked_snapshot_id is None:
        return shown
    return format_html(
        '{}<br><small><a href="{}#quote-{}">snapshot {}</a></small>',
        shown,
        reverse("admin:sources_snapshot_change", args=[evidence.quote_checked_snapshot_id]),
        evidence.pk,
        evidence.quote_checked_snapshot_id,
    )


class NewEvidenceFormSet(BaseInlineFormSet):
    @classmethod
    def get_default_prefix(cls) -> str:
        # Distinct from the read-only inline's "evidence", on the add and the change page alike.
        return "new_evidence"


class EvidenceAddInline(admin.TabularInline):
    """New evidence by URL; saved through evidence_add, which finds the source and queues a fetch."""

    model = Evidence
    form = EvidenceAddForm
    formset = NewEvidenceFormSet
    fields = ("url", "quote", "stance", "note")
    extra = 1
    can_delete = False
    verbose_name = "evidence"
    verbose_name_plural = "add evidence"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Evidence]:
        return super().get_queryset(request).none()

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if not super().has_add_permission(request, obj):
            return False
        return obj is None or rule(obj, "evidence_change", evidence_change_refusal) is None

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_add_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
