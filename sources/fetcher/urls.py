"""URL parsing, normalisation and the static (no network) checks."""

from __future__ import annotations

import contextlib
import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import quote, urljoin, urlsplit

from .addresses import (
    IPAddress,
    address_refusal,
    ends_in_number,
    inet_aton_reading,
    is_canonical_ipv4,
)
from .result import DEFAULT_LIMITS, FetchLimits, Outcome, UrlRefused

DEFAULT_PORTS = {"http": 80, "https": 443}
ALLOWED_SCHEMES = frozenset(DEFAULT_PORTS)

_SCHEME = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*):")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_HOST_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)")
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?"
_USERINFO_IN_TEXT = re.compile(r"//[^/?#\s]*@")


@dataclass(frozen=True)
class ParsedUrl:
    """A URL taken apart and normalised; credentials are never kept, only the fact of them."""

    scheme: str
    host: str
    port: int
    path_query: str
    has_credentials: bool = False
    ip: IPAddress | None = None

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if self.ip is not None and self.ip.version == 6 else self.host
        if self.port != DEFAULT_PORTS.get(self.scheme):
            return f"{host}:{self.port}"
        return host

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.netloc}{self.path_query}"

    @property
    def host_header(self) -> str:
        return self.netloc


def _invalid(reason: str) -> UrlRefused:
    return UrlRefused(Outcome.INVALID_URL, reason)


def _blocked(block_reason: str, reason: str) -> UrlRefused:
    return UrlRefused(Outcome.BLOCKED, reason, block_reason)


def _split_host_port(hostport: str) -> tuple[str, str, bool]:
    if hostport.startswith("["):
        inner, bracket, rest = hostport[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise _invalid("the IPv6 host is not properly bracketed")
        return inner, rest[1:], True
    if hostport.count(":") > 1:
        raise _invalid("the host contains ':' outside brackets")
    host, _, port = hostport.partition(":")
    return host, port, False


def _normalise_host(raw: str, bracketed: bool) -> tuple[str, IPAddress | None]:
    if "%" in raw:
        raise _invalid("the host contains percent-encoding or a zone id")
    if bracketed:
        try:
            address = ipaddress.IPv6Address(raw)
        except ValueError:
            raise _invalid("the bracketed host is not an IPv6 address") from None
        return address.compressed, address
    host = raw[:-1] if raw.endswith(".") else raw
    if not host:
        raise _invalid("the URL has no host")
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise _invalid("the host is not a valid internationalised domain name") from None
    host = host.lower()
    if is_canonical_ipv4(host):
        return host, ipaddress.IPv4Address(host)
    if len(host) > 253 or not all(_HOST_LABEL.fullmatch(label) for label in host.split(".")):
        raise _invalid("the host name is not valid")
    return host, None


def parse_url(url: str) -> ParsedUrl:
    """Parse and normalise an absolute URL with an authority; raise UrlRefused if unparsable."""
    text = url.strip()
    if not text:
        raise _invalid("the URL is empty")
    if _CONTROL.search(text):
        raise _invalid("the URL contains control characters")
    match = _SCHEME.match(text)
    if not match:
        raise _invalid("the URL has no scheme")
    try:
        parts = urlsplit(text)
    except ValueError:
        raise _invalid("the URL cannot be parsed") from None
    if not text[match.end() :].startswith("//") or not parts.netloc:
        raise _invalid("the URL has no host")
    _, at, hostport = parts.netloc.rpartition("@")
    if " " in hostport or "\\" in hostport:
        raise _invalid("the host contains a space or a backslash")
    raw_host, raw_port, bracketed = _split_host_port(hostport)
    scheme = match.group(1).lower()
    host, ip = _normalise_host(raw_host, bracketed)
    if raw_port:
        if not (raw_port.isascii() and raw_port.isdigit()) or int(raw_port) > 65535:
            raise _invalid("the port is not a number between 0 and 65535")
        port = int(raw_port)
    else:
        port = DEFAULT_PORTS.get(scheme, 0)
    path = quote(parts.path, safe=_PATH_SAFE) or "/"
    query = quote(parts.query, safe=_QUERY_SAFE)
    return ParsedUrl(
        scheme=scheme,
        host=host,
        port=port,
        path_query=f"{path}?{query}" if query else path,
        has_credentials=bool(at),
        ip=ip,
    )


def normalize_url(url: str) -> str:
    """Return the canonical form of url: lower-case scheme/host, punycode, no default port,
    no fragment, no user name or password. Raise UrlRefused(INVALID_URL) if unparsable."""
    return parse_url(url).url


def redact(text: str) -> str:
    """Remove user name and password from every URL in text (for headers and messages)."""
    return _USERINFO_IN_TEXT.sub("//", text)


def check_parsed(url: str, limits: FetchLimits) -> ParsedUrl:
    """Run every check that needs no network and return the parsed URL, or raise UrlRefused."""
    text = url.strip()
    if len(text) > limits.max_url_length:
        raise _invalid(f"the URL is longer than {limits.max_url_length} characters")
    match = _SCHEME.match(text)
    if match and match.group(1).lower() not in ALLOWED_SCHEMES:
        scheme = match.group(1).lower()[:20]
        raise _blocked("scheme", f"scheme {scheme!r} is not allowed (only http and https)")
    target = parse_url(text)
    if len(target.url) > limits.max_url_length:
        raise _invalid(f"the normalised URL is longer than {limits.max_url_length} characters")
    if target.has_credentials:
        raise _blocked("credentials", "the URL contains credentials (user name or password)")
    if target.port not in limits.allowed_ports:
        raise _blocked("port", f"port {target.port} is not allowed")
    if target.ip is None and ends_in_number(target.host):
        reading = inet_aton_reading(target.host)
        if reading is None:
            raise _invalid(f"the host {target.host} looks numeric but is not an IPv4 address")
        raise _blocked(
            "address",
            f"host {target.host} is a non-canonical numeric address (it reads as {reading})",
        )
    if target.ip is not None:
        refusal = address_refusal(target.ip, limits)
        if refusal:
            raise _blocked("address", refusal)
    elif not limits.allow_private_networks and (
        target.host == "localhost" or target.host.endswith(".localhost")
    ):
        raise _blocked("address", f"host {target.host} is a loopback name")
    return target


def check_url(url: str, limits: FetchLimits = DEFAULT_LIMITS) -> str:
    """Validate url without network access and return it normalised; raise UrlRefused."""
    return check_parsed(url, limits).url


def join_location(base: str, location: str) -> str:
    """Resolve a redirect Location against the URL that answered with it."""
    location = location.strip()
    # http.client decodes header bytes as latin-1; undo that so UTF-8 paths survive.
    with contextlib.suppress(UnicodeError):
        location = location.encode("latin-1").decode("utf-8")
    return urljoin(base, location)
