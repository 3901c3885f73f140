"""Admin for sources and snapshots: what was fetched, when, and with what outcome. Read-only.

Sources and snapshots are written by the fetch workers only; the one thing a person can do here
is ask for a re-fetch, which goes through sources.services.sources_refetch. A snapshot's
page shows its extracted text with the quotes of the evidence citing the source highlighted, and
offers the raw body as a download (never rendered: it is whatever the site sent).
"""

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponseBase, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator

from claims.models import Evidence
from core.errors import DomainError
from core.roles import is_fact_checker
from sources.highlight import FoldedText, QuoteMark, highlight, quote_spans
from sources.models import OUTCOME_CHOICES, Snapshot, Source
from sources.services import snapshot_body_check, sources_refetch
from verifier.admin.badges import badge, fetch_badge_with_reason, outcome_badge
from verifier.admin.common import actor
from verifier.archive import snapshot_body_download

CITED_BY_SHOWN = 20
# Quotes highlighted on a snapshot's page: the newest evidence citing the source.
QUOTES_SHOWN = 50
# Quotes not found for which the page looks for the closest passage (0.02-0.1 s each in 1 MB of
# text, see sources.highlight.CLOSEST_PROBE_MAX), and the least similarity worth showing.
CLOSEST_HINTS_SHOWN = 10
CLOSEST_SIMILARITY_MIN = 60.0


class OutcomeFilter(admin.SimpleListFilter):
    """Outcome codes from the fixed list, not a DISTINCT over every source."""

    title = "outcome"
    parameter_name = "outcome"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return OUTCOME_CHOICES

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value():
            return queryset.filter(outcome=self.value())
        return queryset


class LastFetchedFilter(admin.SimpleListFilter):
    title = "last fetched"
    parameter_name = "fetched"
    _WITHIN = {"day": timedelta(days=1), "week": timedelta(days=7), "month": timedelta(days=30)}

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("day", "In the last 24 hours"),
            ("week", "In the last 7 days"),
            ("month", "In the last 30 days"),
            ("older", "More than 30 days ago"),
            ("never", "Never"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Source]) -> QuerySet[Source]:
        value = self.value()
        if value in self._WITHIN:
            return queryset.filter(last_fetched_at__gte=timezone.now() - self._WITHIN[value])
        if value == "older":
            return queryset.filter(last_fetched_at__lt=timezone.now() - self._WITHIN["month"])
        if value == "never":
            return queryset.filter(last_fetched_at__isnull=True)
        return queryset


class SnapshotInline(admin.TabularInline):
    model = Snapshot
    fields = (
        "fetched_at",
        "outcome_shown",
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

    @admin.display(description="outcome")
    def outcome_shown(self, snapshot: Snapshot) -> str:
        return outcome_badge(snapshot.outcome, snapshot.error_detail, snapshot.http_status)


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ("url", "fetch", "last_fetched_at", "next_check_at", "cited")
    list_filter = ("status", OutcomeFilter, LastFetchedFilter)
    search_fields = ("url",)
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    ordering = ("-id",)
    actions = ("refetch",)
    inlines = (SnapshotInline,)
    fields = (
        "url",
        "fetch",
        "fetch_requested_at",
        "fetch_started_at",
        "last_fetched_at",
        "next_check_at",
        "created_at",
        "cited_by",
    )
    readonly_fields = fields

    class Media:
        css = {"all": ["verifier/admin.css"]}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Source]:
        citing = (
            Evidence.objects.filter(source=OuterRef("pk"))
            .order_by()
            .values("source")
            .annotate(count=Count("pk"))
            .values("count")
        )
        return (
            super()
            .get_queryset(request)
            .annotate(evidence_count=Coalesce(Subquery(citing, output_field=IntegerField()), 0))
        )

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
        try:
            count = sources_refetch(actor=actor(request), sources=queryset.only("pk"))
        except DomainError as error:
            self.message_user(request, error.message, messages.ERROR)
            return
        self.message_user(
            request, f"Queued a fetch of {count} source{'s' if count != 1 else ''}.", messages.SUCCESS
        )

    @admin.display(description="fetch", ordering="outcome")
    def fetch(self, source: Source) -> str:
        return fetch_badge_with_reason(source)

    @admin.display(description="evidence citing it", ordering="evidence_count")
    def cited(self, source: Source) -> int:
        return getattr(source, "evidence_count", 0)

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
        every_claim = format_html(
            '<a href="{}?{}">Every claim citing this source</a>',
            reverse("admin:claims_claim_changelist"),
            urlencode({"source": source.pk}),
        )
        more = "… and more. " if len(evidence) > CITED_BY_SHOWN else ""
        return format_html("<ul>{}</ul><p>{}{}</p>", items, more, every_claim)


