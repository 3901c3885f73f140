"""CSV in and out of the claim list: an import with a preview and a confirm step, and the export
of every published claim with its verdict."""


from django import forms
from django.contrib import admin, messages
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from core.errors import DomainError
from core.roles import is_fact_checker
from verifier.admin.bulk import csv_download
from verifier.admin.common import actor
from verifier.csv_io import (
    IMPORT_COLUMNS,
    MAX_IMPORT_BYTES,
    MAX_IMPORT_ROWS,
    ImportPreview,
    claims_csv_lines,
    import_token,
    import_token_claims,
    read_claims_csv,
)
from verifier.selectors.workflow import published_claims_for_export
from verifier.services.claims import claims_import


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text=(
            f"UTF-8, first line naming the columns: {', '.join(IMPORT_COLUMNS)} (claimant and text"
            " required; date as YYYY-MM-DD; tags separated by semicolons). At most"
            f" {MAX_IMPORT_ROWS} claims."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )


def import_view(model_admin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    """GET: the upload form. POST a file: the preview (nothing written). POST confirm: create."""
    if not is_fact_checker(request.user):
        raise PermissionDenied
    here = reverse("admin:claims_claim_import", current_app=model_admin.admin_site.name)
    if request.method == "POST" and "confirm" in request.POST:
        try:
            claims = import_token_claims(request.POST.get("token", ""), user_id=actor(request).pk)
            created = claims_import(actor=actor(request), claims=claims)
        except signing.BadSignature:
            model_admin.message_user(
                request, "The preview has expired or was altered; upload the file again.", messages.ERROR
            )
            return HttpResponseRedirect(here)
        except DomainError as error:
            model_admin.message_user(request, f"Nothing was imported: {error.message}", messages.ERROR)
            return HttpResponseRedirect(here)
        model_admin.message_user(
            request, f"Imported {len(created)} claim{'' if len(created) == 1 else 's'} as drafts.",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(
            reverse("admin:claims_claim_changelist", current_app=model_admin.admin_site.name)
        )
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    preview: ImportPreview | None = None
    token = ""
    if request.method == "POST" and form.is_valid():
        # One byte past the limit is enough to tell that the file is too large.
        preview = read_claims_csv(form.cleaned_data["file"].read(MAX_IMPORT_BYTES + 1))
        if preview.valid:
            token = import_token(
                [row.claim for row in preview.valid if row.claim is not None], user_id=actor(request).pk
            )
    opts = model_admin.opts
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Import claims from CSV",
        "subtitle": None,
        "opts": opts,
        "app_label": opts.app_label,
        "form": form,
        "preview": preview,
        "token": token,
        "columns": IMPORT_COLUMNS,
    }
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, "admin/claims/claim/import.html", context)


def export_published_view(model_admin: admin.ModelAdmin, request: HttpRequest) -> HttpResponseBase:
    """Every published claim with its published verdict and the evidence it was approved with."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    claims = published_claims_for_export().iterator(chunk_size=500)
    return csv_download(claims_csv_lines(claims, published=True), "published-claims")
