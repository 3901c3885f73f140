"""verifier.public_content: a source's fetch state moves the public content version only when a
published claim cites the source (sources.signals tells; the sources layer cannot know)."""

import pytest

from core.content_version import public_content_version
from sources.services import source_request_fetch
from verifier.services.claims import claim_create
from verifier.services.evidence import evidence_add

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("queued")]


def test_a_fetch_of_a_source_only_drafts_cite_leaves_the_version(fact_checker):
    claim = claim_create(actor=fact_checker, text="Iran exported drones early", claimant_name="Iran")
    evidence = evidence_add(
        actor=fact_checker, claim=claim, url="https://news.example.org/a", quote="drones", stance="supports"
    )
    before = public_content_version()

    source_request_fetch(source=evidence.source)

    assert public_content_version() == before


def test_a_fetch_of_a_source_a_published_claim_cites_moves_the_version(published_claim):
    before = public_content_version()

    source_request_fetch(source=published_claim.evidence.get().source)

    assert public_content_version() > before
