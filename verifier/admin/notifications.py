"""The admin's notification inbox: each person sees only their own notifications, opens one (which
marks it read) or marks them read, and turns notification e-mail on or off. Notifications are
written only by verifier.services.notifications."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from verifier.admin.common import actor
from verifier.models import Notification
from verifier.selectors.notifications import notification_email_enabled, notifications_of
from verifier.services.notifications import notification_email_set, notifications_mark_read


class ReadFilter(admin.SimpleListFilter):
    title = "read"
    parameter_name = "read"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("no", "Unread"), ("yes", "Read")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Notification]) -> QuerySet[Notification]:
        if self.value() == "no":
            return queryset.filter(read_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(read_at__isnull=False)
        return queryset


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "state", "event", "message", "open_link")
    list_display_links = None
    list_filter = (ReadFilter, "event")
    list_per_page = 50
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    actions = ["mark_read"]
    change_list_template = "admin/verifier/notification/change_list.html"

    class Media:
        css = {"all": ["verifier/admin.css"]}

    # Every staff member has an inbox, whatever their other permissions; it holds only their own.
    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    def has_view_permission(self, request: HttpRequest, obj: Notification | None = None) -> bool:
        return self.has_module_permission(request) and (obj is None or obj.recipient_id == request.user.pk)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Notification | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Notification | None = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Notification]:
        return notifications_of(actor(request))

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("<int:notification_id>/open/", view(self.open_view), name="verifier_notification_open"),
            path("read-all/", view(require_POST(self.read_all_view)), name="verifier_notification_read_all"),
            path("email/", view(require_POST(self.email_view)), name="verifier_notification_email"),
            *super().get_urls(),
        ]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        context = {"email_enabled": notification_email_enabled(actor(request)), **(extra_context or {})}
        return super().changelist_view(request, context)

    @admin.display(description="")
    def state(self, notification: Notification) -> str:
        if notification.read_at is None:
            return format_html('<span class="badge badge-warn">{}</span>', "New")
        return ""

    @admin.display(description="notification")
    def message(self, notification: Notification) -> str:
        if notification.read_at is None:
            return format_html("<strong>{}</strong>", notification.text)
        return notification.text

    @admin.display(description="claim")
    def open_link(self, notification: Notification) -> str:
        url = reverse("admin:verifier_notification_open", args=[notification.pk])
        return format_html('<a href="{}">Open claim #{}</a>', url, notification.claim_id)

    @admin.action(description="Mark selected notifications as read")
    def mark_read(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        marked = notifications_mark_read(user=actor(request), ids=queryset.values_list("pk", flat=True))
        self.message_user(request, f"{marked} notification(s) marked as read.", messages.SUCCESS)

    def open_view(self, request: HttpRequest, notification_id: int) -> HttpResponse:
        notification = get_object_or_404(notifications_of(actor(request)), pk=notification_id)
        notifications_mark_read(user=actor(request), ids=[notification.pk])
        return HttpResponseRedirect(reverse("admin:claims_claim_change", args=[notification.claim_id]))

    def read_all_view(self, request: HttpRequest) -> HttpResponse:
        marked = notifications_mark_read(user=actor(request))
        self.message_user(request, f"{marked} notification(s) marked as read.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:verifier_notification_changelist"))

    def email_view(self, request: HttpRequest) -> HttpResponse:
        user = actor(request)
        enabled = request.POST.get("email") == "on"
        notification_email_set(user=user, enabled=enabled)
        if enabled and not user.email:
            self.message_user(
                request,
                "Notification e-mail is on, but your account has no e-mail address: ask an "
                "administrator to add one.",
                messages.WARNING,
            )
        else:
            state = "on" if enabled else "off"
            self.message_user(request, f"Notification e-mail is {state}.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:verifier_notification_changelist"))
