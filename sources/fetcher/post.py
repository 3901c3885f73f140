"""post_json(): one guarded POST of a JSON body, for webhook deliveries.

The URL and every address its host resolves to pass the same checks as a fetch, the connection is
pinned to a checked address, and a redirect is refused rather than followed: a redirect could carry
the delivery to an address the guard never saw, so a receiver that moved must be registered again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace

from .addresses import Resolver, resolve_host
from .client import open_pinned_exchange, resolve_allowed, retry_after_seconds
from .http import Deadline, Exchange
from .result import DEFAULT_LIMITS, FetchError, FetchLimits, Outcome, UrlRefused, transient_failure
from .urls import check_parsed, redact

logger = logging.getLogger("sources.fetcher")


@dataclass(frozen=True)
class PostResult:
    """What one POST did: `ok` for a 2xx answer, else `failure` and whether trying again may help."""

    url: str
    http_status: int | None = None
    failure: Outcome | None = None
    reason: str = ""
    block_reason: str = ""
    transient: bool = False
    retry_after: float | None = None
    connected_ip: str | None = None
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        return self.failure is None


def post_json(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    limits: FetchLimits = DEFAULT_LIMITS,
    resolver: Resolver | None = None,
) -> PostResult:
    """POST body (JSON) to url under limits, without following redirects; never raises."""
    started = time.monotonic()
    deadline = Deadline(limits.timeout_total)
    request_headers = {
        "Accept": "*/*",
        "Content-Type": "application/json",
        "Content-Length": str(len(body)),
        **headers,
    }
    connected_ip: str | None = None
    try:
        target = check_parsed(url, limits)
        addresses = resolve_allowed(target, limits=limits, resolver=resolver or resolve_host)
        exchange, connected_ip = open_pinned_exchange(
            target,
            addresses,
            limits=limits,
            deadline=deadline,
            method="POST",
            body=body,
            extra_headers=request_headers,
        )
        try:
            result = _answered(url, exchange)
        finally:
            exchange.close()
    except UrlRefused as refused:
        result = PostResult(
            url, failure=refused.outcome, reason=refused.reason, block_reason=refused.block_reason
        )
    except FetchError as error:
        result = PostResult(
            url,
            failure=error.outcome,
            reason=error.reason,
            block_reason=error.block_reason,
            transient=error.transient,
            retry_after=error.retry_after,
        )
    except Exception as exc:
        logger.warning("unexpected error while posting to %s", redact(url), exc_info=True)
        result = PostResult(
            url,
            failure=Outcome.CONNECTION_ERROR,
            reason=redact(f"unexpected {type(exc).__name__}: {exc}")[:500],
            transient=True,
        )
    finally:
        deadline.close()
    return replace(result, connected_ip=connected_ip, elapsed=round(time.monotonic() - started, 4))


def _answered(url: str, exchange: Exchange) -> PostResult:
    response = exchange.response
    status = response.status
    if 200 <= status < 300:
        return PostResult(url, http_status=status)
    if 300 <= status < 400:
        location = redact(response.headers.get("location") or "")[:300]
        return PostResult(
            url,
            http_status=status,
            failure=Outcome.REDIRECT_ERROR,
            reason=f"the receiver answered {status} (to {location or 'nowhere'}); deliveries do "
            "not follow redirects, so register the new URL",
        )
    transient = transient_failure(Outcome.HTTP_ERROR, status)
    return PostResult(
        url,
        http_status=status,
        failure=Outcome.HTTP_ERROR,
        reason=f"the receiver answered {status} {response.reason or ''}".rstrip(),
        transient=transient,
        retry_after=retry_after_seconds(response.headers.get("retry-after")) if transient else None,
    )
