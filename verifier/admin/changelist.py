"""A change list whose date drill-down refuses an impossible date like any other bad filter.

Django builds the bounds of ?<field>__year=… itself and lets an OverflowError (a 20-digit year) or
a ValueError (year 9999 has no year after it) escape as a 500; here they send the admin back to the
list with ?e=1, as a bad filter does.
"""

from typing import Any

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.http import HttpRequest


class DateBoundedChangeList(ChangeList):
    def get_filters(self, request: HttpRequest) -> Any:
        try:
            return super().get_filters(request)
        except (OverflowError, ValueError) as error:
            raise IncorrectLookupParameters(error) from error


class DateBoundedAdmin(admin.ModelAdmin):
    """For admins with a date_hierarchy."""

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return DateBoundedChangeList
