"""Admin for claims and evidence: an entry point that parses input and calls the services.

Fact-checkers create claims, attach evidence and draft the verdict here; reviewers work from the
review queue and approve or request changes on the claim page. Every write goes through
claims.services or verifier.services, so the admin cannot do anything the rules forbid.
"""

from collections.abc import Callable
from typing import Any, TypeVar, cast

from django.contrib import admin, messages
from django.contrib.admin.options import get_content_type_for_model
from django.contrib.admin.utils import unquote
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import ForeignKey, QuerySet
from django.forms import BaseInlineFormSet, ModelChoiceField, ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.text import Truncator

from claims.forms import ClaimantForm, EvidenceAddForm, VerdictDraftForm
from claims.models import Claim, Claimant, Evidence, Tag
from claims.selectors import (
    assignable_users,
    claim_verdicts,
    claims_in_review,
    claims_with_current_verdict,
)
from claims.services import (
    CLAIM_UPDATE_FIELDS,
    claim_create,
    claim_frozen_fields,
    claim_update,
    evidence_add,
    evidence_change_refusal,
    evidence_remove,
    evidence_remove_refusal,
)
from verifier.admin import HistoryAdmin
from verifier.errors import DomainError
from verifier.models import Verdict
from verifier.roles import is_fact_checker, is_reviewer
from verifier.services import (
    claim_request_changes,
    claim_submit,
    verdict_approve,
    verdict_four_eyes_refusal,
    verdict_save_draft,
)

T = TypeVar("T")

# claim_update's field names as the admin form names them.
_FORM_FIELD = {"claimant_name": "claimant"}
REVIEW_QUEUE_PAGE_SIZE = 50


def _actor(request: HttpRequest) -> User:
    """The signed-in staff member: admin_view lets no one else reach the admin's views."""
    return cast(User, request.user)


def _rule(claim: Claim, name: str, evaluate: Callable[[Claim], T]) -> T:
    """Evaluates a service rule once per claim instance: the admin asks for permissions many times
    while rendering one page."""
    cache = claim.__dict__.setdefault("_admin_rules", {})
    if name not in cache:
        cache[name] = evaluate(claim)
    return cache[name]


def _frozen_form_fields(claim: Claim) -> dict[str, str]:
    frozen = _rule(claim, "frozen", claim_frozen_fields)
    return {_FORM_FIELD.get(field, field): reason for field, reason in frozen.items()}


def _edit_lock(claim: Claim) -> str | None:
    """The reason nothing of the claim can be edited now (it is in review), or None."""
    frozen = _rule(claim, "frozen", claim_frozen_fields)
    if set(CLAIM_UPDATE_FIELDS) <= set(frozen):
        return frozen[CLAIM_UPDATE_FIELDS[0]]
    return None


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


