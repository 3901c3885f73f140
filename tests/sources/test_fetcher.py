"""The guarded fetcher against hostile URLs, resolvers and servers (all on loopback)."""

from __future__ import annotations

import dataclasses
import email.utils
import gzip
import hashlib
import json
import logging
import shutil
import socket
import ssl
import struct
import subprocess
import time
import tracemalloc
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from sources.fetcher import (
    FetchLimits,
    FetchResult,
    Outcome,
    UrlRefused,
    check_url,
    fetch,
    normalize_url,
)
from sources.fetcher import client as fetcher_client
from sources.fetcher import http as fetcher_http
from sources.fetcher.addresses import address_refusal, parse_address
from sources.quotes import quote_found

from .conftest import RawServer

pytestmark = pytest.mark.usefixtures("connect_log")

SECRET = "s3cr3t-pw"
PUBLIC_IP = "93.184.216.34"

RawServerFactory = Callable[..., RawServer]


class FakeDNS:
    """A resolver that answers from a table and counts its lookups."""

    def __init__(self, table: dict[str, list[str]], later: dict[str, list[str]] | None = None):
        self.table = table
        self.later = later or {}
        self.calls: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        if len(self.calls) > 1 and host in self.later:
            return self.later[host]
        return self.table[host]


def local_limits(*ports: int, **overrides: Any) -> FetchLimits:
    """Limits for a loopback test server: private networks allowed, the server's port open."""
    return FetchLimits(allow_private_networks=True, allowed_ports=frozenset(ports), **overrides)


def public_limits(*ports: int, **overrides: Any) -> FetchLimits:
    """Limits that treat only 127.0.0.1 as public; every other private range stays refused."""
    return FetchLimits(
        extra_allowed_networks=("127.0.0.1/32",),
        allowed_ports=frozenset({80, 443, *ports}),
        **overrides,
    )


def wait_for(predicate: Callable[[], bool], timeout: float = 3.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def all_field_text(result: FetchResult) -> str:
    """Every field of a result, body and text included, as one string to search."""
    parts = [repr(getattr(result, item.name)) for item in dataclasses.fields(result)]
    return "\n".join(parts) + json.dumps(result.as_dict())


def send(conn: socket.socket, status: str, headers: dict[str, str], body: bytes = b"") -> None:
    head = f"HTTP/1.1 {status}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    conn.sendall(head.encode("latin-1") + b"\r\n" + body)


ARTICLE_PARAGRAPHS = [
    "The United States has said that defence cooperation between Russia and Iran is "
    "strengthening and that Moscow has acquired hundreds of drones from Tehran that have also "
    "been used to attack Ukraine.",
    "In classified documents released by Reuters, the White House said the drones were "
    "manufactured in Iran, transported via the Caspian Sea, and used by Russian forces against "
    "Ukraine.",
    "According to spokesman John Kirby, the United States had information that Russia was "
    "acquiring materials from Iran to build a drone manufacturing plant that would be fully "
    "operational early next year.",
    "He said that they are releasing photos of the location of the plant, which will be "
    "established in Russia\u2019s Alaboga Special Economic Zone.",
    "Iran has also admitted to sending drones to Russia, but Iran says that these drones were "
    "exported before the attack on Ukraine.",
]
ARTICLE_TITLE = "Russia acquires hundreds of Iranian drones for attack on Ukraine, White House"


def article_html(charset_meta: bool = True) -> str:
    paragraphs = "\n".join(f"<p>{text}</p>" for text in ARTICLE_PARAGRAPHS)
    meta = '<meta charset="utf-8">' if charset_meta else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head>{meta}
<title>{ARTICLE_TITLE}</title>
<meta name="author" content="Jane Reporter">
<meta property="article:published_time" content="2022-10-20T08:30:00+00:00">
</head><body>
<nav><a href="/">Home</a> | <a href="/world">World</a> | <a href="/sport">Sport</a></nav>
<article><h1>{ARTICLE_TITLE}</h1>
{paragraphs}
</article>
<footer>Example News. All rights reserved.</footer>
</body></html>"""


def make_pdf(pages: list[str], *, title: str = "", author: str = "") -> bytes:
    """A minimal valid PDF with one line of Helvetica text per page and an Info dictionary."""

    def literal(text: str) -> str:
        return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    kids = " ".join(f"{4 + 2 * index} 0 R" for index in range(len(pages)))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for index, text in enumerate(pages):
        stream = f"BT /F1 12 Tf 72 720 Td ({literal(text)}) Tj ET".encode("latin-1")
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * index} 0 R >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    objects.append(
        f"<< /Title ({literal(title)}) /Author ({literal(author)}) "
        f"/CreationDate (D:20221020083000Z) >>".encode("latin-1")
    )
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        len(objects),
        xref,
    )
    return bytes(out)


@lru_cache(maxsize=1)
def gzip_bomb() -> bytes:
    """50 MiB of zeros, gzip-compressed to about 50 KB."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1024 * 1024)
    return b"".join(compressor.compress(block) for _ in range(50)) + compressor.flush()


# ---------------------------------------------------------------------------------------------
# URL normalisation and static checks (no network)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("  HTTP://Example.COM  ", "http://example.com/"),
        ("https://example.com:443/a/b?x=1&y=2#frag", "https://example.com/a/b?x=1&y=2"),
        ("http://example.com:80", "http://example.com/"),
        ("http://example.com:8080/p", "http://example.com:8080/p"),
        ("http://example.com./path with space", "http://example.com/path%20with%20space"),
        ("http://[2606:4700:4700:0::1111]/", "http://[2606:4700:4700::1111]/"),
        ("http://example.com/caf%C3%A9?q=ü", "http://example.com/caf%C3%A9?q=%C3%BC"),
    ],
)
def test_normalize_url_canonical_form(url: str, expected: str) -> None:
    assert normalize_url(url) == expected


def test_normalize_url_turns_idn_host_into_punycode() -> None:
    assert normalize_url("https://Bücher.example/straße") == (
        "https://xn--bcher-kva.example/stra%C3%9Fe"
    )
    assert check_url("http://пример.испытание/") == "http://xn--e1afmkfd.xn--80akhbyknj4f/"


def test_normalize_url_drops_credentials() -> None:
    assert normalize_url(f"http://alice:{SECRET}@example.com/x") == "http://example.com/x"
    assert normalize_url(f"http://alice:p@ss:{SECRET}@example.com/") == "http://example.com/"


@pytest.mark.parametrize(
    "url",
    [
        "",
        "example.com/no-scheme",
        "http://",
        "http:///path-only",
        "http://[::1/",
        "http://exa mple.com/",
        "http://example.com:99999/",
        "http://example.com:12ab/",
        "http://%31%32%37.0.0.1/",
        "http://example.com/\x00",
        "http://a..b/",
        "http://" + "a" * 64 + ".com/",
        "http://[fe80::1%25eth0]/",
    ],
)
def test_normalize_url_refuses_unparsable_urls(url: str) -> None:
    with pytest.raises(UrlRefused) as refused:
        normalize_url(url)
    assert refused.value.outcome == Outcome.INVALID_URL


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/file.txt",
        "file:///etc/passwd",
        "gopher://example.com:70/_GET",
        "javascript:alert(document.cookie)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "ws://example.com/socket",
    ],
)
def test_check_url_refuses_other_schemes(url: str) -> None:
    with pytest.raises(UrlRefused) as refused:
        check_url(url)
    assert (refused.value.outcome, refused.value.block_reason) == (Outcome.BLOCKED, "scheme")


