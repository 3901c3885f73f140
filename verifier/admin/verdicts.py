"""Admin for the rating scale, verdicts and the review log: all of it read-only but the scale.

Verdicts change only through the workflow buttons on the claim page (verifier.admin.claim), which call
verifier.services.verdicts; the review log is append-only.
"""

import json
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from verifier.models import Rating, ReviewLogEntry, Verdict

admin.site.site_header = "Verifier"
admin.site.site_title = "Verifier admin"
admin.site.index_title = "Fact-checking workflow"
admin.site.index_template = "admin/verifier_index.html"


class HistoryAdmin(SimpleHistoryAdmin):
    """Field history to read, never to revert: a revert would save the model around the services."""

    def revert_disabled(self, request: HttpRequest, obj: Any = None) -> bool:
        return True

    def history_form_view(
        self,
        request: HttpRequest,
        object_id: str,
        version_id: str,
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        # simple_history saves a POSTed historical form for anyone who may view the history.
        if request.method == "POST":
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)


@admin.register(Rating)
class RatingAdmin(admin.ModelAdmin):
    list_display = ("label", "value", "order", "slug", "description")
    prepopulated_fields = {"slug": ("label",)}
    search_fields = ("label",)

    # The scale is what every published verdict is expressed in: only superusers edit it.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj: Rating | None = None) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: Rating | None = None) -> bool:
        return request.user.is_superuser


def _claim_link(claim_id: int, label: str) -> str:
    return format_html('<a href="{}">{}</a>', reverse("admin:claims_claim_change", args=[claim_id]), label)


@admin.register(Verdict)
class VerdictAdmin(HistoryAdmin):
    list_display = ("claim_link", "version", "state", "rating", "author", "reviewer", "approved_at")
    list_filter = ("state", "rating")
    list_select_related = ("claim", "rating", "author", "reviewer")
    search_fields = ("claim__text", "summary")
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    raw_id_fields = ("claim",)
    fields = (
        "claim_link",
        "version",
        "state",
        "rating",
        "summary",
        "explanation",
        "author",
        "reviewer",
        "created_at",
        "submitted_at",
        "approved_at",
        "fingerprint",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Verdict | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Verdict | None = None) -> bool:
        return False

    @admin.display(description="claim", ordering="claim")
    def claim_link(self, verdict: Verdict) -> str:
        return _claim_link(verdict.claim_id, str(verdict.claim))

    @admin.display(description="evidence fingerprint")
    def fingerprint(self, verdict: Verdict) -> str:
        fingerprint = verdict.fingerprint()
        if not fingerprint:
            return "— (frozen at approval)"
        return format_html("<pre>{}</pre>", json.dumps(fingerprint, indent=2))


@admin.register(ReviewLogEntry)
class ReviewLogEntryAdmin(admin.ModelAdmin):
    list_display = (
        "sequence",
        "created_at",
        "claim_link",
        "action",
        "actor",
        "transition",
        "comment",
    )
    list_display_links = ("sequence",)
    list_filter = ("action",)
    list_select_related = ("claim", "actor")
    search_fields = ("comment", "claim__text")
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    ordering = ("-sequence",)
    fields = (
        "sequence",
        "created_at",
        "claim_link",
        "verdict",
        "actor",
        "action",
        "transition",
        "comment",
        "previous_hash",
        "entry_hash",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ReviewLogEntry | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ReviewLogEntry | None = None) -> bool:
        return False

    @admin.display(description="claim", ordering="claim")
    def claim_link(self, entry: ReviewLogEntry) -> str:
        return _claim_link(entry.claim_id, str(entry.claim))

    @admin.display(description="from → to")
    def transition(self, entry: ReviewLogEntry) -> str:
        return f"{entry.from_state or '—'} → {entry.to_state or '—'}"
