"""JSON for the read API, encoded by orjson: the claim pages are plain dicts of strings, numbers,
dates and lists, which it encodes several times faster than the standard library."""

from typing import Any

import orjson
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

_FALLBACK = JSONEncoder()


def _encode_other(value: Any) -> Any:
    # orjson encodes str but not its subclasses (DRF's ErrorDetail) nor lazy translations, UUIDs
    # of other libraries or Decimals; these are encoded as DRF encodes them.
    if isinstance(value, str):
        return str(value)
    return _FALLBACK.default(value)


class FastJSONRenderer(JSONRenderer):
    """DRF's JSON output (UTF-8, compact, "Z" for UTC), encoded by orjson."""

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        if data is None:
            return b""
        return orjson.dumps(data, default=_encode_other, option=orjson.OPT_UTC_Z)


class JSONLDRenderer(FastJSONRenderer):
    media_type = "application/ld+json"
    format = "jsonld"
