"""django-axes' login records in the admin: staff unlock a locked-out user or address by deleting
its "Access attempts" rows (the cool-off unlocks it by itself)."""

from axes.admin import AccessAttemptAdmin, AccessFailureLogAdmin, AccessLogAdmin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin

from verifier.admin.changelist import DateBoundedAdmin


@admin.register(AccessAttempt)
class LoginAttemptAdmin(DateBoundedAdmin, AccessAttemptAdmin):
    pass


@admin.register(AccessLog)
class LoginLogAdmin(DateBoundedAdmin, AccessLogAdmin):
    pass


@admin.register(AccessFailureLog)
class LoginFailureLogAdmin(DateBoundedAdmin, AccessFailureLogAdmin):
    pass
