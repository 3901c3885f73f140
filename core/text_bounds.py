"""How long a text one person writes in one field may be, and the check the services run.

Far beyond any real fact-check, short of a denial of service. The API's serializers declare the
same limits so that its 400s name the field before a service is called; the services check again
for every other entry point (the admin, CSV imports, scripts).
"""

from core.errors import DomainError

CLAIM_TEXT_MAX = 5_000
QUOTE_MAX = 10_000
NOTE_MAX = 10_000
SUMMARY_MAX = 1_000
EXPLANATION_MAX = 50_000
COMMENT_MAX = 10_000


def require_text_within(text: str, *, limit: int, field: str) -> None:
    """Refuses `text` longer than `limit` characters, naming the field."""
    if len(text) > limit:
        raise DomainError.invalid(
            f"Ensure this field has no more than {limit} characters (it has {len(text)}).",
            field=field,
        )
