"""Reads of a person's notifications, for the admin's inbox, its unread count and the mail task."""

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

from verifier.models import Notification, NotificationPreference


def notifications_of(user: User) -> QuerySet[Notification]:
    """The user's notifications with their claim and actor, newest first."""
    return (
        Notification.objects.filter(recipient=user)
        .select_related("claim", "actor")
        .order_by("-created_at", "-id")
    )


def notifications_unread_count(user: User | AnonymousUser) -> int:
    """How many of the user's notifications are unread; 0 for someone not signed in."""
    if not user.is_authenticated:
        return 0
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def notification_email_enabled(user: User) -> bool:
    """Whether the user left notification e-mail on (it is on until they turn it off)."""
    return not NotificationPreference.objects.filter(user=user, email=False).exists()
