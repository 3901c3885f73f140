"""Bulk actions of the claim list. Each calls a service; assign and tag first ask, on an
intermediate page, whom to assign or which tags to add."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from claims.models import Claim
from claims.selectors import assignable_users
from claims.services import claims_refetch_sources
from core.errors import DomainError
from verifier.admin.common import actor
from verifier.csv_io import claims_csv_lines
from verifier.selectors.workflow import claims_for_export
from verifier.services.claims import BulkResult, claims_assign, claims_tag

# Each claim changes in its own transaction with its own history; past this, ask for a narrower
# selection rather than hold a request open for minutes.
BULK_ACTION_LIMIT = 1000
_APPLY = "apply"
_REFUSALS_LISTED = 10


class AssignForm(forms.Form):
    assignee: forms.ModelChoiceField = forms.ModelChoiceField(
        queryset=None,  # set per request: the team changes
        required=False,
        empty_label="Nobody (unassign)",
        label="Assign to",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = assignable_users()  # type: ignore[attr-defined]


class TagForm(forms.Form):
    tags = forms.CharField(
        max_length=500,
        label="Tags to add",
        help_text="Separate tags with commas; new tags are created.",
        widget=forms.TextInput(attrs={"size": 60, "autofocus": True}),
    )

    def tag_names(self) -> list[str]:
        return [" ".join(name.split()) for name in self.cleaned_data["tags"].split(",") if name.strip()]


def _plainly(queryset: QuerySet[Claim]) -> QuerySet[Claim]:
    """The selected claims without the list's annotations and prefetches, for a service."""
    return Claim.objects.filter(pk__in=queryset.values("pk"))


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _within_limit(model_admin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Claim]) -> bool:
    if _plainly(queryset).count() <= BULK_ACTION_LIMIT:
        return True
    model_admin.message_user(
        request,
        f"Select at most {BULK_ACTION_LIMIT} claims for this action; narrow the list with the filters.",
        messages.ERROR,
    )
    return False


def _report(model_admin: admin.ModelAdmin, request: HttpRequest, result: BulkResult, done: str) -> None:
    if result.changed:
        model_admin.message_user(
            request, f"{done}: {_plural(len(result.changed), 'claim')}.", messages.SUCCESS
        )
    if result.unchanged:
        model_admin.message_user(
            request, f"{_plural(len(result.unchanged), 'claim')} already as asked.", messages.INFO
        )
    if result.refused:
        listed = "; ".join(f"#{claim.pk}: {reason}" for claim, reason in result.refused[:_REFUSALS_LISTED])
        more = " …" if len(result.refused) > _REFUSALS_LISTED else ""
        model_admin.message_user(
            request,
            f"{_plural(len(result.refused), 'claim')} left unchanged. {listed}{more}",
            messages.WARNING,
        )


def _ask(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet[Claim],
    *,
    form: forms.Form,
    action: str,
    title: str,
    button: str,
) -> TemplateResponse:
    """The intermediate page: posts back to the list with the same selection and the answer."""
    opts = model_admin.model._meta
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "subtitle": None,
        "opts": opts,
        "app_label": opts.app_label,
        "form": form,
        "action": action,
        "button": button,
        "apply": _APPLY,
        "claims": list(_plainly(queryset).select_related("claimant").order_by("pk")[:20]),
        "count": _plainly(queryset).count(),
        "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
        "select_across": request.POST.get("select_across", "0"),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "media": model_admin.media + form.media,
    }
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, "admin/claims/claim/bulk_action.html", context)


@admin.action(description="Assign selected claims to a fact-checker…", permissions=["work"])
def assign(model_admin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Claim]) -> Any:
    if not _within_limit(model_admin, request, queryset):
        return None
    form = AssignForm(request.POST if _APPLY in request.POST else None)
    if not form.is_bound or not form.is_valid():
        return _ask(
            model_admin, request, queryset, form=form, action="assign",
            title="Assign claims", button="Assign",
        )
    assignee = form.cleaned_data["assignee"]
    try:
        result = claims_assign(actor=actor(request), claims=_plainly(queryset), assignee=assignee)
    except DomainError as error:
        model_admin.message_user(request, error.message, messages.ERROR)
        return None
    _report(
        model_admin, request, result, f"Assigned to {assignee.get_username()}" if assignee else "Unassigned"
    )
    return None


@admin.action(description="Add tags to selected claims…", permissions=["work"])
def tag(model_admin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Claim]) -> Any:
    if not _within_limit(model_admin, request, queryset):
        return None
    form = TagForm(request.POST if _APPLY in request.POST else None)
    if not form.is_bound or not form.is_valid():
        return _ask(
            model_admin, request, queryset, form=form, action="tag",
            title="Add tags to claims", button="Add tags",
        )
    try:
        result = claims_tag(actor=actor(request), claims=_plainly(queryset), tag_names=form.tag_names())
    except DomainError as error:
        model_admin.message_user(request, error.message, messages.ERROR)
        return None
    _report(model_admin, request, result, f"Tagged “{', '.join(form.tag_names())}”")
    return None


@admin.action(description="Re-fetch the sources of selected claims", permissions=["work"])
def refetch_sources(model_admin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Claim]) -> None:
    if not _within_limit(model_admin, request, queryset):
        return
    try:
        count = claims_refetch_sources(actor=actor(request), claims=_plainly(queryset))
    except DomainError as error:
        model_admin.message_user(request, error.message, messages.ERROR)
        return
    model_admin.message_user(
        request, f"Queued a fetch of {_plural(count, 'source')}.", messages.SUCCESS
    )


def csv_download(lines: Any, name: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    return response


@admin.action(description="Export selected claims (CSV)", permissions=["view"])
def export_csv(
    model_admin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Claim]
) -> StreamingHttpResponse:
    claims = claims_for_export(_plainly(queryset)).iterator(chunk_size=500)
    return csv_download(claims_csv_lines(claims, published=False), "claims")
