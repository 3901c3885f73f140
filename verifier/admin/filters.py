"""Filters of the claim list. Each costs at most one small query to draw (no DISTINCT over claims),
so the list takes the same number of queries with a hundred claims or a hundred thousand."""

from typing import Any

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.db.models import QuerySet
from django.http import HttpRequest

from claims.models import Claim
from claims.selectors import assignable_users, claims_with_quote_not_found
from verifier.models import Rating
from verifier.selectors.verdicts import claims_with_current_rating, ratings_matching

NO_VERDICT = "none"


class RatingFilter(admin.SimpleListFilter):
    """The rating of the claim's current verdict (verifier.selectors.verdicts), as the API's
    `rating` filter reads it."""

    title = "current rating"
    parameter_name = "rating"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            *Rating.objects.values_list("slug", "label"),
            (NO_VERDICT, "No rating yet"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Claim]) -> QuerySet[Claim]:
        value = self.value()
        if not value:
            return queryset
        return claims_with_current_rating(queryset, None if value == NO_VERDICT else ratings_matching(value))


class ClaimantFilter(admin.SimpleListFilter):
    """A claimant by name, typed in a box: a list of every claimant would not fit the sidebar."""

    title = "claimant"
    parameter_name = "claimant"
    template = "admin/claims/claim/text_filter.html"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return []

    def has_output(self) -> bool:
        return True

    def queryset(self, request: HttpRequest, queryset: QuerySet[Claim]) -> QuerySet[Claim]:
        name = " ".join((self.value() or "").split())
        if not name:
            return queryset
        return queryset.filter(claimant__name__iexact=name)

    def choices(self, changelist: ChangeList) -> Any:
        # One entry for the template: the current name, the link that clears it, and the other
        # filters to keep when a new name is typed.
        kept = {
            key: value
            for key, value in changelist.get_filters_params().items()
            if key != self.parameter_name
        }
        if changelist.query:
            kept["q"] = changelist.query
        yield {
            "value": self.value() or "",
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": "All",
            "kept": [
                (key, item)
                for key, value in kept.items()
                for item in (value if isinstance(value, list) else [value])
            ],
        }


class AssigneeFilter(admin.SimpleListFilter):
    title = "assignee"
    parameter_name = "assignee"
    MINE = "me"
    NOBODY = "none"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            (self.MINE, "Assigned to me"),
            (self.NOBODY, "Unassigned"),
            *((str(user.pk), user.get_username()) for user in assignable_users()),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Claim]) -> QuerySet[Claim]:
        value = self.value()
        if value == self.MINE:
            return queryset.filter(assignee=request.user.pk)
        if value == self.NOBODY:
            return queryset.filter(assignee__isnull=True)
        if value and value.isdigit():
            return queryset.filter(assignee=int(value))
        return queryset


class SourceChangedFilter(admin.SimpleListFilter):
    """Claims flagged because a source their published verdict cites changed or disappeared."""

    title = "source changed after publication"
    parameter_name = "flagged"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Yes: check the sources"), ("no", "No")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Claim]) -> QuerySet[Claim]:
        if self.value() == "yes":
            return queryset.exclude(source_flag="")
        if self.value() == "no":
            return queryset.filter(source_flag="")
        return queryset


class QuoteNotFoundFilter(admin.SimpleListFilter):
    title = "quote not found"
    parameter_name = "quote_not_found"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "A quote was not found in its source"), ("no", "No")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Claim]) -> QuerySet[Claim]:
        if self.value() in ("yes", "no"):
            return claims_with_quote_not_found(queryset, not_found=self.value() == "yes")
        return queryset


class CitesSourceFilter(admin.SimpleListFilter):
    """The claims citing one source; reached from the source's page, shown only while in use."""

    title = "cites source"
    parameter_name = "source"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        value = self.value()
        return [(value, f"Source #{value}")] if value and value.isdigit() else []

    def queryset(self, request: HttpRequest, queryset: QuerySet[Claim]) -> QuerySet[Claim]:
        value = self.value()
        if value and value.isdigit():
            # A claim citing the source twice must be listed once: filter by ids, not a join.
            return queryset.filter(pk__in=Claim.objects.filter(evidence__source=int(value)).values("pk"))
        return queryset