class SnapshotChangeList(ChangeList):
    def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> QuerySet[Any]:
        # The list never shows the extracted text or headers; a page of them would be megabytes.
        return super().get_queryset(request, exclude_parameters).defer("text", "headers")


@dataclass(frozen=True)
class _QuoteOnPage:
    evidence: Evidence
    mark: QuoteMark
    # For a quote not found: where the text comes closest, marked like a found quote.
    closest: QuoteMark | None = None
    similarity: float = 0.0


def _quotes(snapshot: Snapshot) -> list[_QuoteOnPage]:
    """The newest evidence citing the snapshot's source, each with where its quote is in this
    snapshot's text, or else the passage closest to it; computed once per page."""
    cached = snapshot.__dict__.get("_quotes")
    if cached is None:
        evidence = list(
            Evidence.objects.filter(source=snapshot.source_id)
            .select_related("claim")
            .order_by("-id")[:QUOTES_SHOWN]
        )
        # Folding the whole text is the slow part (about 1 s per MB): only for a closest passage.
        folded: FoldedText | None = None
        cached = []
        hints_left = CLOSEST_HINTS_SHOWN
        for row in evidence:
            mark = QuoteMark(
                label=f"Evidence #{row.pk} (claim #{row.claim_id})",
                anchor=f"quote-{row.pk}",
                spans=quote_spans(row.quote, snapshot.text),
            )
            closest = None
            if not mark.spans and hints_left > 0:
                hints_left -= 1
                if folded is None:
                    folded = FoldedText(snapshot.text)
                closest = folded.closest_passage(row.quote)
            if closest is None or closest.similarity < CLOSEST_SIMILARITY_MIN:
                cached.append(_QuoteOnPage(row, mark))
                continue
            hint = QuoteMark(
                label=(
                    f"Closest passage to evidence #{row.pk} (claim #{row.claim_id}), "
                    f"{closest.similarity:.0f}% similar"
                ),
                anchor=f"closest-{row.pk}",
                spans=[closest.span],
            )
            cached.append(_QuoteOnPage(row, mark, hint, closest.similarity))
        snapshot.__dict__["_quotes"] = cached
    return cached


def _in_this_snapshot(snapshot: Snapshot, quote: _QuoteOnPage) -> str:
    if quote.mark.spans:
        return format_html('{} <a href="#{}">show</a>', badge("found here", "ok"), quote.mark.anchor)
    missing = badge("not in this text", "bad")
    if quote.closest is None:
        return missing
    start, end = quote.closest.spans[0]
    return format_html(
        '{}<div class="closest-passage">Closest passage ({}% similar): <q>{}</q> '
        '<a href="#{}">show</a></div>',
        missing,
        f"{quote.similarity:.0f}",
        Truncator(snapshot.text[start:end]).chars(160),
        quote.closest.anchor,
    )