@pytest.mark.parametrize("port", [8080, 22, 0, 6379])
def test_check_url_refuses_ports_other_than_80_and_443(port: int) -> None:
    with pytest.raises(UrlRefused) as refused:
        check_url(f"http://example.com:{port}/")
    assert refused.value.block_reason == "port"
    assert refused.value.reason == f"port {port} is not allowed"


@pytest.mark.parametrize(
    "url",
    [
        f"http://alice:{SECRET}@example.com/",
        "http://alice@example.com/",
        f"https://:{SECRET}@e.com/",
    ],
)
def test_check_url_refuses_credentials_without_repeating_them(url: str) -> None:
    with pytest.raises(UrlRefused) as refused:
        check_url(url)
    assert refused.value.block_reason == "credentials"
    assert SECRET not in str(refused.value)


def test_check_url_refuses_urls_over_the_length_limit() -> None:
    long_url = "http://example.com/" + "a" * 2040
    with pytest.raises(UrlRefused) as refused:
        check_url(long_url)
    assert refused.value.outcome == Outcome.INVALID_URL
    assert "2048" in refused.value.reason
    assert check_url("http://example.com/" + "a" * 2000).startswith("http://example.com/aaa")


NUMERIC_HOSTS = [
    "2130706433",
    "0x7f000001",
    "127.1",
    "0177.0.0.1",
    "0x7f.0.0.1",
    "127.0.0.01",
    "017700000001",
    "167772161",
]


@pytest.mark.parametrize("host", NUMERIC_HOSTS)
def test_check_url_refuses_non_canonical_numeric_hosts_even_on_private_networks(host: str) -> None:
    for limits in (FetchLimits(), FetchLimits(allow_private_networks=True)):
        with pytest.raises(UrlRefused) as refused:
            check_url(f"http://{host}/", limits)
        assert refused.value.block_reason == "address"
        assert "non-canonical numeric address" in refused.value.reason


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://10.0.0.5/", "address 10.0.0.5 is private"),
        ("http://127.0.0.1/", "loopback"),
        ("http://[::1]/", "loopback"),
        ("http://[::ffff:127.0.0.1]/", "IPv4-mapped form of 127.0.0.1"),
        ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
        ("http://localhost/", "loopback name"),
        ("http://api.localhost/", "loopback name"),
    ],
)
def test_check_url_refuses_literal_non_public_hosts(url: str, expected: str) -> None:
    with pytest.raises(UrlRefused) as refused:
        check_url(url)
    assert refused.value.block_reason == "address"
    assert expected in refused.value.reason


def test_check_url_accepts_a_public_url_and_returns_it_normalised() -> None:
    assert check_url("HTTPS://Example.org/Path?q=1#top") == "https://example.org/Path?q=1"
    assert check_url(f"http://{PUBLIC_IP}/") == f"http://{PUBLIC_IP}/"


# ---------------------------------------------------------------------------------------------
# Refusals before any connection
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["ftp://127.0.0.1/", "file:///etc/passwd", "gopher://127.0.0.1/", "javascript:alert(1)"],
)
def test_fetch_refuses_other_schemes_without_connecting(url: str, connect_log: list) -> None:
    result = fetch(url, limits=FetchLimits(allow_private_networks=True))
    assert (result.outcome, result.block_reason) == (Outcome.BLOCKED, "scheme")
    assert not result.transient
    assert connect_log == []


@pytest.mark.parametrize("port", [8080, 22, 0])
def test_fetch_refuses_disallowed_ports_without_connecting(port: int, connect_log: list) -> None:
    result = fetch(f"http://127.0.0.1:{port}/", limits=FetchLimits(allow_private_networks=True))
    assert (result.outcome, result.block_reason) == (Outcome.BLOCKED, "port")
    assert result.reason == f"port {port} is not allowed"
    assert connect_log == []


@pytest.mark.parametrize(
    "url_template",
    [
        "http://alice:{secret}@127.0.0.1:{port}/",
        "http://alice:{secret}@exa mple.com/",
        "http://:{secret}@127.0.0.1:{port}/page?x=1",
    ],
)
def test_fetch_with_credentials_is_blocked_and_never_leaks_the_password(
    url_template: str,
    httpserver: HTTPServer,
    caplog: pytest.LogCaptureFixture,
    connect_log: list,
) -> None:
    caplog.set_level(logging.DEBUG)
    url = url_template.format(secret=SECRET, port=httpserver.port)
    result = fetch(url, limits=local_limits(httpserver.port))
    assert result.outcome in (Outcome.BLOCKED, Outcome.INVALID_URL)
    if result.outcome == Outcome.BLOCKED:
        assert result.block_reason == "credentials"
    assert SECRET not in all_field_text(result)
    assert SECRET not in caplog.text
    assert connect_log == []
    assert httpserver.log == []


def test_fetch_refuses_a_too_long_url(connect_log: list) -> None:
    result = fetch(
        "http://127.0.0.1/" + "x" * 3000, limits=FetchLimits(allow_private_networks=True)
    )
    assert result.outcome == Outcome.INVALID_URL
    assert result.requested_url == ""
    assert connect_log == []


@pytest.mark.parametrize("host", NUMERIC_HOSTS[:4])
def test_fetch_refuses_numeric_host_forms(host: str, tripwire: RawServer, connect_log: list):
    result = fetch(f"http://{host}:{tripwire.port}/", limits=local_limits(tripwire.port))
    assert (result.outcome, result.block_reason) == (Outcome.BLOCKED, "address")
    assert connect_log == []
    assert tripwire.connections == 0


# ---------------------------------------------------------------------------------------------
# Addresses: resolved once, every answer checked, the checked address is the one connected to
# ---------------------------------------------------------------------------------------------

