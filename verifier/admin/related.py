"""Admin for the records around a claim: claimants, tags, and the evidence list across claims."""

from django.contrib import admin
from django.http import HttpRequest

from claims.models import Claimant, Evidence, Tag
from verifier.admin.badges import fetch_badge, quote_badge
from verifier.admin.forms import ClaimantForm
from verifier.admin.verdicts import HistoryAdmin


@admin.register(Claimant)
class ClaimantAdmin(admin.ModelAdmin):
    form = ClaimantForm
    list_display = ("name", "url")
    search_fields = ("name",)
    show_full_result_count = False


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name", "slug")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    show_full_result_count = False


@admin.register(Evidence)
class EvidenceAdmin(HistoryAdmin):
    """All evidence across claims, to find e.g. every quote not found; changed only on its claim."""

    list_display = ("claim", "source", "stance", "fetch", "quote_check", "author", "created_at")
    list_filter = ("quote_status", "stance")
    list_select_related = ("claim", "source", "author")
    search_fields = ("quote", "source__url")
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    raw_id_fields = ("claim", "source", "quote_checked_snapshot")

    class Media:
        css = {"all": ["verifier/admin.css"]}

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Evidence | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Evidence | None = None) -> bool:
        return False

    @admin.display(description="fetch")
    def fetch(self, evidence: Evidence) -> str:
        return fetch_badge(evidence.source)

    @admin.display(description="quote", ordering="quote_status")
    def quote_check(self, evidence: Evidence) -> str:
        return quote_badge(evidence)
