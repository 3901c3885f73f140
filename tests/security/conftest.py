"""The attacks of issue 9 run against claims built through the workflow, as in tests/verifier."""

from tests.verifier.conftest import make_published_claim, published_claim

__all__ = ["make_published_claim", "published_claim"]
