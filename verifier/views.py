"""Public pages: the fact-check of a published claim."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from verifier.selectors import (
    claim_corrections,
    claim_current_verdict,
    claim_shown_evidence,
    published_claims,
)


def claim_page(request: HttpRequest, pk: int) -> HttpResponse:
    claim = get_object_or_404(published_claims(), pk=pk)
    verdict = claim_current_verdict(claim)
    context = {
        "claim": claim,
        "verdict": verdict,
        "corrections": claim_corrections(claim, verdict) if verdict else [],
        "evidence": claim_shown_evidence(claim),
    }
    return render(request, "verifier/claim_page.html", context)
