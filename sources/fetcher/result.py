"""Outcome codes, limits and the result record of one guarded fetch."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    """What happened to one URL: the one list of outcome codes, which the snapshots store."""

    FETCHED = "fetched"
    BLOCKED = "blocked"
    INVALID_URL = "invalid_url"
    TOO_LARGE = "too_large"
    TIMEOUT = "timeout"
    UNSUPPORTED_CONTENT_TYPE = "unsupported_content_type"
    HTTP_ERROR = "http_error"
    DNS_ERROR = "dns_error"
    TLS_ERROR = "tls_error"
    REDIRECT_ERROR = "redirect_error"
    CONNECTION_ERROR = "connection_error"
    DECODING_ERROR = "decoding_error"
    EXTRACTION_FAILED = "extraction_failed"

    @property
    def label(self) -> str:
        """The outcome in words, for people."""
        return _OUTCOME_LABELS[self]


_OUTCOME_LABELS = {
    Outcome.FETCHED: "Fetched",
    Outcome.BLOCKED: "Blocked",
    Outcome.INVALID_URL: "Invalid URL",
    Outcome.TOO_LARGE: "Too large",
    Outcome.TIMEOUT: "Timed out",
    Outcome.UNSUPPORTED_CONTENT_TYPE: "Unsupported content type",
    Outcome.HTTP_ERROR: "HTTP error",
    Outcome.DNS_ERROR: "DNS error",
    Outcome.TLS_ERROR: "TLS error",
    Outcome.REDIRECT_ERROR: "Redirect error",
    Outcome.CONNECTION_ERROR: "Connection error",
    Outcome.DECODING_ERROR: "Decoding error",
    Outcome.EXTRACTION_FAILED: "Extraction failed",
}

# Failures that may well go away on a later try, whatever the URL: the fetch and webhook tasks
# retry them, and the admin shows them amber rather than red. (A name that does not exist is the
# one DNS error the fetcher knows to be permanent.)
TRANSIENT_OUTCOMES = frozenset({Outcome.TIMEOUT, Outcome.CONNECTION_ERROR, Outcome.DNS_ERROR})
# Answers of a server that is briefly overloaded or restarting; any other 4xx will not change.
TRANSIENT_HTTP_STATUSES = frozenset({408, 425, 429})


def transient_failure(outcome: Outcome | str, http_status: int | None = None) -> bool:
    """Whether a failure with this outcome (and, for an HTTP error, this status) may succeed on a
    later try."""
    if outcome == Outcome.HTTP_ERROR:
        return http_status is not None and (http_status in TRANSIENT_HTTP_STATUSES or http_status >= 500)
    return outcome in TRANSIENT_OUTCOMES


@dataclass(frozen=True)
class FetchLimits:
    """Every bound a fetch works within; the defaults are the production ones."""

    max_bytes: int = 10 * 1024 * 1024
    timeout_connect: float = 5.0
    timeout_read: float = 10.0
    timeout_total: float = 30.0
    max_redirects: int = 5
    max_url_length: int = 2048
    allow_private_networks: bool = False
    allowed_ports: frozenset[int] = frozenset({80, 443})
    max_pdf_pages: int = 200
    pdf_timeout: float = 10.0
    user_agent: str = "VerifierBot/0.1 (fact-check source archiver)"
    # Only for tests and benchmarks: networks (e.g. "127.0.0.1/32") treated as public so a local
    # server can stand in for a public site while every other non-public range stays refused.
    extra_allowed_networks: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.max_bytes < 1 or self.max_redirects < 0 or self.max_url_length < 1:
            raise ValueError("max_bytes and max_url_length must be positive, max_redirects >= 0")
        for name in ("timeout_connect", "timeout_read", "timeout_total", "pdf_timeout"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        for network in self.extra_allowed_networks:
            ipaddress.ip_network(network)


DEFAULT_LIMITS = FetchLimits()


@dataclass(frozen=True)
class FetchResult:
    """Everything one fetch learned; safe to store and to show (never carries a password)."""

    requested_url: str
    final_url: str
    outcome: Outcome
    reason: str = ""
    block_reason: str = ""
    transient: bool = False
    http_status: int | None = None
    retry_after: float | None = None
    redirect_chain: tuple[dict[str, Any], ...] = ()
    connected_ip: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = ""
    charset: str = ""
    charset_source: str = ""
    bytes_received: int = 0
    body: bytes = field(default=b"", repr=False)
    truncated: bool = False
    content_sha256: str = ""
    title: str = ""
    author: str = ""
    published: str = ""
    text: str = field(default="", repr=False)
    text_sha256: str = ""
    elapsed: float = 0.0
    # Set when extraction had to compromise (fallback extractor, PDF page or time limit).
    extraction_note: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome == Outcome.FETCHED

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable copy without the body."""
        data: dict[str, Any] = {}
        for item in fields(self):
            if item.name == "body":
                continue
            data[item.name] = getattr(self, item.name)
        data["outcome"] = str(self.outcome)
        data["redirect_chain"] = [dict(hop) for hop in self.redirect_chain]
        data["headers"] = dict(self.headers)
        data["body_size"] = len(self.body)
        return data


class UrlRefused(ValueError):
    """A URL refused before any network access; raised by check_url and normalize_url."""

    def __init__(self, outcome: Outcome, reason: str, block_reason: str = "") -> None:
        super().__init__(reason)
        self.outcome = outcome
        self.reason = reason
        self.block_reason = block_reason


class FetchError(Exception):
    """Internal: stops a fetch with a classified outcome."""

    def __init__(
        self,
        outcome: Outcome,
        reason: str,
        *,
        block_reason: str = "",
        transient: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(reason)
        self.outcome = outcome
        self.reason = reason
        self.block_reason = block_reason
        self.transient = transient
        self.retry_after = retry_after
