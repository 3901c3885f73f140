"""The claim admin: the list fact-checkers and reviewers work from, and the claim page with its
evidence, verdict workflow, review log and field history.

Every write goes through a service (verifier.services, claims.services); this module parses what
was posted, calls the service, and shows its answer (or its refusal) as a message.
"""

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import get_content_type_for_model
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db.models import ForeignKey, QuerySet
from django.forms import ModelChoiceField, ModelForm
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
    JsonResponse,
)
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator

from claims.models import Claim, Evidence
from claims.selectors import (
    assignable_users,
    claims_matching_text,
    evidence_at_a_glance,
    evidence_awaits_check,
)
from claims.services import evidence_refetch_source
from core.errors import DomainError
from core.roles import is_fact_checker, is_reviewer
from verifier.admin import bulk
from verifier.admin.badges import attention_badges
from verifier.admin.common import actor, record_id, rule, safe_next
from verifier.admin.filters import (
    AssigneeFilter,
    CitesSourceFilter,
    ClaimantFilter,
    QuoteNotFoundFilter,
    RatingFilter,
    SourceChangedFilter,
)
from verifier.admin.flags import flag_correct_view, flag_dismiss_view, flags_context
from verifier.admin.forms import VerdictDraftForm
from verifier.admin.inlines import (
    LIVE_STATUS_FIELDS,
    EvidenceAddInline,
    EvidenceInline,
    NewEvidenceFormSet,
    evidence_fetch_cell,
    evidence_quote_cell,
)
from verifier.admin.my_work import my_work_view
from verifier.admin.paging import LargeTableChangeList, LargeTablePaging
from verifier.admin.review_queue import review_queue_view
from verifier.admin.similar import similar_claims_block, similar_claims_message, similar_claims_view
from verifier.admin.transfer import export_published_view, import_view
from verifier.admin.verdicts import HistoryAdmin
from verifier.models import Verdict
from verifier.selectors.attention import (
    PublishingWarning,
    claim_changes_request,
    claim_publishing_warnings,
)
from verifier.selectors.verdicts import claim_open_verdict
from verifier.selectors.workflow import (
    claim_field_history,
    claim_review_log,
    claim_verdicts,
    claims_for_list,
    verdict_changes,
)
from verifier.services.claims import CLAIM_UPDATE_FIELDS, claim_create, claim_frozen_fields, claim_update
from verifier.services.evidence import (
    evidence_add,
    evidence_change_refusal,
    evidence_remove,
    evidence_update,
)
from verifier.services.verdicts import (
    claim_request_changes,
    claim_submit,
    claim_submit_refusal,
    verdict_approve,
    verdict_four_eyes_refusal,
    verdict_save_draft,
)

# claim_update's field names as the admin form names them.
_FORM_FIELD = {"claimant_name": "claimant"}


def _frozen_form_fields(claim: Claim) -> dict[str, str]:
    frozen = rule(claim, "frozen", claim_frozen_fields)
    return {_FORM_FIELD.get(field, field): reason for field, reason in frozen.items()}


def _edit_lock(claim: Claim) -> str | None:
    """The reason nothing of the claim can be edited now (it is in review), or None."""
    frozen = rule(claim, "frozen", claim_frozen_fields)
    if set(CLAIM_UPDATE_FIELDS) <= set(frozen):
        return frozen[CLAIM_UPDATE_FIELDS[0]]
    return None


class ClaimChangeList(LargeTableChangeList):
    def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> QuerySet[Claim]:
        # What the list columns show, loaded with the page; the claim page loads its own.
        return claims_for_list(super().get_queryset(request, exclude_parameters))


