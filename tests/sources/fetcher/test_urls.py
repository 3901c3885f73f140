"""URLs (sources/fetcher/urls.py): parsing, normalisation, and the refusals that need no network,
in check_url and in fetch() before it connects anywhere."""

from __future__ import annotations

import logging

import pytest
from pytest_httpserver import HTTPServer

from sources.fetcher import FetchLimits, Outcome, UrlRefused, check_url, fetch, normalize_url

from .guard import PUBLIC_IP, SECRET, all_field_text, local_limits
from .servers import RawServer

# ---------------------------------------------------------------------------------------------
# Normalisation and static checks (no network)
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
    ("url_template", "outcome", "block_reason"),
    [
        ("http://alice:{secret}@127.0.0.1:{port}/", Outcome.BLOCKED, "credentials"),
        # Unparsable before its credentials are looked at: the space in the host.
        ("http://alice:{secret}@exa mple.com/", Outcome.INVALID_URL, ""),
        ("http://:{secret}@127.0.0.1:{port}/page?x=1", Outcome.BLOCKED, "credentials"),
    ],
)
def test_fetch_with_credentials_is_blocked_and_never_leaks_the_password(
    url_template: str,
    outcome: Outcome,
    block_reason: str,
    httpserver: HTTPServer,
    caplog: pytest.LogCaptureFixture,
    connect_log: list,
) -> None:
    caplog.set_level(logging.DEBUG)
    url = url_template.format(secret=SECRET, port=httpserver.port)
    result = fetch(url, limits=local_limits(httpserver.port))
    assert (result.outcome, result.block_reason) == (outcome, block_reason)
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
