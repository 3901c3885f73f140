"""Who may do what: the permission names behind the two groups of SPEC §3."""

from django.contrib.auth.models import AnonymousUser, User

from core.errors import DomainError

FACT_CHECKERS = "Fact-checkers"
REVIEWERS = "Reviewers"

# Granting these permissions (directly or through a group) is what makes a user a fact-checker or
# a reviewer; superusers hold every permission but the four-eyes rule still binds them.
FACT_CHECKER_PERMISSION = "verifier.add_verdict"
REVIEWER_PERMISSION = "verifier.review_verdict"

AnyUser = User | AnonymousUser


def is_fact_checker(user: AnyUser) -> bool:
    return bool(user.is_authenticated and user.has_perm(FACT_CHECKER_PERMISSION))


def is_reviewer(user: AnyUser) -> bool:
    return bool(user.is_authenticated and user.has_perm(REVIEWER_PERMISSION))


def require_fact_checker(user: AnyUser) -> None:
    if not is_fact_checker(user):
        raise DomainError.forbidden("Only fact-checkers can do this.")


def require_reviewer(user: AnyUser) -> None:
    if not is_reviewer(user):
        raise DomainError.forbidden("Only reviewers can approve verdicts or request changes.")