class EvidenceInline(admin.TabularInline):
    """The claim's evidence as recorded: read-only, with each source's fetch and quote check.

    Evidence is never edited in place (the checked quote would no longer be what was checked):
    a fact-checker removes a row and adds a corrected one.
    """

    model = Evidence
    template = "admin/claims/claim/evidence_inline.html"
    fields = ("source_link", "stance", "quote", "note", "fetch_outcome", "quote_check", "added")
    readonly_fields = fields
    extra = 0

    def get_queryset(self, request: HttpRequest) -> QuerySet[Evidence]:
        return super().get_queryset(request).select_related("source", "author")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is None or not super().has_delete_permission(request, obj):
            return False
        return _rule(obj, "evidence_remove", evidence_remove_refusal) is None

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
        source = evidence.source
        outcome = source.outcome or "not fetched yet"
        if not source.outcome_reason:
            return format_html("{} · {}", source.get_status_display(), outcome)
        return format_html(
            "{} · {}<br><small>{}</small>",
            source.get_status_display(),
            outcome,
            source.outcome_reason,
        )

    @admin.display(description="quote check")
    def quote_check(self, evidence: Evidence) -> str:
        status = evidence.get_quote_status_display()
        if evidence.quote_checked_snapshot_id is None:
            return status
        return format_html(
            '{}<br><small>against <a href="{}">snapshot {}</a></small>',
            status,
            reverse("admin:sources_snapshot_change", args=[evidence.quote_checked_snapshot_id]),
            evidence.quote_checked_snapshot_id,
        )

    @admin.display(description="added")
    def added(self, evidence: Evidence) -> str:
        return format_html(
            "{}<br><small>{}</small>", evidence.author, f"{evidence.created_at:%Y-%m-%d %H:%M}"
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
        return obj is None or _rule(obj, "evidence_change", evidence_change_refusal) is None

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_add_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class SourceFlagFilter(admin.SimpleListFilter):
    title = "source flag"
    parameter_name = "flagged"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Flagged"), ("no", "Not flagged")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Claim]) -> QuerySet[Claim]:
        if self.value() == "yes":
            return queryset.exclude(source_flag="")
        if self.value() == "no":
            return queryset.filter(source_flag="")
        return queryset


@admin.register(Claim)
class ClaimAdmin(HistoryAdmin):
    list_display = (
        "claim_text",
        "claimant",
        "status",
        "current_rating",
        "assignee",
        "published_at",
        "source_flagged",
    )
    list_filter = ("status", "claimant", "tags", SourceFlagFilter)
    list_select_related = ("claimant", "assignee")
    search_fields = ("text", "claimant__name")
    search_help_text = "Search the claim text and the claimant's name."
    show_full_result_count = False
    autocomplete_fields = ("claimant", "tags")
    actions = None
    inlines = (EvidenceInline, EvidenceAddInline)
    claim_fields = ("text", "claimant", ("claim_date", "appearance_url"), "tags", "assignee")
    workflow_fields = (
        "status",
        "published_at",
        "source_flag_reason",
        "created_by",
        "created_at",
        "updated_at",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Claim]:
        return claims_with_current_verdict(super().get_queryset(request))

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
            return ()
        return (*self.workflow_fields, *_frozen_form_fields(obj))

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

    def view_on_site(self, claim: Claim) -> str | None:
        # Only a published claim has a public page.
        if claim.published_at is None:
            return None
        return reverse(
            "admin:view_on_site",
            kwargs={"content_type_id": get_content_type_for_model(claim).pk, "object_id": claim.pk},
            current_app=self.admin_site.name,
        )

    @admin.display(description="claim", ordering="text")
    def claim_text(self, claim: Claim) -> str:
        return Truncator(claim.text).chars(100)

    @admin.display(description="current rating")
    def current_rating(self, claim: Claim) -> str:
        rating: str | None = getattr(claim, "current_rating", None)
        state: str | None = getattr(claim, "current_verdict_state", None)
        if state is None:
            return "—"
        if state == Verdict.State.APPROVED:
            return rating or "—"
        return f"{rating or '—'} ({Verdict.State(state).label.lower()})"

    @admin.display(description="source flag", boolean=True, ordering="source_flagged_at")
    def source_flagged(self, claim: Claim) -> bool:
        return bool(claim.source_flag)

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
            # The admin ran the save in one transaction, so none of it was kept.
            self.message_user(request, error.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def save_model(self, request: HttpRequest, obj: Claim, form: ModelForm, change: bool) -> None:
        data = form.cleaned_data
        if not change:
            claim = claim_create(
                actor=_actor(request),
                text=data["text"],
                claimant_name=data["claimant"].name,
                claim_date=data.get("claim_date"),
                appearance_url=data.get("appearance_url", ""),
                tags=[tag.name for tag in data.get("tags", ())],
                assignee=data.get("assignee"),
            )
            # The admin goes on with `obj` (inlines, log entry, redirect): make it the new claim.
            obj.pk = claim.pk
            obj._state.adding = False
            obj.refresh_from_db()
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
            claim_update(actor=_actor(request), claim=obj, **changes)
        obj.refresh_from_db()

    def save_related(self, request: HttpRequest, form: ModelForm, formsets: Any, change: bool) -> None:
        # Not form.save_m2m(): claim_create and claim_update already set the tags.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def save_formset(self, request: HttpRequest, form: ModelForm, formset: Any, change: bool) -> None:
        claim = form.instance
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for evidence_form in formset.deleted_forms:
            evidence_remove(actor=_actor(request), evidence=evidence_form.instance)
            formset.deleted_objects.append(evidence_form.instance)
        if not isinstance(formset, NewEvidenceFormSet):
            return
        for evidence_form in formset.extra_forms:
            if not evidence_form.has_changed():
                continue
            data = evidence_form.cleaned_data
            formset.new_objects.append(
                evidence_add(
                    actor=_actor(request),
                    claim=claim,
                    url=data["url"],
                    quote=data["quote"],
                    stance=data["stance"],
                    note=data.get("note", ""),
                )
            )

    # The verdict workflow on the claim page.

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
        in_review = open_verdict is not None and open_verdict.state == Verdict.State.IN_REVIEW
        drafting = open_verdict is None or open_verdict.state == Verdict.State.DRAFT
        reviewing = in_review and is_reviewer(user)
        four_eyes = (
            verdict_four_eyes_refusal(actor=_actor(request), verdict=open_verdict)
            if reviewing and open_verdict is not None
            else None
        )
        draft_form = None
        published_verdict = next((v for v in verdicts if v.state == Verdict.State.APPROVED), None)
        if drafting and is_fact_checker(user):
            # A correction starts from the published text.
            basis = open_verdict or published_verdict
            initial = {}
            if basis is not None:
                initial = {
                    "rating": basis.rating_id,
                    "summary": basis.summary,
                    "explanation": basis.explanation,
                }
            draft_form = VerdictDraftForm(initial=initial)
        edit_lock = _edit_lock(claim)
        notices: list[str] = []
        if is_fact_checker(user):
            # Why parts of the page cannot be edited, in the services' words.
            if edit_lock is not None:
                notices.append(edit_lock)
            else:
                notices.extend(sorted(set(_frozen_form_fields(claim).values())))
                evidence_refusal = _rule(claim, "evidence_change", evidence_change_refusal)
                if evidence_refusal is not None:
                    notices.append(evidence_refusal)
        context: dict[str, Any] = {
            "workflow": True,
            "open_verdict": open_verdict,
            "published_verdict": published_verdict,
            "verdicts": verdicts,
            "verdict_form": draft_form,
            "can_submit": draft_form is not None and open_verdict is not None,
            "can_review": reviewing,
            "can_approve": reviewing and four_eyes is None,
            "four_eyes_reason": four_eyes,
            "notices": notices,
        }
        for action in ("verdict", "submit", "approve", "request_changes"):
            context[f"{action}_url"] = reverse(
                f"admin:claims_claim_{action}", args=[claim.pk], current_app=self.admin_site.name
            )
        return context

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("review-queue/", view(self.review_queue_view), name="claims_claim_review_queue"),
            path("<path:object_id>/verdict/", view(self.verdict_view), name="claims_claim_verdict"),
            path("<path:object_id>/submit/", view(self.submit_view), name="claims_claim_submit"),
            path("<path:object_id>/approve/", view(self.approve_view), name="claims_claim_approve"),
            path(
                "<path:object_id>/request-changes/",
                view(self.request_changes_view),
                name="claims_claim_request_changes",
            ),
            *super().get_urls(),
        ]

    def _workflow_action(
        self, request: HttpRequest, object_id: str, act: Callable[[Claim], str]
    ) -> HttpResponse:
        """Runs one workflow step from a POSTed button; the service's refusal becomes a message."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        claim = self.get_object(request, unquote(object_id))
        if claim is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_permission(request, claim):
            raise PermissionDenied
        try:
            done = act(claim)
        except DomainError as error:
            self.message_user(request, error.message, messages.ERROR)
        else:
            self.message_user(request, done, messages.SUCCESS)
        change_url = reverse(
            "admin:claims_claim_change", args=[claim.pk], current_app=self.admin_site.name
        )
        return HttpResponseRedirect(f"{change_url}#verdict")

    def verdict_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        def save_draft(claim: Claim) -> str:
            form = VerdictDraftForm(request.POST)
            if not form.is_valid():
                raise DomainError.invalid(
                    " ".join(
                        f"{name}: {error}" for name, errors in form.errors.items() for error in errors
                    )
                )
            verdict = verdict_save_draft(
                actor=_actor(request),
                claim=claim,
                rating=form.cleaned_data["rating"],
                summary=form.cleaned_data["summary"],
                explanation=form.cleaned_data["explanation"],
            )
            return f"Saved the draft verdict (version {verdict.version})."

        return self._workflow_action(request, object_id, save_draft)

    def submit_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        def submit(claim: Claim) -> str:
            claim_submit(actor=_actor(request), claim=claim)
            return "Submitted the verdict for review."

        return self._workflow_action(request, object_id, submit)

    def approve_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        def approve(claim: Claim) -> str:
            verdict = verdict_approve(
                actor=_actor(request), claim=claim, comment=request.POST.get("comment", "")
            )
            return f"Approved and published verdict version {verdict.version}."

        return self._workflow_action(request, object_id, approve)

    def request_changes_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        def request_changes(claim: Claim) -> str:
            claim_request_changes(
                actor=_actor(request), claim=claim, comment=request.POST.get("comment", "")
            )
            return "Sent the verdict back to the fact-checkers with your comment."

        return self._workflow_action(request, object_id, request_changes)

    def review_queue_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        page = Paginator(claims_in_review(), REVIEW_QUEUE_PAGE_SIZE).get_page(request.GET.get("p"))
        rows = []
        for claim in page.object_list:
            verdicts: list[Verdict] = claim.verdicts_in_review  # type: ignore[attr-defined]
            if not verdicts:
                continue  # decided between the two queries of the page
            verdict = verdicts[0]
            rows.append(
                {
                    "claim": claim,
                    "verdict": verdict,
                    "is_correction": claim.published_at is not None,
                    "own_verdict": verdict.author_id == request.user.pk,
                    "url": reverse(
                        "admin:claims_claim_change",
                        args=[claim.pk],
                        current_app=self.admin_site.name,
                    ),
                }
            )
        context = {
            **self.admin_site.each_context(request),
            "title": "Review queue",
            "subtitle": None,
            "opts": self.opts,
            "app_label": self.opts.app_label,
            "page_obj": page,
            "rows": rows,
            "is_reviewer": is_reviewer(request.user),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/claims/claim/review_queue.html", context)


@admin.register(Evidence)
class EvidenceAdmin(HistoryAdmin):
    """All evidence across claims, to find e.g. every quote not found; changed only on its claim."""

    list_display = ("claim", "source", "stance", "quote_status", "author", "created_at")
    list_filter = ("quote_status", "stance")
    list_select_related = ("claim", "source", "author")
    search_fields = ("quote", "source__url")
    show_full_result_count = False
    raw_id_fields = ("claim", "source", "quote_checked_snapshot")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Evidence | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Evidence | None = None) -> bool:
        return False
