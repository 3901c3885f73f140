"""Admin for sources and snapshots: what was fetched, when, and with what outcome. Read-only.

Sources and snapshots are written by the fetch workers only; the one thing a person can do here
is ask for a re-fetch, which goes through sources.services.source_request_fetch.
"""

import json
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from sources.models import Snapshot, Source
from sources.services import source_request_fetch
from verifier.roles import is_fact_checker

CITED_BY_SHOWN = 20


class OutcomeFilter(admin.SimpleListFilter):
    """Outcome codes from the fixed list, not a DISTINCT over every source."""

    title = "outcome"
    parameter_name = "outcome"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return list(Snapshot.Outcome.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value():
            return queryset.filter(outcome=self.value())
        return queryset


class SnapshotInline(admin.TabularInline):
    model = Snapshot
    fields = (
        "fetched_at",
        "outcome",
        "change",
        "http_status",
        "final_url",
        "content_type",
        "body_bytes",
        "truncated",
        "content_sha256",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = "snapshots (newest first)"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Snapshot]:
        # The extracted text and headers can be large; the snapshot's own page shows them.
        return (
            super()
            .get_queryset(request)
            .select_related("source")
            .defer("text", "headers", "redirect_chain")
            .order_by("-fetched_at", "-id")
        )

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ("url", "status", "outcome", "last_fetched_at", "next_check_at")
    list_filter = ("status", OutcomeFilter)
    search_fields = ("url",)
    show_full_result_count = False
    actions = ("refetch",)
    inlines = (SnapshotInline,)
    fields = (
        "url",
        "status",
        "outcome",
        "outcome_reason",
        "fetch_requested_at",
        "fetch_started_at",
        "last_fetched_at",
        "next_check_at",
        "created_at",
        "cited_by",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Source | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Source | None = None) -> bool:
        return False

    def has_refetch_permission(self, request: HttpRequest) -> bool:
        return is_fact_checker(request.user)

    @admin.action(description="Re-fetch the selected sources", permissions=["refetch"])
    def refetch(self, request: HttpRequest, queryset: QuerySet[Source]) -> None:
        count = 0
        for source in queryset.only("pk"):
            # One transaction per source: each fetch is queued as soon as its own row commits.
            with transaction.atomic():
                source_request_fetch(source=source)
            count += 1
        self.message_user(
            request, f"Queued a fetch of {count} source{'s' if count != 1 else ''}.", messages.SUCCESS
        )

    @admin.display(description="cited by")
    def cited_by(self, source: Source) -> str:
        evidence = list(
            source.evidence.select_related("claim").order_by("-id")[: CITED_BY_SHOWN + 1]
        )
        if not evidence:
            return "—"
        items = format_html_join(
            "",
            '<li><a href="{}">{}</a> ({})</li>',
            (
                (
                    reverse("admin:claims_claim_change", args=[row.claim_id]),
                    str(row.claim),
                    row.get_stance_display().lower(),
                )
                for row in evidence[:CITED_BY_SHOWN]
            ),
        )
        more = format_html("<li>… and more</li>") if len(evidence) > CITED_BY_SHOWN else ""
        return format_html("<ul>{}{}</ul>", items, more)


class SnapshotChangeList(ChangeList):
    def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> QuerySet[Any]:
        # The list never shows the extracted text or headers; a page of them would be megabytes.
        return super().get_queryset(request, exclude_parameters).defer("text", "headers")


@admin.register(Snapshot)
class SnapshotAdmin(admin.ModelAdmin):
    list_display = ("source", "fetched_at", "outcome", "change", "http_status", "short_sha256")
    list_filter = ("outcome", "change")
    list_select_related = ("source",)
    raw_id_fields = ("source",)
    search_fields = ("source__url", "=content_sha256")
    search_help_text = "Search the source URL, or paste a full SHA-256 of a body."
    show_full_result_count = False
    fieldsets = (
        (None, {"fields": ("source", "fetched_at", "outcome", "error_detail", "change")}),
        (
            "Request",
            {"fields": ("requested_url", "final_url", "redirect_chain_display", "connected_ip")},
        ),
        (
            "Response",
            {
                "fields": (
                    "http_status",
                    "content_type",
                    "charset",
                    "headers_display",
                    "bytes_received",
                    "body_bytes",
                    "truncated",
                    "stored_body",
                )
            },
        ),
        ("Integrity", {"fields": ("content_sha256", "text_sha256", "fetch_token")}),
        ("Extracted", {"fields": ("title", "author", "published", "text_display")}),
    )
    readonly_fields = (
        "redirect_chain_display",
        "headers_display",
        "stored_body",
        "text_display",
        "fetched_at",
        "fetch_token",
    )

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return SnapshotChangeList

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Snapshot | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Snapshot | None = None) -> bool:
        return False

    @admin.display(description="SHA-256", ordering="content_sha256")
    def short_sha256(self, snapshot: Snapshot) -> str:
        return snapshot.content_sha256[:16] + "…" if snapshot.content_sha256 else "—"

    @admin.display(description="redirect chain")
    def redirect_chain_display(self, snapshot: Snapshot) -> str:
        return format_html("<pre>{}</pre>", json.dumps(snapshot.redirect_chain, indent=2))

    @admin.display(description="headers")
    def headers_display(self, snapshot: Snapshot) -> str:
        return format_html("<pre>{}</pre>", json.dumps(snapshot.headers, indent=2, sort_keys=True))

    @admin.display(description="stored body")
    def stored_body(self, snapshot: Snapshot) -> str:
        return snapshot.body.name or "— (no body kept)"

    @admin.display(description="extracted text")
    def text_display(self, snapshot: Snapshot) -> str:
        if not snapshot.text:
            return "—"
        return format_html(
            '<div style="max-height: 30em; overflow: auto; white-space: pre-wrap">{}</div>',
            snapshot.text,
        )
