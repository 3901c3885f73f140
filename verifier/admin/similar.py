"""Similar claims on the admin's claim form: as the fact-checker types (a staff JSON endpoint that
verifier/static/verifier/similar_claims.js asks, debounced), on the saved claim's page, and in the
message after a save."""

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from claims.models import Claim
from verifier.api.serializers import CLAIM_TEXT_MAX
from verifier.selectors.similar import similar_claim_records

SHOWN = 5


def similar_claims_found(
    model_admin: admin.ModelAdmin, *, text: str, excluding: int | None
) -> list[dict[str, Any]]:
    """The claims most similar to the text, drafts included, as the claim form lists them."""
    found = similar_claim_records(
        text=text[:CLAIM_TEXT_MAX],
        visible=Claim.objects.all(),
        published_only=False,
        limit=SHOWN,
        excluding=excluding,
    )
    similar = []
    for item in found:
        claim = item["claim"]
        rating = (claim["verdict"] or {}).get("rating")
        similar.append(
            {
                "id": claim["id"],
                "text": claim["text"],
                "status": Claim.Status(claim["status"]).label,
                "rating": rating["label"] if rating else None,
                "score": item["score"],
                "same_claim": item["same_claim"],
                "admin_url": reverse(
                    "admin:claims_claim_change", args=[claim["id"]], current_app=model_admin.admin_site.name
                ),
            }
        )
    return similar


def similar_claims_view(model_admin: admin.ModelAdmin, request: HttpRequest) -> JsonResponse:
    """GET ?text=...[&exclude=ID]: `{"results": [...]}` as similar_claims_found lists them."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    text = request.GET.get("text", "")
    excluding = request.GET.get("exclude", "")
    results = similar_claims_found(
        model_admin, text=text, excluding=int(excluding) if excluding.isdigit() else None
    )
    return JsonResponse({"results": results})


def similar_claims_block(model_admin: admin.ModelAdmin, claim: Claim | None) -> SafeString:
    """The claim form's list of similar claims (of the saved text), which the script refreshes as
    the text is edited."""
    url = reverse("admin:claims_claim_similar", current_app=model_admin.admin_site.name)
    similar = (
        similar_claims_found(model_admin, text=claim.text, excluding=claim.pk) if claim is not None else []
    )
    items = format_html_join(
        "",
        '<li><a href="{}">#{} {}</a> — {}, {}, score {}{}</li>',
        (
            (
                item["admin_url"], item["id"], item["text"], item["status"], item["rating"] or "no rating",
                f"{item['score']:.2f}", " — already checked" if item["same_claim"] else "",
            )
            for item in similar
        ),
    )
    return format_html(
        '<div class="similar-claims" data-url="{}" data-exclude="{}" aria-live="polite">'
        '<ul class="similar-claims-list">{}</ul>'
        '<p class="similar-claims-none help"{}>No similar claims recorded.</p></div>',
        url,
        claim.pk if claim is not None else "",
        items,
        " hidden" if similar else "",
    )


def similar_claims_message(model_admin: admin.ModelAdmin, claim: Claim) -> str | None:
    """What the message after a save says of the claims the saved one restates, or None."""
    similar = similar_claims_found(model_admin, text=claim.text, excluding=claim.pk)
    same = [item for item in similar if item["same_claim"]]
    if not same:
        return None
    listed = "; ".join(f"#{item['id']} ({item['status']}, {item['rating'] or 'no rating'})" for item in same)
    return f"This claim looks already recorded: {listed}. Link it with “Same as” if it is the same claim."
