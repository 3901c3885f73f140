"""The attacks of issue 9 run against claims built through the workflow, as in tests/verifier."""

import pytest

from tests.verifier.conftest import make_published_claim, published_claim

__all__ = ["make_published_claim", "published_claim"]


@pytest.fixture(scope="session")
def httpserver_listen_address() -> tuple[str, int]:
    # The local site is one server for the whole session: the same address as tests/sources gives
    # it, whichever directory starts it first (their host-slot tests count fetches of 127.0.0.1).
    return ("127.0.0.1", 0)
