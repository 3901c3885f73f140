"""fetch(): the guarded fetch of one URL, from the static checks to the extracted text.

Its resolution and pinned-connection steps are public for post_json(), which guards a webhook
delivery the same way: resolve_allowed() and open_pinned_exchange().
"""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import logging
import socket
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from urllib3.exceptions import ConnectTimeoutError

from .addresses import IPAddress, Resolver, address_refusal, parse_address, resolve_host
from .content import (
    HTML_TYPES,
    PDF_TYPE,
    PLAIN_TYPE,
    SUPPORTED_TYPES,
    Extracted,
    binary_reason,
    decode_text,
    extract_html,
    extract_pdf,
    extract_plain,
    parse_content_type,
    sniff_media_type,
)
from .http import (
    Deadline,
    Exchange,
    classify_network_error,
    content_coding,
    open_exchange,
    read_body,
)
from .result import (
    DEFAULT_LIMITS,
    FetchError,
    FetchLimits,
    FetchResult,
    Outcome,
    UrlRefused,
    transient_failure,
)
from .urls import ParsedUrl, check_parsed, join_location, normalize_url, redact

logger = logging.getLogger("sources.fetcher")

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
KEPT_HEADERS = (
    "content-type",
    "content-length",
    "content-encoding",
    "content-language",
    "last-modified",
    "etag",
    "date",
    "server",
    "location",
    "retry-after",
)
_PERMANENT_DNS_ERRORS = frozenset(
    code
    for code in (getattr(socket, "EAI_NONAME", None), getattr(socket, "EAI_NODATA", None))
    if code is not None
)
# Where an unexpected exception lands, by the step that raised it.
_PHASE_OUTCOMES = {
    "url": Outcome.INVALID_URL,
    "dns": Outcome.DNS_ERROR,
    "network": Outcome.CONNECTION_ERROR,
    "content": Outcome.EXTRACTION_FAILED,
}


def fetch(
    url: str, *, limits: FetchLimits = DEFAULT_LIMITS, resolver: Resolver | None = None
) -> FetchResult:
    """Fetch url under limits and return what happened; never raises."""
    run = _FetchRun(limits, resolver or resolve_host)
    try:
        run.execute(url)
    except FetchError as failure:
        run.fail(failure)
    except Exception as exc:
        logger.warning("unexpected error while fetching %s", run.requested_url, exc_info=True)
        run.fail(
            FetchError(
                _PHASE_OUTCOMES[run.phase],
                redact(f"unexpected {type(exc).__name__} ({run.phase}): {exc}")[:500],
            )
        )
    finally:
        run.close()
    try:
        result = run.result()
    except Exception:
        logger.exception("building the fetch result failed")
        return FetchResult("", "", Outcome.CONNECTION_ERROR, reason="internal error in the fetcher")
    logger.info(
        "fetched %s -> %s %s%s",
        result.requested_url or "<invalid URL>",
        result.outcome,
        result.http_status or "",
        f" ({result.reason})" if result.reason else "",
    )
    return result


def resolve_allowed(
    target: ParsedUrl, *, limits: FetchLimits, resolver: Resolver
) -> list[IPAddress]:
    """The addresses to connect to for target: one lookup, and every answer allowed by limits.

    Raises FetchError (DNS_ERROR, or BLOCKED when any address is refused).
    """
    if target.ip is not None:
        return [target.ip]
    addresses = _lookup(target, resolver)
    for address in addresses:
        refusal = address_refusal(address, limits)
        if refusal:
            raise FetchError(
                Outcome.BLOCKED,
                f"host {target.host} resolves to a refused address: {refusal}",
                block_reason="address",
            )
    return addresses


def _lookup(target: ParsedUrl, resolver: Resolver) -> list[IPAddress]:
    try:
        answers = resolver(target.host, target.port)
    except socket.gaierror as exc:
        raise FetchError(
            Outcome.DNS_ERROR,
            f"could not resolve {target.host}: {exc.strerror or exc}",
            transient=exc.errno not in _PERMANENT_DNS_ERRORS,
        ) from None
    except Exception as exc:
        raise FetchError(
            Outcome.DNS_ERROR,
            redact(f"resolving {target.host} failed: {type(exc).__name__}: {exc}")[:500],
        ) from None
    addresses: list[IPAddress] = []
    for answer in answers or ():
        try:
            addresses.append(parse_address(str(answer)))
        except ValueError:
            raise FetchError(
                Outcome.DNS_ERROR,
                f"the resolver returned an invalid address for {target.host}",
            ) from None
    if not addresses:
        raise FetchError(Outcome.DNS_ERROR, f"{target.host} has no addresses")
    return list(dict.fromkeys(addresses))


