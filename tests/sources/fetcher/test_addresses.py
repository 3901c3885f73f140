"""Addresses (sources/fetcher/addresses.py and the fetch's resolution step): a host is resolved
once, every answer is checked, and the checked address is the one connected to."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from sources.fetcher import FetchLimits, Outcome, fetch
from sources.fetcher.addresses import address_refusal, parse_address

from .guard import PUBLIC_IP, FakeDNS, local_limits, public_limits
from .servers import RawServer, RawServerFactory, send

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
    assert address_refusal(parse_address("::ffff:127.0.0.1"), limits) == (
        "address ::ffff:7f00:1 is an IPv4-mapped form of 127.0.0.1, which is loopback"
    )


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
# Resolver failures: classified outcomes, never an exception
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
