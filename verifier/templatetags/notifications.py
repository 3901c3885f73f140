"""The unread-notification count shown on every admin page."""

from typing import Any

from django import template

from verifier.selectors.notifications import notifications_unread_count

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_notification_count(context: dict[str, Any]) -> int:
    request = context.get("request")
    return notifications_unread_count(request.user) if request is not None else 0
