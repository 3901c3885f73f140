"""verifier.public_content and verifier.services.sources: a source's fetch state moves the public
content version only when a published claim shows it (sources.signals tells; the sources layer cannot
know), and a re-check only when its snapshot changes what the claim shows."""

import pytest
from werkzeug import Request, Response

from core.content_version import public_content_version
from sources.models import Snapshot
from sources.services import source_fetch, source_request_fetch
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


@pytest.fixture
def origin(settings, httpserver):
    """A local page the fetcher may fetch; `versions_seen` holds the public content version at each
    moment the page was asked for, that is while a fetch of it was running."""
    settings.SOURCES_ALLOW_PRIVATE_NETWORKS = True
    settings.SOURCES_ALLOWED_PORTS = frozenset({80, 443, httpserver.port})
    versions_seen: list[int | None] = []

    def page(request: Request) -> Response:
        versions_seen.append(public_content_version())
        return Response(
            "<p>Iran said the drones were exported before the invasion.</p>", mimetype="text/html"
        )

    httpserver.expect_request("/drones").respond_with_handler(page)
    httpserver.versions_seen = versions_seen
    return httpserver


def published_unfetched_source(make_published_claim, origin):
    """The source of a claim published before its source was ever fetched."""
    quote = "drones were exported"
    claim = make_published_claim(fetched=False, evidence=[(origin.url_for("/drones"), quote)])
    return claim.evidence.get().source


def fetch_now(source) -> Snapshot:
    source.refresh_from_db()
    snapshot = source_fetch(source_id=source.pk, token=str(source.fetch_token))
    assert isinstance(snapshot, Snapshot)
    return snapshot


def test_the_start_of_the_first_fetch_a_published_claim_shows_moves_the_version(make_published_claim, origin):
    # The public record shows the source "fetching" from the moment its fetch starts: cached public
    # responses that still say "pending" are superseded before the origin is even asked.
    source = published_unfetched_source(make_published_claim, origin)
    queued_version = public_content_version()

    fetch_now(source)

    assert origin.versions_seen and origin.versions_seen[0] > queued_version


def test_the_start_of_a_recheck_of_a_published_claims_source_leaves_the_version(make_published_claim, origin):
    # A re-check is not shown while it runs; only what its snapshot changes may move the version.
    source = published_unfetched_source(make_published_claim, origin)
    fetch_now(source)
    source_request_fetch(source=source)
    queued_version = public_content_version()

    fetch_now(source)

    assert origin.versions_seen[-1] == queued_version
