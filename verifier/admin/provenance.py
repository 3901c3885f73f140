"""Admin for trusted timestamps (VERIFIER_TSA_URL): every token asked for, and what is still
missing — captures and packages whose token an outage kept from them, captures not asked for yet —
with a button that queues the sweep at once instead of waiting for beat. Tokens themselves are
written only by verifier.provenance.services."""

from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_POST

from verifier.admin.common import RecordAdmin
from verifier.provenance.models import TrustedTimestamp
from verifier.provenance.selectors import trusted_timestamps_missing
from verifier.provenance.services import trusted_timestamps_retry_enqueue


class StampedFilter(admin.SimpleListFilter):
    title = "token"
    parameter_name = "token"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("missing", "Missing"), ("stamped", "Stamped")]

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        if self.value() == "missing":
            return queryset.filter(token=b"")
        if self.value() == "stamped":
            return queryset.exclude(token=b"")
        return queryset


@admin.register(TrustedTimestamp)
class TrustedTimestampAdmin(RecordAdmin):
    change_list_template = "admin/provenance/trustedtimestamp/change_list.html"
    list_display = ("digest", "kind", "stamped", "stamped_at", "attempts", "last_error", "last_attempt_at")
    list_filter = (StampedFilter, "kind")
    search_fields = ("=digest",)
    show_full_result_count = False
    fields = (
        "digest",
        "kind",
        "stamped",
        "stamped_at",
        "attempts",
        "last_error",
        "last_attempt_at",
        "created_at",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> Any:
        # The DER tokens stay in the database; the list needs only whether there is one.
        return super().get_queryset(request).defer("token")

    @admin.display(description="stamped", boolean=True)
    def stamped(self, stamp: TrustedTimestamp) -> bool:
        return stamp.stamped_at is not None

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("retry/", view(require_POST(self.retry_view)), name="provenance_trustedtimestamp_retry"),
            *super().get_urls(),
        ]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        context = {
            "authority": settings.VERIFIER_TSA_URL,
            "missing": trusted_timestamps_missing() if settings.VERIFIER_TSA_URL else None,
            **(extra_context or {}),
        }
        return super().changelist_view(request, context)

    def retry_view(self, request: HttpRequest) -> HttpResponseRedirect:
        if not self.has_view_permission(request):
            raise PermissionDenied
        if not settings.VERIFIER_TSA_URL:
            self.message_user(
                request, "No timestamp authority is configured (VERIFIER_TSA_URL).", messages.ERROR
            )
        elif trusted_timestamps_retry_enqueue():
            self.message_user(
                request, "Queued: every missing token is asked for again now.", messages.SUCCESS
            )
        else:
            self.message_user(
                request,
                "The task queue is unreachable; the beat sweep will ask again later.",
                messages.WARNING,
            )
        return HttpResponseRedirect(reverse("admin:provenance_trustedtimestamp_changelist"))
