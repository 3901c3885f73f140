"""Which IP addresses a fetch may connect to, and the default resolver."""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable
from functools import lru_cache

from .result import FetchLimits

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

_net4 = ipaddress.IPv4Network
_net6 = ipaddress.IPv6Network

METADATA = "a cloud metadata endpoint"

# Never fetched, whatever the limits say: no fact-check source lives there.
_ALWAYS_REFUSED: tuple[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str], ...] = (
    (_net4("169.254.169.254/32"), METADATA),
    (_net4("169.254.170.2/32"), METADATA),
    (_net4("100.100.100.200/32"), METADATA),
    (_net4("168.63.129.16/32"), "a cloud platform endpoint"),
    (_net6("fd00:ec2::254/128"), METADATA),
)

# IANA special-purpose registry, most specific first.
_IPV4_NON_PUBLIC: tuple[tuple[ipaddress.IPv4Network, str], ...] = (
    (_net4("0.0.0.0/8"), "unspecified ('this network')"),
    (_net4("10.0.0.0/8"), "private"),
    (_net4("100.64.0.0/10"), "shared address space (CGNAT)"),
    (_net4("127.0.0.0/8"), "loopback"),
    (_net4("169.254.0.0/16"), "link-local"),
    (_net4("172.16.0.0/12"), "private"),
    (_net4("192.0.0.0/24"), "reserved for IETF protocol assignments"),
    (_net4("192.0.2.0/24"), "reserved for documentation"),
    (_net4("192.88.99.0/24"), "reserved (6to4 relay anycast)"),
    (_net4("192.168.0.0/16"), "private"),
    (_net4("198.18.0.0/15"), "reserved for benchmarking"),
    (_net4("198.51.100.0/24"), "reserved for documentation"),
    (_net4("203.0.113.0/24"), "reserved for documentation"),
    (_net4("224.0.0.0/4"), "multicast"),
    (_net4("240.0.0.0/4"), "reserved"),
)

_IPV6_NON_PUBLIC: tuple[tuple[ipaddress.IPv6Network, str], ...] = (
    (_net6("::/128"), "unspecified"),
    (_net6("::1/128"), "loopback"),
    (_net6("64:ff9b:1::/48"), "local-use NAT64"),
    (_net6("100::/64"), "discard-only"),
    (_net6("2001::/32"), "a Teredo tunnel address"),
    (_net6("2001::/23"), "reserved for IETF protocol assignments"),
    (_net6("2001:db8::/32"), "reserved for documentation"),
    (_net6("3fff::/20"), "reserved for documentation"),
    (_net6("5f00::/16"), "reserved (SRv6)"),
    (_net6("fc00::/7"), "unique local (private)"),
    (_net6("fe80::/10"), "link-local"),
    (_net6("fec0::/10"), "site-local"),
    (_net6("ff00::/8"), "multicast"),
)

_GLOBAL_UNICAST = _net6("2000::/3")
_IPV4_MAPPED = _net6("::ffff:0:0/96")
_IPV4_TRANSLATED = _net6("::ffff:0:0:0/96")
_IPV4_COMPATIBLE = _net6("::/96")
_NAT64 = _net6("64:ff9b::/96")
_SIX_TO_FOUR = _net6("2002::/16")

_HEX_LABEL = re.compile(r"0x[0-9a-f]*")


def resolve_host(host: str, port: int) -> list[str]:
    """Resolve host with the system resolver; one lookup, addresses in preference order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _embedded_ipv4(address: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, str] | None:
    if address in _IPV4_MAPPED:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF), "an IPv4-mapped form of"
    if address in _IPV4_TRANSLATED:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF), "an IPv4-translated form of"
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF), "a NAT64 form of"
    if address in _SIX_TO_FOUR:
        return ipaddress.IPv4Address((int(address) >> 80) & 0xFFFFFFFF), "a 6to4 form of"
    return None


def _ipv4_label(address: ipaddress.IPv4Address) -> str | None:
    for network, label in _IPV4_NON_PUBLIC:
        if address in network:
            return label
    return None


def _always_refused(address: IPAddress) -> str | None:
    for network, label in _ALWAYS_REFUSED:
        if address.version == network.version and address in network:
            return label
    return None


def non_public_label(address: IPAddress) -> str | None:
    """Say why address is not a public unicast address, or None when it is public."""
    label = _always_refused(address)
    if label:
        return label
    if isinstance(address, ipaddress.IPv4Address):
        return _ipv4_label(address)
    address = ipaddress.IPv6Address(int(address))  # drop any scope id
    embedded = _embedded_ipv4(address)
    if embedded:
        inner, form = embedded
        inner_label = _always_refused(inner) or _ipv4_label(inner)
        return f"{form} {inner}, which is {inner_label}" if inner_label else None
    if address in _IPV4_COMPATIBLE and int(address) > 1:
        inner = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        return f"a deprecated IPv4-compatible form of {inner}"
    for network, label in _IPV6_NON_PUBLIC:
        if address in network:
            if label.startswith("a Teredo") and address.teredo:
                return f"{label} (client {address.teredo[1]})"
            return label
    if address not in _GLOBAL_UNICAST:
        return "reserved (outside global unicast 2000::/3)"
    return None


@lru_cache(maxsize=32)
def _networks(specs: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(spec) for spec in specs)


def address_refusal(address: IPAddress, limits: FetchLimits) -> str | None:
    """Return why a fetch must not connect to address under limits, or None if it may."""
    always = _always_refused(address)
    if always:
        return f"address {address} is {always}"
    embedded = _embedded_ipv4(address) if isinstance(address, ipaddress.IPv6Address) else None
    if embedded and (inner_always := _always_refused(embedded[0])):
        inner, form = embedded
        return f"address {address} is {form} {inner}, which is {inner_always}"
    if limits.allow_private_networks:
        return None
    for network in _networks(limits.extra_allowed_networks):
        if address.version == network.version and address in network:
            return None
    label = non_public_label(address)
    return f"address {address} is {label}" if label else None


def parse_address(text: str) -> IPAddress:
    """Parse one resolver answer, accepting an IPv6 scope id."""
    return ipaddress.ip_address(text.strip())


def ends_in_number(host: str) -> bool:
    """Tell whether browsers would parse host as an IPv4 address (WHATWG 'ends in a number')."""
    labels = host.split(".")
    if labels and labels[-1] == "":
        labels.pop()
    if not labels:
        return False
    last = labels[-1].lower()
    return last.isdigit() or bool(_HEX_LABEL.fullmatch(last))


def is_canonical_ipv4(host: str) -> bool:
    parts = host.split(".")
    return len(parts) == 4 and all(
        part.isdigit()
        and part.isascii()
        and (part == "0" or not part.startswith("0"))
        and int(part) <= 255
        for part in parts
    )


def inet_aton_reading(host: str) -> ipaddress.IPv4Address | None:
    """Read host the way inet_aton and browsers do (octal, hex, 1-4 parts); None if they can't."""
    parts = host.lower().split(".")
    if parts and parts[-1] == "":
        parts.pop()
    if not 1 <= len(parts) <= 4:
        return None
    numbers: list[int] = []
    for part in parts:
        try:
            if part.startswith("0x"):
                numbers.append(int(part[2:] or "0", 16))
            elif len(part) > 1 and part.startswith("0"):
                numbers.append(int(part, 8))
            elif part.isdigit() and part.isascii():
                numbers.append(int(part))
            else:
                return None
        except ValueError:
            return None
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(numbers)):
        return None
    value = last
    for index, number in enumerate(head):
        value += number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)
