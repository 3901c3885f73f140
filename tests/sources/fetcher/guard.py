"""Driving the guarded fetcher on loopback: limits that open a test server, a table resolver,
and what must never leak from a result."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from sources.fetcher import FetchLimits, FetchResult

SECRET = "s3cr3t-pw"
PUBLIC_IP = "93.184.216.34"


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


def all_field_text(result: FetchResult) -> str:
    """Every field of a result, body and text included, as one string to search."""
    parts = [repr(getattr(result, item.name)) for item in dataclasses.fields(result)]
    return "\n".join(parts) + json.dumps(result.as_dict())
