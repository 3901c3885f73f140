"""The guarded fetcher: SSRF-safe, bounded fetching and text extraction of cited sources.

A plain library (no Django): ``fetch(url)`` never raises and returns a ``FetchResult`` whose
``outcome`` says what happened; ``check_url`` validates a URL up front without network access.
"""

from .addresses import Resolver
from .client import fetch
from .result import FetchLimits, FetchResult, Outcome, UrlRefused
from .urls import check_url, normalize_url

__all__ = [
    "FetchLimits",
    "FetchResult",
    "Outcome",
    "Resolver",
    "UrlRefused",
    "check_url",
    "fetch",
    "normalize_url",
]
