"""Published claims built the only way the product builds them: through the workflow services."""

import datetime
import hashlib
from collections.abc import Callable, Iterable

import pytest

from claims.models import Claim
from sources.fetcher import FetchResult, Outcome
from sources.models import Snapshot, Source
from sources.services import snapshot_record, source_request_fetch
from tests.factories import rating
from verifier.services.claims import claim_create
from verifier.services.evidence import evidence_add
from verifier.services.sources import snapshot_apply_to_claims
from verifier.services.verdicts import claim_submit, verdict_approve, verdict_save_draft

IRAN_QUOTE = "these drones were exported before the attack on Ukraine"


def record_fetch(
    source: Source,
    *,
    text: str,
    http_status: int | None = 200,
    outcome: Outcome | None = None,
    reason: str = "",
) -> Snapshot:
    """Records a fetch of the source through the service a worker uses (no network, no body).
    The outcome follows the HTTP status unless given."""
    if source.fetch_token is None or source.status not in (Source.Status.PENDING, Source.Status.FETCHING):
        source_request_fetch(source=source)
    if outcome is None:
        outcome = Outcome.FETCHED if http_status is not None and http_status < 400 else Outcome.HTTP_ERROR
    result = FetchResult(
        reason=reason,
        requested_url=source.url,
        final_url=source.url,
        outcome=outcome,
        http_status=http_status,
        content_type="text/html",
        content_sha256=hashlib.sha256(text.encode()).hexdigest() if outcome == Outcome.FETCHED else "",
        title="Iran admits sending drones to Russia",
        text=text if outcome == Outcome.FETCHED else "",
        text_sha256=hashlib.sha256(text.encode()).hexdigest(),
    )
    snapshot = snapshot_record(
        source=source,
        token=str(source.fetch_token),
        result=result,
        on_recorded=snapshot_apply_to_claims,
    )
    assert snapshot is not None
    source.refresh_from_db()
    return snapshot


@pytest.fixture
def anonymous(api_client):
    """An API client with no credentials."""
    return api_client


@pytest.fixture
def as_fact_checker(client_for, fact_checker):
    return client_for(fact_checker)


@pytest.fixture
def as_reviewer(client_for, reviewer):
    return client_for(reviewer)


@pytest.fixture
def make_published_claim(fact_checker, reviewer) -> Callable[..., Claim]:
    """make_published_claim(text=..., claimant=..., tags=..., rating_slug=..., evidence=[(url, quote)])."""
    counter = iter(range(1, 10_000))

    def make(
        *,
        text: str | None = None,
        claimant: str = "Iran",
        tags: Iterable[str] = ("drones",),
        rating_slug: str = "false",
        evidence: Iterable[tuple[str, str]] | None = None,
        fetched: bool = True,
        author=None,
        approver=None,
        claim_date: datetime.date | None = datetime.date(2022, 10, 18),
        appearance_url: str = "https://news.example.org/iran-statement",
    ) -> Claim:
        number = next(counter)
        author = author or fact_checker
        claim = claim_create(
            actor=author,
            text=text or f"Iran says the drones were exported before the invasion ({number})",
            claimant_name=claimant,
            claim_date=claim_date,
            appearance_url=appearance_url,
            tags=tags,
        )
        default_evidence = [(f"https://news.example.org/drones-{number}", IRAN_QUOTE)]
        cited = default_evidence if evidence is None else evidence
        for url, quote in cited:
            added = evidence_add(actor=author, claim=claim, url=url, quote=quote, stance="supports")
            if fetched:
                record_fetch(added.source, text=f"Iran said {quote} in February.")
        verdict_save_draft(
            actor=author,
            claim=claim,
            rating=rating(rating_slug),
            summary="Iran admits supplying drones but disputes the timing.",
            explanation="Drones were seen over Kyiv months after the date Iran gives.",
        )
        claim_submit(actor=author, claim=claim)
        verdict_approve(actor=approver or reviewer, claim=claim, comment="Checked the sources.")
        claim.refresh_from_db()
        return claim

    return make


@pytest.fixture
def published_claim(make_published_claim) -> Claim:
    return make_published_claim()


@pytest.fixture
def settled(monkeypatch):
    """A clock a few seconds ahead for verifier.api.http_cache: the second of the last change is over,
    so Last-Modified stops hedging by a second (see Validators.of). For tests that change nothing
    public after their first read."""
    import time as real_time

    from verifier.api import http_cache

    class Later:
        time_ns = staticmethod(real_time.time_ns)

        @staticmethod
        def time() -> float:
            return real_time.time() + 3

    monkeypatch.setattr(http_cache, "time", Later)


def claim_in_review(
    author, *, assignee=None, submitter=None, text="Iran says the drones were exported before the invasion"
) -> Claim:
    """A claim with evidence and a verdict that `author` drafted and `submitter` (by default the
    author) submitted for review."""
    claim = claim_create(
        actor=author,
        text=text,
        claimant_name="Iran",
        assignee=assignee,
    )
    evidence_add(
        actor=author, claim=claim, url="https://news.example.org/iran-drones", quote=IRAN_QUOTE,
        stance="supports",
    )
    verdict_save_draft(actor=author, claim=claim, rating=rating("misleading"), summary="Exported before.")
    claim_submit(actor=submitter or author, claim=claim)
    return claim
