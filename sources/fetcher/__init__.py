"""The guarded fetcher: SSRF-safe, bounded fetching and text extraction of cited sources.

A plain library (no Django): ``fetch(url)`` never raises and returns a ``FetchResult`` whose
``outcome`` says what happened; ``check_url`` validates a URL up front without network access;
``post_json`` sends one webhook delivery under the same guard.
"""

from .addresses import Resolver
from .client import fetch
from .post import PostResult, post_json
from .result import FetchLimits, FetchResult, Outcome, UrlRefused, transient_failure
from .urls import check_url, normalize_url

__all__ = [
    "FetchLimits",
    "FetchResult",
    "Outcome",
    "PostResult",
    "Resolver",
    "UrlRefused",
    "check_url",
    "fetch",
    "normalize_url",
    "post_json",
    "transient_failure",
]
