"""Admin for the records around a claim: claimants, tags, and the evidence list across claims."""

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from claims.models import Claimant, Evidence, Tag
from core.errors import DomainError
from verifier.admin.badges import fetch_badge, quote_badge
from verifier.admin.forms import ClaimantForm, TagChangeForm
from verifier.admin.verdicts import HistoryAdmin
from verifier.services.claims import claimant_update, tag_change_refusal, tag_update


class PublicRecordAdmin(admin.ModelAdmin):
    """Saves a change through the service that refuses it while a published claim shows the
    record; the form names the refusal first, this catches a claim published in between."""

    # Each admin's call of its service with the form's cleaned data.
    record_update: Callable[[Any, dict[str, Any]], None]

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as error:
            self.message_user(request, error.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm, change: bool) -> None:
        if not change:
            obj.save()
            return
        self.record_update(obj, form.cleaned_data)
        obj.refresh_from_db()


@admin.register(Claimant)
class ClaimantAdmin(PublicRecordAdmin):
    form = ClaimantForm
    list_display = ("name", "url")
    search_fields = ("name",)
    show_full_result_count = False

    def record_update(self, obj: Claimant, data: dict[str, Any]) -> None:
        claimant_update(claimant=obj, name=data["name"], url=data["url"])


@admin.register(Tag)
class TagAdmin(PublicRecordAdmin):
    form = TagChangeForm
    list_display = ("name", "slug")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    show_full_result_count = False

    def record_update(self, obj: Tag, data: dict[str, Any]) -> None:
        tag_update(tag=obj, name=data["name"], slug=data["slug"])

    def has_delete_permission(self, request: HttpRequest, obj: Tag | None = None) -> bool:
        # Deleting the tag would take it off the published claims that show it (the claimant's
        # foreign key protects it already); the list's bulk delete asks this for every tag.
        if obj is not None and tag_change_refusal(obj) is not None:
            return False
        return super().has_delete_permission(request, obj)


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
