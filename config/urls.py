from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from verifier.api.provenance import signing_key_pem, signing_keys_json
from verifier.health import healthz
from verifier.views import claim_page

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/v1/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/v1/", include("verifier.api.urls")),
    path("claims/<int:pk>/", claim_page, name="claim-page"),
    path("healthz", healthz, name="healthz"),
    path(".well-known/verifier-signing-key.pem", signing_key_pem, name="signing-key-pem"),
    path(".well-known/verifier-signing-keys.json", signing_keys_json, name="signing-keys-json"),
]