@admin.register(Claim)
class ClaimAdmin(LargeTablePaging, HistoryAdmin):
    list_display = (
        "claim_text",
        "claimant_link",
        "status",
        "latest_verdict",
        "tag_list",
        "assignee",
        "attention",
        "updated",
    )
    list_filter = (
        "status",
        RatingFilter,
        ClaimantFilter,
        ("tags", admin.RelatedFieldListFilter),
        AssigneeFilter,
        SourceChangedFilter,
        QuoteNotFoundFilter,
        CitesSourceFilter,
    )
    list_select_related = ("claimant", "assignee")
    list_per_page = 50
    # Newest first on the primary key's index: no sort of the whole table for a page.
    ordering = ("-id",)
    search_fields = ("text", "claimant__name")
    search_help_text = "Words of the claim's text or the claimant's name."
    show_full_result_count = False
    # Counting every filter choice over the whole table is exactly what this list avoids.
    show_facets = admin.ShowFacets.NEVER
    autocomplete_fields = ("claimant", "tags", "same_as")
    actions = (bulk.assign, bulk.tag, bulk.refetch_sources, bulk.export_csv)
    inlines = (EvidenceInline, EvidenceAddInline)
    claim_fields = (
        "text", "similar_claims", "claimant", ("claim_date", "appearance_url"), "tags", "assignee",
        ("language", "same_as"),
    )
    workflow_fields = (
        "status",
        "published_at",
        "source_flag_reason",
        "created_by",
        "created_at",
        "updated_at",
    )

    class Media:
        css = {"all": ["verifier/admin.css"]}
        js = ["verifier/live_status.js", "verifier/similar_claims.js"]

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return ClaimChangeList

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Claim], search_term: str
    ) -> tuple[QuerySet[Claim], bool]:
        # The read API's search: full text on PostgreSQL, using its indexes (a substring match
        # scans every claim), and a substring match of each word elsewhere.
        if not search_term.strip():
            return queryset, False
        return claims_matching_text(queryset, search_term), False

    def get_inlines(self, request: HttpRequest, obj: Claim | None) -> tuple[type, ...]:
        # A claim being added has no recorded evidence to show yet.
        return (EvidenceAddInline,) if obj is None else (EvidenceInline, EvidenceAddInline)

    def get_fieldsets(self, request: HttpRequest, obj: Claim | None = None) -> Any:
        if obj is None:
            return [(None, {"fields": self.claim_fields})]
        return [
            (None, {"fields": self.claim_fields}),
            ("Workflow", {"fields": self.workflow_fields}),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Claim | None = None) -> Any:
        if obj is None:
            return ("similar_claims",)
        return ("similar_claims", *self.workflow_fields, *_frozen_form_fields(obj))

    def formfield_for_foreignkey(
        self, db_field: ForeignKey, request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField | None:
        if db_field.name == "assignee":
            # A short list of the team; an autocomplete would need view access to all users.
            kwargs["queryset"] = assignable_users()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {"assignee": request.user.pk, **super().get_changeform_initial_data(request)}

    def has_change_permission(self, request: HttpRequest, obj: Claim | None = None) -> bool:
        if not super().has_change_permission(request, obj):
            return False
        # In review, the claim page is read-only until a reviewer decides.
        return obj is None or _edit_lock(obj) is None

    def has_delete_permission(self, request: HttpRequest, obj: Claim | None = None) -> bool:
        # The review log keeps every claim it mentions; there is nothing to delete.
        return False

    def has_work_permission(self, request: HttpRequest) -> bool:
        """Fact-checkers' bulk actions (assign, tag, re-fetch); the services check again."""
        return is_fact_checker(request.user)

    def view_on_site(self, claim: Claim) -> str | None:
        # Only a published claim has a public page.
        if claim.published_at is None:
            return None
        return reverse(
            "admin:view_on_site",
            kwargs={"content_type_id": get_content_type_for_model(claim).pk, "object_id": claim.pk},
            current_app=self.admin_site.name,
        )

    # The list's columns.

    def action_checkbox(self, obj: Claim) -> str:
        # Django's markup, written directly: rendering a CheckboxInput through the form renderer
        # for every row is a third of the time of a page of fifty claims.
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME,
            obj.pk,
            format_html("Select this object for an action - {}", str(obj)),
        )

    @admin.display(description="claim", ordering="text")
    def claim_text(self, claim: Claim) -> str:
        return Truncator(claim.text).chars(100)

    @admin.display(description="claimant", ordering="claimant__name")
    def claimant_link(self, claim: Claim) -> str:
        return format_html(
            '<a href="?{}" title="Only claims by {}">{}</a>',
            urlencode({"claimant": claim.claimant.name}),
            claim.claimant.name,
            claim.claimant.name,
        )

    @admin.display(description="latest verdict")
    def latest_verdict(self, claim: Claim) -> str:
        rating: str | None = getattr(claim, "latest_rating", None)
        state: str | None = getattr(claim, "latest_verdict_state", None)
        if state is None:
            return "—"
        if state == Verdict.State.APPROVED:
            return rating or "—"
        return f"{rating or '—'} ({Verdict.State(state).label.lower()})"

    @admin.display(description="tags")
    def tag_list(self, claim: Claim) -> str:
        tags = getattr(claim, "listed_tags", None)
        if tags is None:
            tags = list(claim.tags.all())
        return ", ".join(tag.name for tag in tags) or "—"

    @admin.display(description="attention")
    def attention(self, claim: Claim) -> str:
        return attention_badges(claim)

    @admin.display(description="updated", ordering="updated_at")
    def updated(self, claim: Claim) -> str:
        return f"{timezone.localtime(claim.updated_at):%Y-%m-%d %H:%M}"

    @admin.display(description="similar claims")
    def similar_claims(self, claim: Claim | None) -> str:
        return similar_claims_block(self, claim if claim is not None and claim.pk else None)

    @admin.display(description="source flag")
    def source_flag_reason(self, claim: Claim) -> str:
        if not claim.source_flag:
            return "—"
        return f"{claim.source_flag} (flagged {claim.source_flagged_at:%Y-%m-%d %H:%M})"

    # Saving: the services write, the admin only translates the form.

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if request.method == "POST" and object_id is not None:
            claim = self.get_object(request, unquote(object_id))
            lock = None if claim is None else _edit_lock(claim)
            if lock is not None and super().has_change_permission(request, claim):
                # Someone submitted the claim since this page was loaded: say so, keep nothing.
                self.message_user(request, lock, messages.ERROR)
                return HttpResponseRedirect(request.get_full_path())
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as error:
            if request.method != "POST":
                raise
            # The admin ran the save in one transaction, so none of it was kept: the page comes
            # back with every edit still in its fields and the service's reason on the form.
            request._claim_save_refusal = error  # type: ignore[attr-defined]
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(
        self, request: HttpRequest, obj: Claim | None = None, change: bool = False, **kwargs: Any
    ) -> type[ModelForm]:
        form = super().get_form(request, obj, change, **kwargs)
        refusal: DomainError | None = getattr(request, "_claim_save_refusal", None)
        if refusal is None:
            return form
        return type(form.__name__, (form,), {"clean": _refused_clean(form, refusal)})

    def save_model(self, request: HttpRequest, obj: Claim, form: ModelForm, change: bool) -> None:
        data = form.cleaned_data
        if not change:
            claim = claim_create(
                actor=actor(request),
                text=data["text"],
                claimant_name=data["claimant"].name,
                claim_date=data.get("claim_date"),
                appearance_url=data.get("appearance_url", ""),
                tags=[tag.name for tag in data.get("tags", ())],
                assignee=data.get("assignee"),
                language=data.get("language", ""),
                same_as=data.get("same_as"),
            )
            # The admin goes on with `obj` (inlines, log entry, redirect): make it the new claim.
            obj.pk = claim.pk
            obj._state.adding = False
            obj.refresh_from_db()
            self._say_if_already_recorded(request, obj)
            return
        changes: dict[str, Any] = {}
        for name in form.changed_data:
            if name == "claimant":
                changes["claimant_name"] = data["claimant"].name
            elif name == "tags":
                changes["tags"] = [tag.name for tag in data["tags"]]
            else:
                changes[name] = data[name]
        if changes:
            claim_update(actor=actor(request), claim=obj, **changes)
        obj.refresh_from_db()
        if "text" in changes:
            self._say_if_already_recorded(request, obj)

    def _say_if_already_recorded(self, request: HttpRequest, claim: Claim) -> None:
        message = similar_claims_message(self, claim)
        if message is not None:
            self.message_user(request, message, messages.WARNING)

    def save_related(self, request: HttpRequest, form: ModelForm, formsets: Any, change: bool) -> None:
        # Not form.save_m2m(): claim_create and claim_update already set the tags.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)
        if change:
            # Every button of the claim page posts the whole page: the claim and its evidence are
            # saved above, then the verdict and what the button asks for, in the same transaction.
            request._claim_page_done = self._save_verdict_and_act(  # type: ignore[attr-defined]
                request, form.instance
            )

    def _save_verdict_and_act(self, request: HttpRequest, claim: Claim) -> list[str]:
        done = []
        verdict_form = _verdict_form(request, claim)
        wants_verdict = SAVE_VERDICT in request.POST
        submitting = SUBMIT in request.POST
        if verdict_form is not None and (wants_verdict or submitting or verdict_form.has_changed()):
            done.append(_verdict_save(request, claim, verdict_form))
        if submitting:
            claim_submit(actor=actor(request), claim=claim, comment=request.POST.get("comment", ""))
            done.append("Submitted the verdict for review.")
            # As submit_view: the warnings follow (they never stop a submission).
            request._claim_page_warnings = [  # type: ignore[attr-defined]
                f"Warning: {warning.message}" for warning in claim_publishing_warnings(claim)
            ]
        refetch = request.POST.get(REFETCH)
        if refetch is not None:
            done.append(_refetch(request, claim, refetch))
        return done

    def response_change(self, request: HttpRequest, obj: Claim) -> HttpResponse:
        done: list[str] = getattr(request, "_claim_page_done", [])
        anchor = next((a for button, a in _BUTTON_ANCHORS.items() if button in request.POST), None)
        if anchor is not None and not done:
            done = ["Saved the claim."]
        for message in done:
            self.message_user(request, message, messages.SUCCESS)
        for warning in getattr(request, "_claim_page_warnings", []):
            self.message_user(request, warning, messages.WARNING)
        if anchor is None:
            return super().response_change(request, obj)
        change_url = reverse(
            "admin:claims_claim_change", args=[obj.pk], current_app=self.admin_site.name
        )
        return HttpResponseRedirect(f"{change_url}#{anchor}")

    def save_formset(self, request: HttpRequest, form: ModelForm, formset: Any, change: bool) -> None:
        claim = form.instance
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for evidence_form in formset.deleted_forms:
            evidence_remove(actor=actor(request), evidence=evidence_form.instance)
            formset.deleted_objects.append(evidence_form.instance)
        if not isinstance(formset, NewEvidenceFormSet):
            for evidence_form in formset.initial_forms:
                if evidence_form in formset.deleted_forms or not evidence_form.has_changed():
                    continue
                data = evidence_form.cleaned_data
                formset.changed_objects.append(
                    (
                        evidence_update(
                            actor=actor(request),
                            evidence=evidence_form.instance,
                            quote=data["quote"],
                            stance=data["stance"],
                            note=data.get("note", ""),
                        ),
                        evidence_form.changed_data,
                    )
                )
            return
        for evidence_form in formset.extra_forms:
            if not evidence_form.has_changed():
                continue
            data = evidence_form.cleaned_data
            formset.new_objects.append(
                evidence_add(
                    actor=actor(request),
                    claim=claim,
                    url=data["url"],
                    quote=data["quote"],
                    stance=data["stance"],
                    note=data.get("note", ""),
                )
            )

    # The claim page: the verdict workflow, the review log and the field history.

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Claim | None = None,
    ) -> HttpResponse:
        if obj is not None:
            context.update(self._workflow_context(request, obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _workflow_context(self, request: HttpRequest, claim: Claim) -> dict[str, Any]:
        user = request.user
        verdicts = claim_verdicts(claim)
        open_verdict = next((v for v in verdicts if v.state != Verdict.State.APPROVED), None)
        published_verdict = next((v for v in verdicts if v.state == Verdict.State.APPROVED), None)
        in_review = open_verdict is not None and open_verdict.state == Verdict.State.IN_REVIEW
        drafting = open_verdict is None or open_verdict.state == Verdict.State.DRAFT
        reviewing = in_review and is_reviewer(user)
        four_eyes = (
            verdict_four_eyes_refusal(actor=actor(request), verdict=open_verdict)
            if reviewing and open_verdict is not None
            else None
        )
        draft_form = None
        if drafting and is_fact_checker(user):
            draft_form = _draft_verdict_form(
                request, open_verdict or published_verdict, correcting=published_verdict is not None
            )
        can_submit = draft_form is not None and open_verdict is not None
        changes = None
        if open_verdict is not None and published_verdict is not None:
            changes = verdict_changes(
                published=published_verdict,
                proposed=open_verdict,
                evidence=list(evidence_at_a_glance().filter(claim=claim)),
            )
        edit_lock = _edit_lock(claim)
        notices: list[str] = []
        if is_fact_checker(user):
            # Why parts of the page cannot be edited, in the services' words.
            if edit_lock is not None:
                notices.append(edit_lock)
            else:
                notices.extend(sorted(set(_frozen_form_fields(claim).values())))
                evidence_refusal = rule(claim, "evidence_change", evidence_change_refusal)
                if evidence_refusal is not None:
                    notices.append(evidence_refusal)
        warnings = (
            claim_publishing_warnings(claim)
            if open_verdict is not None and (can_submit or reviewing)
            else []
        )
        context: dict[str, Any] = {
            "workflow": True,
            "changes_request": claim_changes_request(claim),
            "publishing_warnings": warnings,
            "open_verdict": open_verdict,
            "published_verdict": published_verdict,
            "verdicts": verdicts,
            "verdict_form": draft_form,
            "verdict_changes": changes,
            "can_submit": can_submit,
            "submit_refusal": (
                claim_submit_refusal(claim=claim, verdict=open_verdict)
                if can_submit and open_verdict is not None
                else None
            ),
            "can_review": reviewing,
            "can_approve": reviewing and four_eyes is None,
            "four_eyes_reason": four_eyes,
            "can_refetch": is_fact_checker(user),
            "notices": notices,
            "review_log": claim_review_log(claim),
            "field_history": claim_field_history(claim),
            "history_url": reverse(
                "admin:claims_claim_history", args=[claim.pk], current_app=self.admin_site.name
            ),
            "live_status_fields": LIVE_STATUS_FIELDS,
            "live_status_pending": any(
                evidence_awaits_check(evidence)
                for evidence in evidence_at_a_glance().filter(claim=claim)
            ),
            **flags_context(request, claim),
        }
        for action in (
            "verdict", "submit", "approve", "request_changes", "refetch", "live_status", "flag_dismiss",
            "flag_correct",
        ):
            context[f"{action}_url"] = reverse(
                f"admin:claims_claim_{action}", args=[claim.pk], current_app=self.admin_site.name
            )
        return context

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view

        def bound(function: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
            return view(lambda request, *args, **kwargs: function(self, request, *args, **kwargs))

        return [
            path("review-queue/", bound(review_queue_view), name="claims_claim_review_queue"),
            path("my-work/", bound(my_work_view), name="claims_claim_my_work"),
            path("import/", bound(import_view), name="claims_claim_import"),
            path("similar/", bound(similar_claims_view), name="claims_claim_similar"),
            path(
                "export-published/",
                bound(export_published_view),
                name="claims_claim_export_published",
            ),
            path("<path:object_id>/verdict/", view(self.verdict_view), name="claims_claim_verdict"),
            path("<path:object_id>/submit/", view(self.submit_view), name="claims_claim_submit"),
            path("<path:object_id>/approve/", view(self.approve_view), name="claims_claim_approve"),
            path(
                "<path:object_id>/request-changes/",
                view(self.request_changes_view),
                name="claims_claim_request_changes",
            ),
            path("<path:object_id>/refetch/", view(self.refetch_view), name="claims_claim_refetch"),
            path(
                "<path:object_id>/live-status/",
                view(self.live_status_view),
                name="claims_claim_live_status",
            ),
            path(
                "<path:object_id>/flag-dismiss/", bound(flag_dismiss_view), name="claims_claim_flag_dismiss"
            ),
            path(
                "<path:object_id>/flag-correct/", bound(flag_correct_view), name="claims_claim_flag_correct"
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        extra_context = {
            **(extra_context or {}),
            "can_import": is_fact_checker(request.user),
            # The list needs the width: at 1366 px the models sidebar pushed the Assignee,
            # Attention and Updated columns off screen (the breadcrumbs lead to the other models).
            "is_nav_sidebar_enabled": False,
        }
        return super().changelist_view(request, extra_context)

    def _workflow_action(
        self,
        request: HttpRequest,
        object_id: str,
        act: Callable[[Claim], str],
        anchor: str = "verdict",
        *,
        warn: bool = False,
        confirm: Callable[[Claim], HttpResponse | None] | None = None,
    ) -> HttpResponse:
        """Runs one workflow step from a POSTed button; the service's refusal becomes a message.

        `warn`: once done, the claim's publishing warnings follow as messages (they never stop the
        step). `confirm`: a page to answer with instead, asking before anything is done, or None
        to go ahead. Returns to the `next` page the form names (the review queue), else to
        `anchor` on the claim page.
        """
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        claim = self.get_object(request, unquote(object_id))
        if claim is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_permission(request, claim):
            raise PermissionDenied
        question = confirm(claim) if confirm is not None else None
        if question is not None:
            return question
        try:
            done = act(claim)
        except DomainError as error:
            self.message_user(request, error.message, messages.ERROR)
        else:
            self.message_user(request, done, messages.SUCCESS)
            for warning in claim_publishing_warnings(claim) if warn else ():
                self.message_user(request, f"Warning: {warning.message}", messages.WARNING)
        change_url = reverse(
            "admin:claims_claim_change", args=[claim.pk], current_app=self.admin_site.name
        )
        return HttpResponseRedirect(safe_next(request, f"{change_url}#{anchor}"))

    def verdict_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        def save_draft(claim: Claim) -> str:
            form = VerdictDraftForm(request.POST, correcting=claim.published_at is not None)
            return _verdict_save(request, claim, form)

        return self._workflow_action(request, object_id, save_draft)

    def submit_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        def submit(claim: Claim) -> str:
            claim_submit(actor=actor(request), claim=claim, comment=request.POST.get("comment", ""))
            return "Submitted the verdict for review."

        return self._workflow_action(request, object_id, submit, warn=True)

    def approve_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        def approve(claim: Claim) -> str:
            verdict = verdict_approve(
                actor=actor(request), claim=claim, comment=request.POST.get("comment", "")
            )
            return f"Approved and published verdict version {verdict.version} of claim #{claim.pk}."

        def ask_first(claim: Claim) -> HttpResponse | None:
            # A reviewer approving with warnings they were not shown (from the queue, or that
            # appeared since the claim page was loaded) confirms on a page listing them.
            # Nothing to confirm when the service will refuse anyway: it says why.
            verdict = claim_open_verdict(claim)
            if (
                not is_reviewer(request.user)
                or verdict is None
                or verdict.state != Verdict.State.IN_REVIEW
                or verdict_four_eyes_refusal(actor=actor(request), verdict=verdict) is not None
            ):
                return None
            warnings = claim_publishing_warnings(claim)
            acknowledged = set(request.POST.getlist("acknowledged_warnings"))
            if all(warning.key in acknowledged for warning in warnings):
                return None
            return self._approve_confirmation(request, claim, warnings)

        return self._workflow_action(request, object_id, approve, warn=True, confirm=ask_first)

    def _approve_confirmation(
        self, request: HttpRequest, claim: Claim, warnings: list[PublishingWarning]
    ) -> HttpResponse:
        change_url = reverse(
            "admin:claims_claim_change", args=[claim.pk], current_app=self.admin_site.name
        )
        context = {
            **self.admin_site.each_context(request),
            "title": "Approve with warnings?",
            "subtitle": None,
            "opts": self.opts,
            "app_label": self.opts.app_label,
            "original": claim,
            "publishing_warnings": warnings,
            "approve_url": reverse(
                "admin:claims_claim_approve", args=[claim.pk], current_app=self.admin_site.name
            ),
            "change_url": change_url,
            "next": safe_next(request, ""),
            "back_url": safe_next(request, change_url),
            "comment": request.POST.get("comment", ""),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/claims/claim/approve_confirmation.html", context)

    def request_changes_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        def request_changes(claim: Claim) -> str:
            claim_request_changes(
                actor=actor(request), claim=claim, comment=request.POST.get("comment", "")
            )
            return f"Sent claim #{claim.pk} back to the fact-checkers with your comment."

        return self._workflow_action(request, object_id, request_changes)

    def live_status_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The fetch and quote-check cells of the claim's evidence as the page renders them, and
        whether anything is still to come: what live_status.js polls. Four queries after the
        session's: the claim, the user's permissions (two) and the evidence with their sources."""
        claim = self.get_object(request, unquote(object_id))
        if claim is None:
            raise Http404("No such claim.")
        if not self.has_view_permission(request, claim):
            raise PermissionDenied
        evidence = list(evidence_at_a_glance().filter(claim=claim))
        # admin_view already marks it never_cache: each poll reads the database.
        return JsonResponse(
            {
                "settled": not any(evidence_awaits_check(row) for row in evidence),
                "evidence": [
                    {
                        "id": row.pk,
                        "fetch_outcome": evidence_fetch_cell(row),
                        "quote_check": evidence_quote_cell(row),
                    }
                    for row in evidence
                ],
            }
        )

    def refetch_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The re-fetch button of one evidence row (posted with the claim form, via formaction)."""

        def refetch(claim: Claim) -> str:
            return _refetch(request, claim, request.POST.get("evidence"))

        return self._workflow_action(request, object_id, refetch, anchor="evidence-group")


# The claim page's buttons besides the admin's own, each posting the whole claim form, and where
# on the page each returns to.
SAVE_VERDICT, SUBMIT, REFETCH = "save_verdict", "submit_for_review", "_refetch"
_BUTTON_ANCHORS = {SAVE_VERDICT: "verdict", SUBMIT: "verdict", REFETCH: "evidence-group"}


def _refetch(request: HttpRequest, claim: Claim, posted_id: str | None) -> str:
    evidence_id = record_id(posted_id)
    evidence = (
        Evidence.objects.select_related("source").filter(claim=claim, pk=evidence_id).first()
        if evidence_id is not None
        else None
    )
    if evidence is None:
        raise DomainError.not_found("That evidence is no longer on this claim.")
    source = evidence_refetch_source(actor=actor(request), evidence=evidence)
    return f"Queued a new fetch of {source.url}; its quotes are checked again when it lands."


def _draft_verdict_form(
    request: HttpRequest, basis: Verdict | None, *, correcting: bool
) -> VerdictDraftForm:
    """The draft verdict's fields, bound to what the page posted; a correction starts from the
    published text, with a correction note of its own."""
    initial = {}
    if basis is not None:
        initial = {
            "rating": basis.rating_id,
            "summary": basis.summary,
            "explanation": basis.explanation,
            "correction_note": basis.correction_note if basis.state != Verdict.State.APPROVED else "",
        }
    # A post without the verdict's fields (a page without them, a script) leaves the verdict alone.
    posted = request.method == "POST" and any(name in request.POST for name in VerdictDraftForm.base_fields)
    return VerdictDraftForm(request.POST if posted else None, initial=initial, correcting=correcting)


def _verdict_form(request: HttpRequest, claim: Claim) -> VerdictDraftForm | None:
    """The draft verdict form the page showed, bound to the post; None when no draft was open
    to this user (in review, or not a fact-checker)."""
    if not is_fact_checker(request.user):
        return None
    verdicts = claim_verdicts(claim)
    open_verdict = next((v for v in verdicts if v.state != Verdict.State.APPROVED), None)
    if open_verdict is not None and open_verdict.state != Verdict.State.DRAFT:
        return None
    published = next((v for v in verdicts if v.state == Verdict.State.APPROVED), None)
    return _draft_verdict_form(request, open_verdict or published, correcting=published is not None)


def _verdict_save(request: HttpRequest, claim: Claim, form: VerdictDraftForm) -> str:
    if not form.is_valid():
        raise DomainError.invalid(
            " ".join(f"{name}: {error}" for name, errors in form.errors.items() for error in errors)
        )
    verdict = verdict_save_draft(
        actor=actor(request),
        claim=claim,
        rating=form.cleaned_data["rating"],
        summary=form.cleaned_data["summary"],
        explanation=form.cleaned_data["explanation"],
        correction_note=form.cleaned_data.get("correction_note", ""),
    )
    return f"Saved the draft verdict (version {verdict.version})."


def _refused_clean(form: type[ModelForm], refusal: DomainError) -> Callable[[ModelForm], Any]:
    """A clean() that reports the service's refusal of the last save on the field it names (or
    on the whole form), so the page is shown again, bound, instead of saved."""

    def clean(self: ModelForm) -> Any:
        cleaned = form.clean(self)
        if refusal.field in self.fields:
            self.add_error(refusal.field, refusal.message)
        else:
            self.add_error(None, refusal.message)
        return cleaned

    return clean
