from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from verifier.api.provenance import signing_key_pem, signing_keys_json
from verifier.archive import archive_snapshot, archive_snapshot_body, archive_snapshot_capture
from verifier.health import healthz
from verifier.site import claimant_page, fact_check_index, rating_page, tag_page
from verifier.views import claim_page

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/v1/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/v1/", include("verifier.api.urls")),
    path("claims/<int:pk>/", claim_page, name="claim-page"),
    path("", fact_check_index, name="fact-check-index"),
    path("tags/<slug:slug>/", tag_page, name="tag-page"),
    path("claimants/<int:pk>/", claimant_page, name="claimant-page"),
    path("ratings/<slug:slug>/", rating_page, name="rating-page"),
    path("archive/<int:snapshot_id>/", archive_snapshot, name="archive-snapshot"),
    path(
        "archive/<int:snapshot_id>/capture.warc.gz", archive_snapshot_capture, name="archive-snapshot-capture"
    ),
    path("archive/<int:snapshot_id>/body", archive_snapshot_body, name="archive-snapshot-body"),
    path("healthz", healthz, name="healthz"),
    path(".well-known/verifier-signing-key.pem", signing_key_pem, name="signing-key-pem"),
    path(".well-known/verifier-signing-keys.json", signing_keys_json, name="signing-keys-json"),
]

# JSON under /api/ for paths no route matches (verifier.api.errors).
handler404 = "verifier.api.errors.page_not_found"
