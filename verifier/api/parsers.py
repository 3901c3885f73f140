"""The API's JSON bodies, bounded: no deeper than MAX_JSON_DEPTH and no NUL character anywhere.

Python's json module recurses once per level, so a 100,000-deep body raised RecursionError (a 500);
PostgreSQL cannot store a NUL in text, so a NUL in a string that reached a query was a 500 too.
Both are a 400 here, before any serializer or service sees the data. The size of a body is bounded
by DATA_UPLOAD_MAX_MEMORY_SIZE (a 413, verifier.api.errors).
"""

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# Every request body of the API is an object of scalars and lists of strings: depth 2.
MAX_JSON_DEPTH = 32


class BoundedJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels.") from None
        refusal = _refusal(data)
        if refusal:
            raise ParseError(f"JSON parse error - {refusal}.")
        return data


def _refusal(data: Any) -> str:
    """Why the parsed document is refused, or ''; walks it without recursion."""
    pending: list[tuple[Any, int]] = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return "a string contains a NUL character (\\u0000)"
            continue
        if not isinstance(value, dict | list):
            continue
        if depth > MAX_JSON_DEPTH:
            return f"nested deeper than {MAX_JSON_DEPTH} levels"
        if isinstance(value, dict):
            pending.extend((key, depth) for key in value)
            pending.extend((item, depth + 1) for item in value.values())
        else:
            pending.extend((item, depth + 1) for item in value)
    return ""
