"""verifier.public_content and verifier.services.sources: a source's fetch state moves the public
content version only when a published claim shows it (sources.signals tells; the sources layer cannot
know), and a re-check only when its snapshot changes what the claim shows."""

import pytest

from core.content_version import public_content_version
from sources.services import source_request_fetch
from tests.verifier.conftest import record_fetch
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


def test_the_first_fetch_of_a_source_a_published_claim_cites_moves_the_version(make_published_claim):
    claim = make_published_claim(fetched=False)
    before = public_content_version()

    source_request_fetch(source=claim.evidence.get().source)

    assert public_content_version() > before


def test_a_recheck_of_a_published_claims_source_that_finds_it_the_same_leaves_the_version(published_claim):
    source = published_claim.evidence.get().source
    before = public_content_version()

    record_fetch(source, text=source.snapshots.first().text)

    assert public_content_version() == before


def test_a_recheck_that_finds_a_published_claims_source_changed_moves_the_version(published_claim):
    before = public_content_version()

    record_fetch(published_claim.evidence.get().source, text="The page was rewritten.")

    assert public_content_version() > before