NON_PUBLIC_ADDRESSES = [
    ("127.0.0.2", "loopback"),
    ("127.255.255.254", "loopback"),
    ("10.0.0.5", "address 10.0.0.5 is private"),
    ("172.16.3.4", "private"),
    ("172.31.255.255", "private"),
    ("192.168.1.10", "private"),
    ("169.254.169.254", "cloud metadata"),
    ("169.254.10.10", "link-local"),
    ("100.64.0.1", "CGNAT"),
    ("100.127.255.254", "CGNAT"),
    ("0.0.0.0", "unspecified"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"),
    ("198.18.0.1", "benchmarking"),
    ("198.19.255.255", "benchmarking"),
    ("192.0.2.1", "documentation"),
    ("198.51.100.7", "documentation"),
    ("203.0.113.9", "documentation"),
    ("192.0.0.170", "IETF"),
    ("::1", "loopback"),
    ("::", "unspecified"),
    ("fd00:ec2::254", "cloud metadata"),
    ("fc00::1", "unique local"),
    ("fd12:3456:789a::1", "unique local"),
    ("fe80::1", "link-local"),
    ("fe80::1%1", "link-local"),
    ("fec0::1", "site-local"),
    ("ff02::1", "multicast"),
    ("::ffff:127.0.0.1", "IPv4-mapped form of 127.0.0.1, which is loopback"),
    ("::ffff:10.0.0.1", "IPv4-mapped form of 10.0.0.1, which is private"),
    ("::ffff:169.254.169.254", "cloud metadata"),
    ("::ffff:0:a9fe:a9fe", "IPv4-translated form of 169.254.169.254"),
    ("::127.0.0.1", "IPv4-compatible form of 127.0.0.1"),
    ("::10.0.0.1", "IPv4-compatible"),
    ("2002:7f00:1::1", "6to4 form of 127.0.0.1"),
    ("2002:a00:1::1", "6to4 form of 10.0.0.1"),
    ("2002:a9fe:a9fe::", "6to4 form of 169.254.169.254"),
    ("64:ff9b::7f00:1", "NAT64 form of 127.0.0.1"),
    ("64:ff9b::a9fe:a9fe", "NAT64 form of 169.254.169.254"),
    ("64:ff9b:1::a00:1", "local-use NAT64"),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"),
    ("2001:db8::1", "documentation"),
    ("100::1", "discard-only"),
    ("3fff::1", "documentation"),
    ("4000::1", "reserved"),
]


@pytest.mark.parametrize(("address", "expected"), NON_PUBLIC_ADDRESSES)
def test_fetch_refuses_a_host_resolving_to_a_non_public_address(
    address: str, expected: str, tripwire: RawServer, connect_log: list
) -> None:
    dns = FakeDNS({"target.test": [address]})
    result = fetch(
        f"http://target.test:{tripwire.port}/", limits=public_limits(tripwire.port), resolver=dns
    )
    assert (result.outcome, result.block_reason) == (Outcome.BLOCKED, "address")
    assert expected in result.reason
    assert not result.transient
    assert result.connected_ip is None
    assert dns.calls == ["target.test"]
    assert connect_log == []
    assert tripwire.connections == 0


@pytest.mark.parametrize(
    "address",
    [
        "93.184.216.34",
        "8.8.8.8",
        "2606:4700:4700::1111",
        "::ffff:93.184.216.34",
        "64:ff9b::5db8:d822",
        "2002:5db8:d822::1",
    ],
)
def test_public_addresses_are_allowed(address: str) -> None:
    assert address_refusal(parse_address(address), FetchLimits()) is None


def test_private_network_allowance_still_refuses_cloud_metadata() -> None:
    limits = FetchLimits(allow_private_networks=True)
    assert address_refusal(parse_address("10.0.0.5"), limits) is None
    assert address_refusal(parse_address("::1"), limits) is None
    for metadata in ("169.254.169.254", "fd00:ec2::254", "::ffff:169.254.169.254"):
        refusal = address_refusal(parse_address(metadata), limits)
        assert refusal is not None and "metadata" in refusal


def test_extra_allowed_networks_allow_exactly_that_network() -> None:
    limits = FetchLimits(extra_allowed_networks=("127.0.0.1/32",))
    assert address_refusal(parse_address("127.0.0.1"), limits) is None
    assert address_refusal(parse_address("127.0.0.2"), limits) == "address 127.0.0.2 is loopback"
    assert address_refusal(parse_address("::ffff:127.0.0.1"), limits) is not None


def test_a_host_with_one_public_and_one_private_address_is_refused(
    tripwire: RawServer, connect_log: list
) -> None:
    dns = FakeDNS({"mixed.test": [PUBLIC_IP, "127.0.0.2"]})
    result = fetch(
        f"http://mixed.test:{tripwire.port}/", limits=public_limits(tripwire.port), resolver=dns
    )
    assert (result.outcome, result.block_reason) == (Outcome.BLOCKED, "address")
    assert "127.0.0.2" in result.reason
    assert connect_log == []
    assert tripwire.connections == 0


def test_dns_rebinding_is_defeated_by_one_lookup_and_a_pinned_connection(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch, connect_log: list
) -> None:
    system_lookups: list[Any] = []
    real_getaddrinfo = socket.getaddrinfo

    def spying_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        system_lookups.append(host)
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", spying_getaddrinfo)
    httpserver.expect_request("/first").respond_with_data(
        "", status=302, headers={"Location": "/second"}
    )
    httpserver.expect_request("/second").respond_with_data(
        "Pinned page.", content_type="text/plain"
    )
    dns = FakeDNS({"rebind.test": ["127.0.0.1"]}, later={"rebind.test": ["127.0.0.2"]})
    result = fetch(
        f"http://rebind.test:{httpserver.port}/first",
        limits=public_limits(httpserver.port),
        resolver=dns,
    )
    assert result.outcome == Outcome.FETCHED, result.reason
    assert dns.calls == ["rebind.test"]
    assert "rebind.test" not in system_lookups
    assert result.connected_ip == "127.0.0.1"
    assert {address[0] for address in connect_log} == {"127.0.0.1"}
    hosts = [request.headers["Host"] for request, _ in httpserver.log]
    assert hosts == [f"rebind.test:{httpserver.port}"] * 2


def test_connects_over_ipv6_loopback(raw_server: RawServerFactory) -> None:
    def handler(conn: socket.socket, head: bytes, server: RawServer) -> None:
        send(conn, "200 OK", {"Content-Type": "text/plain", "Content-Length": "9"}, b"over IPv6")

    server = raw_server(handler, host="::1")
    dns = FakeDNS({"v6.test": ["::1"]})
    result = fetch(server.url("/"), limits=local_limits(server.port))
    by_name = fetch(
        f"http://v6.test:{server.port}/", limits=local_limits(server.port), resolver=dns
    )
    for outcome in (result, by_name):
        assert outcome.outcome == Outcome.FETCHED, outcome.reason
        assert outcome.connected_ip == "::1"
        assert outcome.text == "over IPv6"


def test_falls_back_to_the_next_checked_address_when_one_refuses(
    httpserver: HTTPServer, connect_log: list
) -> None:
    # Nothing listens on 127.0.0.3 at this port, so the first address refuses the connection.
    httpserver.expect_request("/").respond_with_data("second address", content_type="text/plain")
    dns = FakeDNS({"multi.test": ["127.0.0.3", "127.0.0.1"]})
    result = fetch(
        f"http://multi.test:{httpserver.port}/",
        limits=local_limits(httpserver.port),
        resolver=dns,
    )
    assert result.outcome == Outcome.FETCHED, result.reason
    assert result.connected_ip == "127.0.0.1"
    assert [address[0] for address in connect_log] == ["127.0.0.3", "127.0.0.1"]


# ---------------------------------------------------------------------------------------------
# Redirects
# ---------------------------------------------------------------------------------------------


def test_redirects_are_followed_and_recorded(httpserver: HTTPServer) -> None:
    port = httpserver.port
    httpserver.expect_request("/start").respond_with_data(
        "", status=302, headers={"Location": "/dir/middle"}
    )
    httpserver.expect_request("/dir/middle").respond_with_data(
        "", status=301, headers={"Location": "end?x=1"}
    )
    httpserver.expect_request("/dir/end").respond_with_data("Arrived.", content_type="text/plain")
    result = fetch(f"http://127.0.0.1:{port}/start", limits=local_limits(port))
    assert result.outcome == Outcome.FETCHED, result.reason
    assert result.requested_url == f"http://127.0.0.1:{port}/start"
    assert result.final_url == f"http://127.0.0.1:{port}/dir/end?x=1"
    assert result.redirect_chain == (
        {"url": f"http://127.0.0.1:{port}/start", "status": 302},
        {"url": f"http://127.0.0.1:{port}/dir/middle", "status": 301},
    )
    assert result.text == "Arrived."


def test_redirect_from_a_public_host_to_a_host_resolving_privately_is_blocked(
    httpserver: HTTPServer, tripwire: RawServer, connect_log: list
) -> None:
    httpserver.expect_request("/go").respond_with_data(
        "", status=302, headers={"Location": f"http://internal.test:{tripwire.port}/admin"}
    )
    dns = FakeDNS({"public.test": ["127.0.0.1"], "internal.test": ["127.0.0.2"]})
    result = fetch(
        f"http://public.test:{httpserver.port}/go",
        limits=public_limits(httpserver.port, tripwire.port),
        resolver=dns,
    )
    assert (result.outcome, result.block_reason) == (Outcome.BLOCKED, "address")
    assert "address 127.0.0.2 is loopback" in result.reason
    assert result.final_url == f"http://public.test:{httpserver.port}/go"
    assert result.redirect_chain == ({"url": result.final_url, "status": 302},)
    assert dns.calls == ["public.test", "internal.test"]
    assert {address[0] for address in connect_log} == {"127.0.0.1"}
    assert tripwire.connections == 0


@pytest.mark.parametrize(
    "location",
    [
        "http://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://[fd00:ec2::254]/",
        "http://[::ffff:127.0.0.2]:{tripwire}/",
        "http://0x7f000002:{tripwire}/",
        "http://127.0.0.2:{tripwire}/",
        "http://localhost:{tripwire}/",
    ],
)
def test_redirect_to_a_literal_private_address_is_blocked(
    location: str, httpserver: HTTPServer, tripwire: RawServer, connect_log: list
) -> None:
    httpserver.expect_request("/").respond_with_data(
        "", status=307, headers={"Location": location.format(tripwire=tripwire.port)}
    )
    result = fetch(
        f"http://127.0.0.1:{httpserver.port}/",
        limits=public_limits(httpserver.port, tripwire.port),
    )
    assert (result.outcome, result.block_reason) == (Outcome.BLOCKED, "address")
    assert result.reason.startswith("redirect to ")
    assert {address[0] for address in connect_log} == {"127.0.0.1"}
    assert tripwire.connections == 0


@pytest.mark.parametrize(
    "location", ["file:///etc/passwd", "ftp://127.0.0.1/", "gopher://127.0.0.1:70/"]
)
def test_redirect_to_another_scheme_is_blocked(
    location: str, httpserver: HTTPServer, connect_log: list
) -> None:
    httpserver.expect_request("/").respond_with_data("", status=302, headers={"Location": location})
    result = fetch(httpserver.url_for("/"), limits=local_limits(httpserver.port))
    assert (result.outcome, result.block_reason) == (Outcome.BLOCKED, "scheme")
    assert len(connect_log) == 1


def test_redirect_to_a_disallowed_port_is_blocked(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/").respond_with_data(
        "", status=302, headers={"Location": "http://127.0.0.1:6379/"}
    )
    result = fetch(httpserver.url_for("/"), limits=local_limits(httpserver.port))
    assert (result.outcome, result.block_reason) == (Outcome.BLOCKED, "port")


def test_redirect_to_a_credentialed_url_is_blocked_and_the_password_never_shows(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    target = f"http://bob:p@{SECRET}@127.0.0.1:{httpserver.port}/private"
    httpserver.expect_request("/").respond_with_data("", status=302, headers={"Location": target})
    result = fetch(httpserver.url_for("/"), limits=local_limits(httpserver.port))
    assert (result.outcome, result.block_reason) == (Outcome.BLOCKED, "credentials")
    assert result.headers["location"] == f"http://127.0.0.1:{httpserver.port}/private"
    assert SECRET not in all_field_text(result)
    assert SECRET not in caplog.text
    assert len(httpserver.log) == 1


def test_redirect_loop_is_detected(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/a").respond_with_data("", status=302, headers={"Location": "/b"})
    httpserver.expect_request("/b").respond_with_data("", status=302, headers={"Location": "/a"})
    result = fetch(httpserver.url_for("/a"), limits=local_limits(httpserver.port))
    assert result.outcome == Outcome.REDIRECT_ERROR
    assert "loop" in result.reason
    assert len(httpserver.log) == 2


def test_too_many_redirects(httpserver: HTTPServer) -> None:
    for index in range(5):
        httpserver.expect_request(f"/r{index}").respond_with_data(
            "", status=301, headers={"Location": f"/r{index + 1}"}
        )
    result = fetch(httpserver.url_for("/r0"), limits=local_limits(httpserver.port, max_redirects=2))
    assert result.outcome == Outcome.REDIRECT_ERROR
    assert result.reason == "more than 2 redirects"
    assert len(httpserver.log) == 3
    assert len(result.redirect_chain) == 3


def test_exactly_max_redirects_is_fine(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/r0").respond_with_data("", status=303, headers={"Location": "/r1"})
    httpserver.expect_request("/r1").respond_with_data("", status=308, headers={"Location": "/r2"})
    httpserver.expect_request("/r2").respond_with_data("done", content_type="text/plain")
    result = fetch(httpserver.url_for("/r0"), limits=local_limits(httpserver.port, max_redirects=2))
    assert result.outcome == Outcome.FETCHED, result.reason
    assert [hop["status"] for hop in result.redirect_chain] == [303, 308]


def test_redirect_without_location_is_a_redirect_error(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/").respond_with_data("", status=302)
    result = fetch(httpserver.url_for("/"), limits=local_limits(httpserver.port))
    assert result.outcome == Outcome.REDIRECT_ERROR
    assert "no Location" in result.reason
    assert result.http_status == 302


# ---------------------------------------------------------------------------------------------
# Size limits and content encodings
# ---------------------------------------------------------------------------------------------


def test_content_length_over_the_cap_is_refused_before_reading_the_body(
    raw_server: RawServerFactory,
) -> None:
    def handler(conn: socket.socket, head: bytes, server: RawServer) -> None:
        send(conn, "200 OK", {"Content-Type": "text/html", "Content-Length": "104857600"})
        server.events.append("headers sent")
        try:
            data = conn.recv(1)
        except TimeoutError:
            server.events.append("client waited for the body")
            return
        server.events.append("client closed" if not data else "client sent more")

    server = raw_server(handler)
    result = fetch(server.url("/huge"), limits=local_limits(server.port, max_bytes=1024 * 1024))
    assert result.outcome == Outcome.TOO_LARGE
    assert "Content-Length 104857600" in result.reason
    assert (result.bytes_received, result.body) == (0, b"")
    assert result.elapsed < 1
    assert wait_for(lambda: "client closed" in server.events), server.events


def test_body_over_the_cap_without_content_length_is_truncated(
    raw_server: RawServerFactory,
) -> None:
    def handler(conn: socket.socket, head: bytes, server: RawServer) -> None:
        send(conn, "200 OK", {"Content-Type": "text/plain", "Connection": "close"})
        chunk = b"a" * 65536
        try:
            for _ in range(64):
                conn.sendall(chunk)
        except OSError:
            server.events.append("client stopped reading")

    server = raw_server(handler)
    result = fetch(server.url("/"), limits=local_limits(server.port, max_bytes=100_000))
    assert result.outcome == Outcome.TOO_LARGE
    assert result.truncated
    assert len(result.body) == 100_000
    assert result.content_sha256 == hashlib.sha256(b"a" * 100_000).hexdigest()
    assert result.bytes_received < 4 * 1024 * 1024


def test_gzip_bomb_is_cut_at_the_cap_with_bounded_memory(raw_server: RawServerFactory) -> None:
    bomb = gzip_bomb()
    assert len(bomb) < 100_000

    def handler(conn: socket.socket, head: bytes, server: RawServer) -> None:
        headers = {"Content-Type": "text/html", "Content-Encoding": "gzip"}
        send(conn, "200 OK", headers | {"Content-Length": str(len(bomb))}, bomb)

    # A raw server: its thread allocates next to nothing, so the traced peak is the fetcher's.
    server = raw_server(handler)
    tracemalloc.start()
    try:
        result = fetch(server.url("/"), limits=local_limits(server.port, max_bytes=1024 * 1024))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.outcome == Outcome.TOO_LARGE
    assert result.truncated
    assert len(result.body) == 1024 * 1024
    assert result.body == bytes(1024 * 1024)
    assert result.bytes_received <= len(bomb)
    assert peak < 4 * 1024 * 1024, f"peak traced memory {peak} bytes"


def test_gzip_body_is_decoded_before_extraction(httpserver: HTTPServer) -> None:
    page = article_html().encode()
    compressed = gzip.compress(page)
    httpserver.expect_request("/").respond_with_data(
        compressed, content_type="text/html; charset=utf-8", headers={"Content-Encoding": "gzip"}
    )
    result = fetch(httpserver.url_for("/"), limits=local_limits(httpserver.port))
    assert result.outcome == Outcome.FETCHED, result.reason
    assert result.body == page
    assert result.bytes_received == len(compressed)
    assert result.content_sha256 == hashlib.sha256(page).hexdigest()
    assert result.headers["content-encoding"] == "gzip"
    assert "Alaboga Special Economic Zone" in result.text


@pytest.mark.parametrize("wrapped", [True, False], ids=["zlib", "raw-deflate"])
def test_deflate_body_is_decoded(wrapped: bool, httpserver: HTTPServer) -> None:
    data = ("Plain deflated text. " * 200).encode()
    compressor = zlib.compressobj(wbits=zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
    payload = compressor.compress(data) + compressor.flush()
    httpserver.expect_request("/").respond_with_data(
        payload, content_type="text/plain", headers={"Content-Encoding": "deflate"}
    )
    result = fetch(httpserver.url_for("/"), limits=local_limits(httpserver.port))
    assert result.outcome == Outcome.FETCHED, result.reason
    assert result.body == data


def test_concatenated_gzip_members_are_all_decoded(httpserver: HTTPServer) -> None:
    payload = gzip.compress(b"first member, ") + gzip.compress(b"second member")
    httpserver.expect_request("/").respond_with_data(
        payload, content_type="text/plain", headers={"Content-Encoding": "gzip"}
    )
    result = fetch(httpserver.url_for("/"), limits=local_limits(httpserver.port))
    assert result.text == "first member, second member"


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [
        ("gzip, gzip", "stacked"),
        ("gzip, deflate", "stacked"),
        ("br", "'br' is not supported"),
        ("zstd", "'zstd' is not supported"),
        ("compress", "not supported"),
    ],
)
def test_stacked_and_unknown_encodings_are_refused(
    encoding: str, expected: str, httpserver: HTTPServer
) -> None:
    payload = gzip.compress(gzip.compress(b"<html><body>x</body></html>"))
    httpserver.expect_request("/").respond_with_data(
        payload, content_type="text/html", headers={"Content-Encoding": encoding}
    )
    result = fetch(httpserver.url_for("/"), limits=local_limits(httpserver.port))
    assert result.outcome == Outcome.DECODING_ERROR
    assert expected in result.reason
    assert result.body == b""


@pytest.mark.parametrize(
    "payload",
    [
        b"\x1f\x8b\x08\x00garbage-that-is-not-deflate" * 4,
        gzip.compress(" ".join(str(n * n) for n in range(3000)).encode())[:-200],
    ],
    ids=["corrupt", "truncated"],
)
def test_corrupt_compressed_body_is_a_decoding_error(payload: bytes, httpserver: HTTPServer):
    httpserver.expect_request("/").respond_with_data(
        payload, content_type="text/plain", headers={"Content-Encoding": "gzip"}
    )
    result = fetch(httpserver.url_for("/"), limits=local_limits(httpserver.port))
    assert result.outcome == Outcome.DECODING_ERROR
    assert "gzip body" in result.reason


def test_chunked_transfer_encoding_is_read(raw_server: RawServerFactory) -> None:
    def handler(conn: socket.socket, head: bytes, server: RawServer) -> None:
        send(conn, "200 OK", {"Content-Type": "text/plain", "Transfer-Encoding": "chunked"})
        for piece in (b"chunked ", b"body ", b"arrives"):
            conn.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
            time.sleep(0.01)
        conn.sendall(b"0\r\n\r\n")

    server = raw_server(handler)
    result = fetch(server.url("/"), limits=local_limits(server.port))
    assert result.outcome == Outcome.FETCHED, result.reason
    assert result.text == "chunked body arrives"


# ---------------------------------------------------------------------------------------------
# Time limits and connection failures
# ---------------------------------------------------------------------------------------------


def _trickle(prefix: bytes, interval: float) -> Callable[[socket.socket, bytes, RawServer], None]:
    def handler(conn: socket.socket, head: bytes, server: RawServer) -> None:
        conn.sendall(prefix)
        try:
            for _ in range(60):
                conn.sendall(b"x")
                time.sleep(interval)
        except OSError:
            server.events.append("client hung up")

    return handler


def test_a_server_trickling_the_body_cannot_outlast_the_total_timeout(
    raw_server: RawServerFactory,
) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n"
    server = raw_server(_trickle(head, 0.5))
    started = time.monotonic()
    result = fetch(server.url("/"), limits=local_limits(server.port, timeout_total=2))
    assert result.outcome == Outcome.TIMEOUT
    assert result.transient
    assert "total time limit of 2 s" in result.reason
    assert 1.5 < time.monotonic() - started < 3


def test_a_server_trickling_the_headers_cannot_outlast_the_total_timeout(
    raw_server: RawServerFactory,
) -> None:
    server = raw_server(_trickle(b"HTTP/1.1 200 OK\r\nX-Slow: ", 0.3))
    started = time.monotonic()
    result = fetch(server.url("/"), limits=local_limits(server.port, timeout_total=2))
    assert result.outcome == Outcome.TIMEOUT
    assert result.transient
    assert time.monotonic() - started < 3


@pytest.mark.parametrize("partial", [b"", b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc"])
def test_a_silent_server_hits_the_read_timeout(
    partial: bytes, raw_server: RawServerFactory
) -> None:
    def handler(conn: socket.socket, head: bytes, server: RawServer) -> None:
        conn.sendall(partial)
        time.sleep(3)

    server = raw_server(handler)
    result = fetch(server.url("/"), limits=local_limits(server.port, timeout_read=0.5))
    assert result.outcome == Outcome.TIMEOUT
    assert result.transient
    assert result.reason == "the server sent nothing for 0.5 s"
    assert result.elapsed < 2


def test_connection_refused_is_transient() -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    result = fetch(f"http://127.0.0.1:{port}/", limits=local_limits(port))
    assert result.outcome == Outcome.CONNECTION_ERROR
    assert result.transient
    assert result.reason == "connection to 127.0.0.1 was refused"


@pytest.mark.parametrize("reset", [True, False], ids=["reset", "closed"])
def test_connection_dropped_before_a_response_is_transient(
    reset: bool, raw_server: RawServerFactory
) -> None:
    def handler(conn: socket.socket, head: bytes, server: RawServer) -> None:
        if reset:
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()

    server = raw_server(handler)
    result = fetch(server.url("/"), limits=local_limits(server.port))
    assert result.outcome == Outcome.CONNECTION_ERROR
    assert result.transient


# ---------------------------------------------------------------------------------------------
# TLS: verified against the URL's host name while connected to the pinned IP
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A throwaway CA and a certificate for secure.test signed by it (openssl CLI)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    (folder / "leaf.ext").write_text(
        "subjectAltName=DNS:secure.test\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
    )

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=Verifier Test CA",
    )
    openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "leaf.key",
        "-out",
        "leaf.csr",
        "-subj",
        "/CN=secure.test",
    )
    openssl(
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "leaf.pem",
        "-days",
        "2",
        "-extfile",
        "leaf.ext",
    )
    return {name: folder / f"{name}.pem" for name in ("ca", "leaf")} | {"key": folder / "leaf.key"}


@pytest.fixture
def server_tls(test_ca: dict[str, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(test_ca["leaf"], test_ca["key"])
    return context


@pytest.fixture
def tls_server(server_tls: ssl.SSLContext, raw_server: RawServerFactory) -> RawServer:
    context = server_tls
    names: list[str] = []

    def remember_sni(sslobj: Any, name: str | None, ctx: Any) -> None:
        names.append(str(name))

    context.sni_callback = remember_sni

    def handler(conn: socket.socket, head: bytes, server: RawServer) -> None:
        server.events.extend(f"sni {name}" for name in names)
        send(conn, "200 OK", {"Content-Type": "text/plain", "Content-Length": "6"}, b"secret")

    return raw_server(handler, tls=context)


@pytest.fixture
def trust_test_ca(test_ca: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    context = fetcher_http.tls_context.__wrapped__()
    context.load_verify_locations(test_ca["ca"])
    monkeypatch.setattr(fetcher_http, "tls_context", lambda: context)


@pytest.mark.usefixtures("trust_test_ca")
def test_https_is_verified_against_the_host_name_on_the_pinned_ip(tls_server: RawServer):
    dns = FakeDNS({"secure.test": ["127.0.0.1"]})
    result = fetch(
        f"https://secure.test:{tls_server.port}/",
        limits=public_limits(tls_server.port),
        resolver=dns,
    )
    assert result.outcome == Outcome.FETCHED, result.reason
    assert result.connected_ip == "127.0.0.1"
    assert "sni secure.test" in tls_server.events
    assert f"Host: secure.test:{tls_server.port}".encode() in tls_server.requests[0]


@pytest.mark.usefixtures("trust_test_ca")
def test_https_certificate_for_another_name_is_a_tls_error(tls_server: RawServer) -> None:
    dns = FakeDNS({"other.test": ["127.0.0.1"]})
    result = fetch(
        f"https://other.test:{tls_server.port}/",
        limits=public_limits(tls_server.port),
        resolver=dns,
    )
    assert result.outcome == Outcome.TLS_ERROR
    assert not result.transient


def test_https_certificate_from_an_unknown_ca_is_a_tls_error(tls_server: RawServer) -> None:
    dns = FakeDNS({"secure.test": ["127.0.0.1"]})
    result = fetch(
        f"https://secure.test:{tls_server.port}/",
        limits=public_limits(tls_server.port),
        resolver=dns,
    )
    assert result.outcome == Outcome.TLS_ERROR
    assert "certificate" in result.reason.lower()
    assert not result.transient


@pytest.mark.usefixtures("trust_test_ca")
def test_a_tls_server_trickling_the_headers_cannot_outlast_the_total_timeout(
    server_tls: ssl.SSLContext, raw_server: RawServerFactory
) -> None:
    server = raw_server(_trickle(b"HTTP/1.1 200 OK\r\nX-Slow: ", 0.3), tls=server_tls)
    dns = FakeDNS({"secure.test": ["127.0.0.1"]})
    started = time.monotonic()
    result = fetch(
        f"https://secure.test:{server.port}/",
        limits=public_limits(server.port, timeout_total=2),
        resolver=dns,
    )
    assert result.outcome == Outcome.TIMEOUT, result.reason
    assert time.monotonic() - started < 3


def test_https_to_a_plain_http_server_is_a_tls_error(httpserver: HTTPServer) -> None:
    result = fetch(f"https://127.0.0.1:{httpserver.port}/", limits=local_limits(httpserver.port))
    assert result.outcome == Outcome.TLS_ERROR
    assert not result.transient


# ---------------------------------------------------------------------------------------------
# Content types
# ---------------------------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4


@pytest.mark.parametrize(
    "content_type", ["image/png", "application/octet-stream", "video/mp4", "application/json"]
)
def test_unsupported_content_types_are_refused_without_reading_the_body(
    content_type: str, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/").respond_with_data(PNG, content_type=content_type)
    result = fetch(httpserver.url_for("/"), limits=local_limits(httpserver.port))
    assert result.outcome == Outcome.UNSUPPORTED_CONTENT_TYPE
    assert content_type in result.reason
    assert (result.body, result.bytes_received) == (b"", 0)
    assert result.http_status == 200
    assert not result.transient


@pytest.mark.parametrize("content_type", ["text/html", "text/plain; charset=utf-8"])
def test_a_binary_body_claiming_to_be_text_is_refused(
    content_type: str, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/").respond_with_data(PNG, content_type=content_type)
    result = fetch(httpserver.url_for("/"), limits=local_limits(httpserver.port))
    assert result.outcome == Outcome.UNSUPPORTED_CONTENT_TYPE
    assert "looks binary" in result.reason
    assert result.body == PNG


@pytest.mark.parametrize(
    ("body", "outcome", "content_type"),
    [
        (
            b"<!DOCTYPE html><html><body><p>Sniffed page.</p></body></html>",
            Outcome.FETCHED,
            "text/html",
        ),
        (make_pdf(["Sniffed PDF text"]), Outcome.FETCHED, "application/pdf"),
        (b"just some bytes", Outcome.UNSUPPORTED_CONTENT_TYPE, ""),
    ],
    ids=["html", "pdf", "unknown"],
)
def test_a_response_without_content_type_is_sniffed_for_html_and_pdf_only(
    body: bytes, outcome: Outcome, content_type: str, raw_server: RawServerFactory
) -> None:
    def handler(conn: socket.socket, head: bytes, server: RawServer) -> None:
        send(conn, "200 OK", {"Content-Length": str(len(body))}, body)

    server = raw_server(handler)
    result = fetch(server.url("/"), limits=local_limits(server.port))
    assert result.outcome == outcome, result.reason
    assert result.content_type == content_type
    if outcome != Outcome.FETCHED:
        assert "no Content-Type" in result.reason


def test_xhtml_with_an_xml_declaration_is_extracted(httpserver: HTTPServer) -> None:
    page = (
        '<?xml version="1.0" encoding="iso-8859-1"?>\n'
        '<html xmlns="http://www.w3.org/1999/xhtml"><head><title>Café</title></head>'
        "<body><p>Le café est servi.</p></body></html>"
    ).encode("iso-8859-1")
    httpserver.expect_request("/").respond_with_data(page, content_type="application/xhtml+xml")
    result = fetch(httpserver.url_for("/"), limits=local_limits(httpserver.port))
    assert result.outcome == Outcome.FETCHED, result.reason
    assert result.content_type == "application/xhtml+xml"
    assert (result.charset, result.charset_source) == ("cp1252", "meta")
    assert "Le café est servi." in result.text


# ---------------------------------------------------------------------------------------------
# Character sets
# ---------------------------------------------------------------------------------------------

CYRILLIC = (
    "Россия получила сотни беспилотников из Ирана, заявили в Белом доме. Иран утверждает, "
    "что дроны были экспортированы до вторжения. Завод в особой экономической зоне Алабуга "
    "заработает в полную силу в начале следующего года."
)


@pytest.mark.parametrize(
    ("body", "content_type", "charset", "source", "expected"),
    [
        (
            "\ufeffZürich café".encode(),
            "text/plain; charset=iso-8859-1",
            "utf-8",
            "bom",
            "Zürich café",
        ),
        (
            "\ufeffBOM says UTF-16: naïve".encode("utf-16-le"),
            "text/plain",
            "utf-16-le",
            "bom",
            "naïve",
        ),
        (CYRILLIC.encode("koi8-r"), "text/plain; charset=KOI8-R", "koi8-r", "header", "Алабуга"),
        (
            "<html><head><meta charset='windows-1252'></head><body><p>“Quoted” \u2013 5 €</p>"
            "</body></html>".encode("cp1252"),
            "text/html",
            "cp1252",
            "meta",
            "“Quoted” \u2013 5 €",
        ),
        (
            '<html><head><meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">'
            "</head><body><p>Señor “smart”</p></body></html>".encode("cp1252"),
            "text/html",
            "cp1252",
            "meta",
            "Señor “smart”",
        ),
        (
            f"<html><body><p>{CYRILLIC}</p></body></html>".encode("cp1251"),
            "text/html",
            "cp1251",
            "detected",
            "Алабуга",
        ),
        ("Undeclared UTF-8: déjà vu".encode(), "text/plain", "utf-8", "detected", "déjà vu"),
        (
            "x-bogus charset falls back: ñ".encode(),
            "text/plain; charset=x-bogus",
            "utf-8",
            "detected",
            "ñ",
        ),
    ],
    ids=[
        "utf8-bom-beats-header",
        "utf16-bom",
        "header",
        "meta",
        "http-equiv",
        "detected-1251",
        "detected-utf8",
        "unknown-header-charset",
    ],
)
def test_text_is_decoded_by_bom_then_header_then_meta_then_detection(
    body: bytes,
    content_type: str,
    charset: str,
    source: str,
    expected: str,
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request("/").respond_with_data(body, content_type=content_type)
    result = fetch(httpserver.url_for("/"), limits=local_limits(httpserver.port))
    assert result.outcome == Outcome.FETCHED, result.reason
    assert (result.charset, result.charset_source) == (charset, source)
    assert expected in result.text


def test_undecodable_text_is_a_decoding_error(httpserver: HTTPServer) -> None:
    noise = bytes((index * 7919) % 128 + 128 for index in range(4000))
    httpserver.expect_request("/").respond_with_data(noise, content_type="text/plain")
    result = fetch(httpserver.url_for("/"), limits=local_limits(httpserver.port))
    assert result.outcome == Outcome.DECODING_ERROR
    assert result.body == noise


# ---------------------------------------------------------------------------------------------
# Extraction
# ---------------------------------------------------------------------------------------------


def test_html_article_gives_title_author_date_and_main_text(httpserver: HTTPServer) -> None:
    page = article_html().encode()
    httpserver.expect_request("/news/drones").respond_with_data(
        page, content_type="text/html; charset=utf-8"
    )
    result = fetch(httpserver.url_for("/news/drones"), limits=local_limits(httpserver.port))
    assert result.outcome == Outcome.FETCHED, result.reason
    assert (result.reason, result.block_reason, result.transient) == ("", "", False)
    assert result.http_status == 200
    assert result.content_type == "text/html"
    assert (result.charset, result.charset_source) == ("utf-8", "header")
    assert result.title == ARTICLE_TITLE
    assert result.author == "Jane Reporter"
    assert result.published == "2022-10-20"
    assert "fully operational early next year" in result.text
    assert "All rights reserved" not in result.text
    assert quote_found("Russia's Alaboga Special Economic Zone", result.text)
    assert result.content_sha256 == hashlib.sha256(page).hexdigest()
    assert result.text_sha256 == hashlib.sha256(result.text.encode()).hexdigest()
    assert result.bytes_received == len(page)
    assert result.extraction_note == ""


def test_html_without_main_content_falls_back_to_the_page_text(httpserver: HTTPServer) -> None:
    page = (
        b"<html><head><title>Tiny</title><script>var x = 1;</script></head>"
        b"<body><div>Short note.</div></body></html>"
    )
    httpserver.expect_request("/").respond_with_data(page, content_type="text/html")
    result = fetch(httpserver.url_for("/"), limits=local_limits(httpserver.port))
    assert result.outcome == Outcome.FETCHED, result.reason
    assert result.text == "Short note."
    assert result.title == "Tiny"


@pytest.mark.parametrize(
    "page", [b"", b"<html><head><title>t</title></head><body>  </body></html>"]
)
def test_html_with_no_text_at_all_is_extraction_failed(page: bytes, httpserver: HTTPServer):
    httpserver.expect_request("/").respond_with_data(page, content_type="text/html")
    result = fetch(httpserver.url_for("/"), limits=local_limits(httpserver.port))
    assert result.outcome == Outcome.EXTRACTION_FAILED
    assert result.text_sha256 == ""


def test_plain_text_is_kept_as_the_text(httpserver: HTTPServer) -> None:
    body = "\n".join(ARTICLE_PARAGRAPHS).encode()
    httpserver.expect_request("/a.txt").respond_with_data(body, content_type="text/plain")
    result = fetch(httpserver.url_for("/a.txt"), limits=local_limits(httpserver.port))
    assert result.outcome == Outcome.FETCHED, result.reason
    assert result.text == body.decode()
    assert result.title == ""


def test_pdf_text_and_metadata_are_extracted(httpserver: HTTPServer) -> None:
    pdf = make_pdf(
        ["Iran says the drones were exported before the invasion.", "Page two text."],
        title="Drone report",
        author="White House",
    )
    httpserver.expect_request("/r.pdf").respond_with_data(pdf, content_type="application/pdf")
    result = fetch(httpserver.url_for("/r.pdf"), limits=local_limits(httpserver.port))
    assert result.outcome == Outcome.FETCHED, result.reason
    assert result.content_type == "application/pdf"
    assert (result.charset, result.charset_source) == ("", "")
    assert (result.title, result.author, result.published) == (
        "Drone report",
        "White House",
        "2022-10-20",
    )
    assert quote_found("the drones were exported before the invasion", result.text)
    assert "Page two text." in result.text


def test_pdf_pages_beyond_the_limit_are_not_read(httpserver: HTTPServer) -> None:
    pdf = make_pdf(["First page.", "Second page.", "Third page."])
    httpserver.expect_request("/").respond_with_data(pdf, content_type="application/pdf")
    result = fetch(httpserver.url_for("/"), limits=local_limits(httpserver.port, max_pdf_pages=2))
    assert result.outcome == Outcome.FETCHED, result.reason
    assert "Second page." in result.text
    assert "Third page." not in result.text
    assert result.extraction_note == "read the first 2 of 3 pages (page limit)"


def test_pdf_extraction_stops_at_its_time_limit(httpserver: HTTPServer) -> None:
    pdf = make_pdf(["First page.", "Second page.", "Third page."])
    httpserver.expect_request("/").respond_with_data(pdf, content_type="application/pdf")
    result = fetch(httpserver.url_for("/"), limits=local_limits(httpserver.port, pdf_timeout=0))
    assert result.outcome == Outcome.FETCHED, result.reason
    assert result.text == "First page."
    assert result.extraction_note.startswith("stopped after 1 of 3 pages")


@pytest.mark.parametrize(
    "body",
    [b"%PDF-1.4\nthis is not really a pdf\n%%EOF", make_pdf(["x"])[:120]],
    ids=["garbage", "cut-short"],
)
def test_a_broken_pdf_is_extraction_failed(body: bytes, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/").respond_with_data(body, content_type="application/pdf")
    result = fetch(httpserver.url_for("/"), limits=local_limits(httpserver.port))
    assert result.outcome == Outcome.EXTRACTION_FAILED
    assert result.body == body
    assert result.content_sha256 == hashlib.sha256(body).hexdigest()


# ---------------------------------------------------------------------------------------------
# HTTP status codes
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [404, 410, 403, 401, 400])
def test_client_errors_are_permanent_http_errors(status: int, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/").respond_with_data("nope", status=status)
    result = fetch(httpserver.url_for("/"), limits=local_limits(httpserver.port))
    assert result.outcome == Outcome.HTTP_ERROR
    assert result.http_status == status
    assert not result.transient
    assert result.retry_after is None


@pytest.mark.parametrize(
    ("status", "retry_after", "expected"),
    [(500, None, None), (502, None, None), (503, "120", 120.0), (429, "http-date", 90.0)],
)
def test_server_errors_and_rate_limits_are_transient_with_retry_after(
    status: int, retry_after: str | None, expected: float | None, httpserver: HTTPServer
) -> None:
    headers = {}
    if retry_after == "http-date":
        when = datetime.now(UTC) + timedelta(seconds=90)
        headers["Retry-After"] = email.utils.format_datetime(when, usegmt=True)
    elif retry_after:
        headers["Retry-After"] = retry_after
    httpserver.expect_request("/").respond_with_data("busy", status=status, headers=headers)
    result = fetch(httpserver.url_for("/"), limits=local_limits(httpserver.port))
    assert result.outcome == Outcome.HTTP_ERROR
    assert result.http_status == status
    assert result.transient
    if expected is None:
        assert result.retry_after is None
    else:
        assert result.retry_after is not None
        assert expected - 5 <= result.retry_after <= expected


# ---------------------------------------------------------------------------------------------
# Robustness: classified outcomes, never an exception
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), False),
        (socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution"), True),
    ],
)
def test_dns_failures_are_classified(error: Exception, transient: bool, connect_log: list):
    def resolver(host: str, port: int) -> list[str]:
        raise error

    result = fetch("http://nowhere.test/", resolver=resolver)
    assert result.outcome == Outcome.DNS_ERROR
    assert result.transient is transient
    assert "nowhere.test" in result.reason
    assert connect_log == []


@pytest.mark.parametrize("answer", [["not-an-ip"], [], None], ids=["garbage", "empty", "none"])
def test_a_resolver_returning_nonsense_is_a_dns_error(answer: Any, connect_log: list) -> None:
    result = fetch("http://odd.test/", resolver=lambda host, port: answer)
    assert result.outcome == Outcome.DNS_ERROR
    assert connect_log == []


def test_fetch_never_raises_when_the_resolver_blows_up() -> None:
    def resolver(host: str, port: int) -> list[str]:
        raise RuntimeError("resolver exploded")

    result = fetch("http://boom.test/", resolver=resolver)
    assert result.outcome == Outcome.DNS_ERROR
    assert "RuntimeError" in result.reason


def test_fetch_never_raises_on_unexpected_errors(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    httpserver.expect_request("/").respond_with_data("<p>x</p>", content_type="text/html")

    def broken_extractor(*args: Any, **kwargs: Any) -> Any:
        raise ZeroDivisionError("extractor bug")

    monkeypatch.setattr(fetcher_client, "extract_html", broken_extractor)
    result = fetch(httpserver.url_for("/"), limits=local_limits(httpserver.port))
    assert result.outcome == Outcome.EXTRACTION_FAILED
    assert "ZeroDivisionError" in result.reason

    def broken_connection(*args: Any, **kwargs: Any) -> Any:
        raise KeyError("pool bug")

    monkeypatch.setattr(fetcher_client, "open_exchange", broken_connection)
    result = fetch(httpserver.url_for("/"), limits=local_limits(httpserver.port))
    assert result.outcome == Outcome.CONNECTION_ERROR
    assert fetch(None).outcome == Outcome.INVALID_URL  # type: ignore[arg-type]


def test_result_keeps_selected_headers_and_serialises_without_the_body(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request("/").respond_with_data(
        "Header test.",
        content_type="text/plain; charset=utf-8",
        headers={"ETag": '"v1"', "Set-Cookie": "session=abc", "X-Powered-By": "PHP"},
    )
    result = fetch(httpserver.url_for("/"), limits=local_limits(httpserver.port))
    assert result.headers["content-type"] == "text/plain; charset=utf-8"
    assert result.headers["etag"] == '"v1"'
    assert "set-cookie" not in result.headers
    assert "x-powered-by" not in result.headers
    assert all(key == key.lower() for key in result.headers)
    data = json.loads(json.dumps(result.as_dict()))
    assert "body" not in data
    assert data["outcome"] == "fetched"
    assert data["text"] == "Header test."
    assert data["content_sha256"] == hashlib.sha256(b"Header test.").hexdigest()


def test_requests_carry_the_user_agent_and_the_original_host(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/").respond_with_data("ok", content_type="text/plain")
    limits = public_limits(httpserver.port, user_agent="VerifierTest/1.0")
    dns = FakeDNS({"xn--bcher-kva.example": ["127.0.0.1"]})
    result = fetch(f"http://Bücher.example:{httpserver.port}/", limits=limits, resolver=dns)
    assert result.outcome == Outcome.FETCHED, result.reason
    assert result.requested_url == f"http://xn--bcher-kva.example:{httpserver.port}/"
    request = httpserver.log[0][0]
    assert request.headers["User-Agent"] == "VerifierTest/1.0"
    assert request.headers["Host"] == f"xn--bcher-kva.example:{httpserver.port}"
    assert request.headers["Accept-Encoding"] == "gzip, deflate"
