"""Admin for webhooks: staff register endpoints (URL checked by the sources' SSRF guard) and read
every delivery; deliveries themselves are written only by verifier.services.webhooks."""

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from sources.fetcher import UrlRefused, check_url
from sources.services import fetch_limits
from verifier.admin.changelist import DateBoundedAdmin
from verifier.admin.common import RecordAdmin
from verifier.models import WebhookDelivery, WebhookEndpoint


class WebhookEndpointForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        choices=WebhookEndpoint.Event.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=WebhookEndpoint.Event.values,
        help_text="Publish: a claim is published. Correction: a corrected verdict is published. "
        "Link-rot flag: a source cited by a published claim changed or disappeared.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "description", "events", "active"]

    def clean_url(self) -> str:
        try:
            return check_url(self.cleaned_data["url"].strip(), fetch_limits())
        except UrlRefused as refused:
            raise forms.ValidationError(f"This URL cannot receive webhooks: {refused.reason}") from None


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ("url", "description", "event_list", "active", "created_at")
    list_filter = ("active",)
    search_fields = ("url", "description")
    readonly_fields = ("secret", "created_at")

    def get_fields(self, request: HttpRequest, obj: WebhookEndpoint | None = None) -> list[Any]:
        fields: list[Any] = ["url", "description", "events", "active"]
        # The secret exists once the endpoint is saved; the receiver needs it to check signatures.
        return [*fields, "secret", "created_at"] if obj is not None else fields

    @admin.display(description="events")
    def event_list(self, endpoint: WebhookEndpoint) -> str:
        return ", ".join(endpoint.events) or "—"


@admin.register(WebhookDelivery)
# The record of what was sent where.
class WebhookDeliveryAdmin(RecordAdmin, DateBoundedAdmin):
    list_display = (
        "created_at", "event", "claim_link", "endpoint", "outcome", "status_code", "attempts",
        "last_attempt_at",
    )
    list_filter = ("outcome", "event")
    list_select_related = ("endpoint",)
    show_full_result_count = False
    date_hierarchy = "created_at"
    fields = (
        "endpoint", "event", "claim_link", "delivery_id", "outcome", "status_code", "attempts",
        "error", "payload_sha256", "created_at", "last_attempt_at", "delivered_at",
    )
    readonly_fields = fields

    @admin.display(description="claim", ordering="claim")
    def claim_link(self, delivery: WebhookDelivery) -> str:
        url = reverse("admin:claims_claim_change", args=[delivery.claim_id])
        return format_html('<a href="{}">#{}</a>', url, delivery.claim_id)
