"""The admin's badges as template filters: {{ evidence.source|fetch_badge }}, {{ evidence|quote_badge }}."""

from django import template
from django.utils.safestring import SafeString

from claims.models import Evidence
from sources.models import Source
from verifier.admin import badges

register = template.Library()


@register.filter
def fetch_badge(source: Source) -> SafeString:
    return badges.fetch_badge(source)


@register.filter
def quote_badge(evidence: Evidence) -> SafeString:
    return badges.quote_badge(evidence)
