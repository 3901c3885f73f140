"""API routes, mounted under /api/v1/ by config.urls."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from verifier.api.claims_read import ClaimReviewFeedViewSet, ClaimViewSet
from verifier.api.provenance import EvidencePackageView, ReviewLogCheckpointView
from verifier.api.sources import SourceDetailView

app_name = "api"

router = SimpleRouter(use_regex_path=False)
router.register("claims", ClaimViewSet, basename="claim")
router.register("claimreview", ClaimReviewFeedViewSet, basename="claimreview")

urlpatterns = [
    *router.urls,
    path("sources/<int:pk>/", SourceDetailView.as_view(), name="source-detail"),
    path("claims/<int:pk>/evidence-package/", EvidencePackageView.as_view(), name="claim-evidence-package"),
    path("review-log/checkpoint/", ReviewLogCheckpointView.as_view(), name="review-log-checkpoint"),
]