@admin.register(Snapshot)
class SnapshotAdmin(admin.ModelAdmin):
    list_display = ("source", "fetched_at", "outcome_shown", "change", "http_status", "short_sha256")
    list_filter = ("outcome", "change")
    list_select_related = ("source",)
    raw_id_fields = ("source",)
    search_fields = ("source__url", "=content_sha256")
    search_help_text = "Search the source URL, or paste a full SHA-256 of a body."
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    change_form_template = "admin/sources/snapshot/change_form.html"
    fieldsets = (
        (
            None,
            {"fields": ("source", "fetched_at", "outcome_shown", "change", "final_url", "http_status")},
        ),
        ("Quotes citing this source", {"fields": ("quotes_in_text",)}),
        ("Extracted text", {"fields": ("title", "author", "published", "highlighted_text")}),
        (
            "Request",
            {"fields": ("requested_url", "redirect_chain_display", "connected_ip")},
        ),
        (
            "Response",
            {
                "fields": (
                    "content_type",
                    "charset",
                    "headers_display",
                    "bytes_received",
                    "body_bytes",
                    "truncated",
                )
            },
        ),
        ("Integrity", {"fields": ("content_sha256", "stored_body", "text_sha256", "fetch_token")}),
    )
    readonly_fields = (
        "outcome_shown",
        "redirect_chain_display",
        "headers_display",
        "stored_body",
        "quotes_in_text",
        "highlighted_text",
        "fetched_at",
        "fetch_token",
    )

    class Media:
        css = {"all": ["verifier/admin.css"]}

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return SnapshotChangeList

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Snapshot | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Snapshot | None = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<path:object_id>/body/",
                self.admin_site.admin_view(self.body_view),
                name="sources_snapshot_body",
            ),
            *super().get_urls(),
        ]

    def body_view(self, request: HttpRequest, object_id: str) -> HttpResponseBase:
        """The raw body exactly as stored (its SHA-256 is content_sha256), always as a download."""
        snapshot = self.get_object(request, unquote(object_id))
        if snapshot is None:
            raise Http404("No such snapshot.")
        if not self.has_view_permission(request, snapshot):
            raise PermissionDenied
        if not snapshot.body.name or not default_storage.exists(snapshot.body.name):
            raise Http404("No body was kept for this snapshot.")
        if (mismatch := snapshot_body_check(snapshot=snapshot)) is not None:
            # Never served under a hash it no longer has; the alert names the way to repair it.
            self.message_user(
                request,
                f"The stored body does not match this snapshot's SHA-256 ({mismatch}); it is not "
                "served. Run manage.py verify_snapshots --repair.",
                level=messages.ERROR,
            )
            return HttpResponseRedirect(reverse("admin:sources_snapshot_change", args=[snapshot.pk]))
        # Served as opaque bytes, never as the page it may be: it is untrusted content.
        return snapshot_body_download(snapshot)

    @admin.display(description="outcome", ordering="outcome")
    def outcome_shown(self, snapshot: Snapshot) -> str:
        shown = outcome_badge(snapshot.outcome, snapshot.error_detail, snapshot.http_status)
        if not snapshot.error_detail:
            return shown
        return format_html('{}<small class="badge-reason">{}</small>', shown, snapshot.error_detail)

    @admin.display(description="SHA-256", ordering="content_sha256")
    def short_sha256(self, snapshot: Snapshot) -> str:
        return snapshot.content_sha256[:16] + "…" if snapshot.content_sha256 else "—"

    @admin.display(description="redirect chain")
    def redirect_chain_display(self, snapshot: Snapshot) -> str:
        if not snapshot.redirect_chain:
            return "— (no redirect)"
        return format_html("<pre>{}</pre>", json.dumps(snapshot.redirect_chain, indent=2))

    @admin.display(description="headers")
    def headers_display(self, snapshot: Snapshot) -> str:
        return format_html("<pre>{}</pre>", json.dumps(snapshot.headers, indent=2, sort_keys=True))

    @admin.display(description="raw body")
    def stored_body(self, snapshot: Snapshot) -> str:
        if not snapshot.body.name:
            return "— (no body kept)"
        return format_html(
            '<a href="{}" download>Download the raw body</a> ({} bytes, {}); its SHA-256 is the one'
            " above.",
            reverse("admin:sources_snapshot_body", args=[snapshot.pk]),
            snapshot.body_bytes,
            snapshot.content_type or "unknown type",
        )

    @admin.display(description="quotes")
    def quotes_in_text(self, snapshot: Snapshot) -> str:
        quotes = _quotes(snapshot)
        if not quotes:
            return "— (no evidence cites this source)"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    format_html(
                        '<a href="{}">claim #{}</a>',
                        reverse("admin:claims_claim_change", args=[quote.evidence.claim_id]),
                        quote.evidence.claim_id,
                    ),
                    Truncator(quote.evidence.quote).chars(160),
                    _in_this_snapshot(snapshot, quote),
                    (
                        quote.evidence.get_quote_status_display().lower()
                        if quote.evidence.quote_checked_snapshot_id == snapshot.pk
                        else "checked against another snapshot"
                    ),
                )
                for quote in quotes
            ),
        )
        return format_html(
            '<table class="panel-table"><thead><tr><th>Evidence</th><th>Quote</th>'
            "<th>In this snapshot</th><th>Recorded check</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )

    @admin.display(description="text")
    def highlighted_text(self, snapshot: Snapshot) -> str:
        if not snapshot.text:
            return "— (no text was extracted)"
        marks = [
            mark
            for quote in _quotes(snapshot)
            for mark in (quote.mark, quote.closest)
            if mark is not None and mark.spans
        ]
        return format_html('<div class="snapshot-text">{}</div>', highlight(snapshot.text, marks))