def open_pinned_exchange(
    target: ParsedUrl,
    addresses: list[IPAddress],
    *,
    limits: FetchLimits,
    deadline: Deadline,
    method: str = "GET",
    body: bytes | None = None,
    extra_headers: Mapping[str, str] | None = None,
) -> tuple[Exchange, str]:
    """Send the request to the checked addresses in order and return the exchange with the IP
    that answered; only a connect timeout moves on to the next address. Raises FetchError."""
    for index, address in enumerate(addresses):
        ip = str(address).split("%", 1)[0] if address.version == 6 else str(address)
        try:
            exchange = open_exchange(
                target, ip, limits, deadline, method=method, body=body, extra_headers=extra_headers
            )
        except ConnectTimeoutError as exc:
            if index + 1 < len(addresses) and not deadline.expired:
                logger.debug("could not connect to %s for %s, trying the next address", ip, target.url)
                continue
            raise classify_network_error(exc, ip, limits, deadline) from None
        except Exception as exc:
            raise classify_network_error(exc, ip, limits, deadline) from None
        return exchange, ip
    raise FetchError(Outcome.CONNECTION_ERROR, f"{target.host} has no usable address")


class _FetchRun:
    """The mutable state of one fetch, frozen into a FetchResult at the end."""

    def __init__(self, limits: FetchLimits, resolver: Resolver) -> None:
        self.limits = limits
        self.resolver = resolver
        self.started = time.monotonic()
        self.deadline = Deadline(limits.timeout_total)
        self.phase = "url"
        self.exchange: Exchange | None = None
        self.resolved: dict[str, list[IPAddress]] = {}
        self.fields: dict[str, Any] = {
            "requested_url": "",
            "final_url": "",
            "outcome": Outcome.FETCHED,
            "redirect_chain": [],
        }

    @property
    def requested_url(self) -> str:
        return str(self.fields["requested_url"])

    def execute(self, url: str) -> None:
        try:
            target = check_parsed(url, self.limits)
        except UrlRefused as refused:
            if refused.outcome == Outcome.BLOCKED:
                with contextlib.suppress(UrlRefused):
                    self.fields["requested_url"] = normalize_url(url)
            raise FetchError(
                refused.outcome, refused.reason, block_reason=refused.block_reason
            ) from None
        self.fields["requested_url"] = target.url
        visited = {target.url}
        chain: list[dict[str, Any]] = self.fields["redirect_chain"]
        while True:
            addresses = self._resolve(target)
            exchange = self._connect(target, addresses)
            status = exchange.response.status
            if status not in REDIRECT_STATUSES:
                self._finish(exchange, target)
                return
            location = exchange.response.headers.get("location")
            self._close_exchange()
            if not location:
                raise FetchError(
                    Outcome.REDIRECT_ERROR, f"the {status} redirect has no Location header"
                )
            chain.append({"url": target.url, "status": status})
            if len(chain) > self.limits.max_redirects:
                raise FetchError(
                    Outcome.REDIRECT_ERROR, f"more than {self.limits.max_redirects} redirects"
                )
            target = self._redirect_target(target, location)
            if target.url in visited:
                raise FetchError(Outcome.REDIRECT_ERROR, f"redirect loop back to {target.url}")
            visited.add(target.url)

    def _redirect_target(self, current: ParsedUrl, location: str) -> ParsedUrl:
        self.phase = "url"
        try:
            return check_parsed(join_location(current.url, location), self.limits)
        except UrlRefused as refused:
            if refused.outcome == Outcome.BLOCKED:
                shown = ""
                with contextlib.suppress(UrlRefused):
                    shown = f" to {normalize_url(join_location(current.url, location))}"
                raise FetchError(
                    Outcome.BLOCKED,
                    f"redirect{shown} refused: {refused.reason}",
                    block_reason=refused.block_reason,
                ) from None
            raise FetchError(
                Outcome.REDIRECT_ERROR, f"redirect to an invalid URL: {refused.reason}"
            ) from None

    def _resolve(self, target: ParsedUrl) -> list[IPAddress]:
        """Resolve target's host once per fetch: a redirect to the same host is not looked up again."""
        self.phase = "dns"
        addresses = self.resolved.get(target.host)
        if addresses is None:
            addresses = resolve_allowed(target, limits=self.limits, resolver=self.resolver)
            self.resolved[target.host] = addresses
        return addresses

    def _connect(self, target: ParsedUrl, addresses: list[IPAddress]) -> Exchange:
        self.phase = "network"
        self.fields["final_url"] = target.url
        exchange, ip = open_pinned_exchange(
            target, addresses, limits=self.limits, deadline=self.deadline
        )
        self.exchange = exchange
        self.fields["connected_ip"] = ip
        self.fields["http_status"] = exchange.response.status
        self.fields["headers"] = self._kept_headers(exchange)
        return exchange

    @staticmethod
    def _kept_headers(exchange: Exchange) -> dict[str, str]:
        headers = exchange.response.headers
        kept = {}
        for name in KEPT_HEADERS:
            value = headers.get(name)
            if value is not None:
                kept[name] = redact(value)[:1024]
        return kept

    def _finish(self, exchange: Exchange, target: ParsedUrl) -> None:
        response = exchange.response
        status = response.status
        if not 200 <= status < 300:
            transient = transient_failure(Outcome.HTTP_ERROR, status)
            raise FetchError(
                Outcome.HTTP_ERROR,
                f"the server answered {status} {response.reason or ''}".rstrip(),
                transient=transient,
                retry_after=retry_after_seconds(response.headers.get("retry-after"))
                if transient
                else None,
            )
        media_type, charset = parse_content_type(response.headers.get("content-type"))
        if media_type and media_type not in SUPPORTED_TYPES:
            raise FetchError(
                Outcome.UNSUPPORTED_CONTENT_TYPE,
                f"content type {media_type[:80]} is not supported "
                "(only HTML, XHTML, plain text and PDF)",
            )
        coding = content_coding(response.headers.get("content-encoding"))
        declared_length = _content_length(response.headers.get("content-length"))
        if declared_length is not None and declared_length > self.limits.max_bytes:
            raise FetchError(
                Outcome.TOO_LARGE,
                f"Content-Length {declared_length} exceeds the limit of "
                f"{self.limits.max_bytes} bytes",
            )
        try:
            body = read_body(response, coding, self.limits, self.deadline)
        except Exception as exc:
            raise classify_network_error(
                exc, self.fields["connected_ip"], self.limits, self.deadline
            ) from None
        self.fields.update(
            body=body.data, bytes_received=body.bytes_received, truncated=body.truncated
        )
        if body.truncated:
            raise FetchError(
                Outcome.TOO_LARGE,
                f"the decoded body exceeds the limit of {self.limits.max_bytes} bytes",
            )
        self._close_exchange()
        self.phase = "content"
        if not media_type:
            media_type = sniff_media_type(body.data)
            if not media_type:
                raise FetchError(
                    Outcome.UNSUPPORTED_CONTENT_TYPE,
                    "the response has no Content-Type and does not look like HTML or PDF",
                )
        self.fields["content_type"] = media_type
        extracted = self._extract(body.data, media_type, charset, target)
        if not extracted.text:
            raise FetchError(
                Outcome.EXTRACTION_FAILED, f"no text could be extracted from the {media_type} body"
            )
        self.fields.update(
            text=extracted.text,
            title=extracted.title,
            author=extracted.author,
            published=extracted.published,
            extraction_note=extracted.note,
        )

    def _extract(self, body: bytes, media_type: str, charset: str, target: ParsedUrl) -> Extracted:
        if media_type == PDF_TYPE:
            return extract_pdf(
                body, max_pages=self.limits.max_pdf_pages, time_limit=self.limits.pdf_timeout
            )
        why_binary = binary_reason(body)
        if why_binary:
            raise FetchError(
                Outcome.UNSUPPORTED_CONTENT_TYPE,
                f"the body claims to be {media_type} but looks binary: {why_binary}",
            )
        decoded = decode_text(body, header_charset=charset, markup=media_type in HTML_TYPES)
        self.fields.update(charset=decoded.charset, charset_source=decoded.source)
        if media_type == PLAIN_TYPE:
            return extract_plain(decoded.text)
        return extract_html(decoded.text, target.url)

    def _close_exchange(self) -> None:
        if self.exchange is not None:
            exchange, self.exchange = self.exchange, None
            exchange.close()

    def fail(self, failure: FetchError) -> None:
        self.fields.update(
            outcome=failure.outcome,
            reason=failure.reason,
            block_reason=failure.block_reason,
            transient=failure.transient,
            retry_after=failure.retry_after,
        )

    def close(self) -> None:
        self.deadline.close()
        try:
            self._close_exchange()
        except Exception:
            logger.debug("closing the connection failed", exc_info=True)

    def result(self) -> FetchResult:
        fields = self.fields
        body: bytes = fields.get("body", b"")
        text: str = fields.get("text", "")
        fields["redirect_chain"] = tuple(fields["redirect_chain"])
        return FetchResult(
            **fields,
            content_sha256=hashlib.sha256(body).hexdigest() if body else "",
            text_sha256=hashlib.sha256(text.encode("utf-8")).hexdigest() if text else "",
            elapsed=round(time.monotonic() - self.started, 4),
        )


def _content_length(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        numbers = {int(part.strip()) for part in value.split(",")}
    except ValueError:
        return None
    return max(numbers) if numbers else None


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, round((when - datetime.now(UTC)).total_seconds(), 1))
