"""config.urls with the public claim page at another path: for tests that links follow the URL
configuration in use."""

from django.urls import path

from config.urls import urlpatterns as config_urlpatterns
from verifier.views import claim_page

urlpatterns = [
    path("checked/<int:pk>/", claim_page, name="claim-page")
    if getattr(pattern, "name", None) == "claim-page"
    else pattern
    for pattern in config_urlpatterns
]
