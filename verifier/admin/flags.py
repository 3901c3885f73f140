"""Source flag entries in the admin: the claim page's panel (each entry with its diff, and for open
ones "dismiss" and "start a correction"), and a read-only list of every entry.

The two actions post to views of the claim admin (verifier.admin.claim), which call
verifier.services.flags.source_flag_dismiss and verifier.services.verdicts.source_flag_correct.
"""

from collections.abc import Callable
from typing import Any, Protocol

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from claims.models import Claim
from core.errors import DomainError
from core.roles import is_fact_checker
from verifier.admin.common import actor, record_id
from verifier.models import SourceFlag
from verifier.selectors.flags import TextDiff, claim_flags, source_flag_diff
from verifier.services.flags import source_flag_dismiss
from verifier.services.verdicts import source_flag_correct


class WorkflowActions(Protocol):
    """The claim admin's runner of a posted workflow step (verifier.admin.claim.ClaimAdmin)."""

    def _workflow_action(
        self, request: HttpRequest, object_id: str, act: Callable[[Claim], str], anchor: str = ...
    ) -> HttpResponse: ...


def flags_context(request: HttpRequest, claim: Claim) -> dict[str, Any]:
    """What the claim page's flag panel shows: every entry, with the diff of each open one."""
    entries = [
        (flag, source_flag_diff(flag) if flag.state == SourceFlag.State.OPEN else None)
        for flag in claim_flags(claim)
    ]
    return {"flag_entries": entries, "can_resolve_flags": is_fact_checker(request.user)}


def diff_html(diff: TextDiff) -> SafeString:
    """The diff as the claim page and the entry's admin page show it."""
    # The template escapes every text it shows.
    return mark_safe(render_to_string("admin/claims/claim/flag_diff.html", {"diff": diff}))


def _open_flag(claim: Claim, request: HttpRequest) -> SourceFlag:
    flag_id = record_id(request.POST.get("flag"))
    flag = SourceFlag.objects.filter(claim=claim, pk=flag_id).first() if flag_id is not None else None
    if flag is None:
        raise DomainError.not_found("That flag is not on this claim.")
    return flag


def flag_dismiss_view(model_admin: WorkflowActions, request: HttpRequest, object_id: str) -> HttpResponse:
    def dismiss(claim: Claim) -> str:
        flag = source_flag_dismiss(
            actor=actor(request), flag=_open_flag(claim, request), comment=request.POST.get("comment", "")
        )
        return f"Dismissed the flag on {flag.source.url}: checked, the verdict is still valid."

    return model_admin._workflow_action(request, object_id, dismiss, anchor="flags")


def flag_correct_view(model_admin: WorkflowActions, request: HttpRequest, object_id: str) -> HttpResponse:
    def correct(claim: Claim) -> str:
        verdict = source_flag_correct(actor=actor(request), flag=_open_flag(claim, request))
        return (
            f"Correction started (version {verdict.version}): edit the verdict, write the correction "
            "note and submit it. The flag closes when the correction is approved."
        )

    return model_admin._workflow_action(request, object_id, correct)


@admin.register(SourceFlag)
class SourceFlagAdmin(admin.ModelAdmin):
    """Every flag entry, read-only: they are raised by re-checks and closed on the claim page."""

    list_display = ("detected_at", "claim_link", "source", "kind", "state", "resolved_by")
    list_filter = ("state", "kind")
    list_select_related = ("claim", "source", "resolved_by")
    ordering = ("-detected_at", "-id")
    show_full_result_count = False
    fields = (
        "claim_link",
        "source",
        "kind",
        "state",
        "detected_at",
        "approved_snapshot",
        "new_snapshot",
        "resolved_by",
        "resolved_at",
        "comment",
        "correction",
        "text_diff",
    )
    readonly_fields = fields

    class Media:
        css = {"all": ["verifier/admin.css"]}

    def get_queryset(self, request: HttpRequest) -> QuerySet[SourceFlag]:
        return super().get_queryset(request).defer("approved_snapshot__text", "new_snapshot__text")

    # The desk reads them; only the services write them.
    def has_view_permission(self, request: HttpRequest, obj: SourceFlag | None = None) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: SourceFlag | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: SourceFlag | None = None) -> bool:
        return False

    @admin.display(description="claim")
    def claim_link(self, flag: SourceFlag) -> str:
        url = reverse("admin:claims_claim_change", args=[flag.claim_id])
        return format_html('<a href="{}#flags">Claim #{}</a>', url, flag.claim_id)

    @admin.display(description="approved text → new text")
    def text_diff(self, flag: SourceFlag) -> SafeString:
        return diff_html(source_flag_diff(flag))
