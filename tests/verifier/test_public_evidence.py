"""The approved evidence stays the public evidence (SPEC §7, first point): every output shows the
snapshot frozen at approval and the quote check made against it, and says separately what became
of the source since publication."""

import csv
import datetime
import io
import json

import pytest
from django.conf import settings

from claims.models import Claim
from sources.fetcher import Outcome
from tests.factories import rating
from tests.verifier.conftest import IRAN_QUOTE, record_fetch
from verifier.api.webhooks import webhook_body
from verifier.csv_io import claims_csv_lines
from verifier.models import WebhookDelivery, WebhookEndpoint
from verifier.selectors.evidence import since_publication
from verifier.selectors.workflow import claims_for_export, published_claims_for_export
from verifier.services.claims import claim_create
from verifier.services.evidence import evidence_add
from verifier.services.verdicts import claim_submit, verdict_approve, verdict_save_draft

pytestmark = pytest.mark.django_db

CLAIMS = "/api/v1/claims/"
REWRITTEN = "The page now says something else entirely."


def detail(claim) -> str:
    return f"{CLAIMS}{claim.pk}/"


def iso(moment: datetime.datetime) -> str:
    """A timestamp as the API writes it."""
    return moment.isoformat().replace("+00:00", "Z")


def approve(claim, *, author, reviewer, summary="Iran admits supplying drones but disputes the timing."):
    verdict_save_draft(
        actor=author, claim=claim, rating=rating("false"), summary=summary,
        correction_note="The source was rewritten after publication.",
    )
    claim_submit(actor=author, claim=claim)
    verdict_approve(actor=reviewer, claim=claim)
    claim.refresh_from_db()
    return claim


def export_rows(claims, *, published: bool) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO("".join(claims_csv_lines(claims, published=published)))))


@pytest.mark.parametrize(
    ("recheck", "status", "with_hash"),
    [
        ({"text": f"Iran said {IRAN_QUOTE} in February."}, "same", True),
        ({"text": REWRITTEN}, "changed", True),
        ({"text": "", "http_status": 404, "reason": "the server answered 404 Not Found"}, "gone", False),
        ({"text": "", "http_status": 410, "reason": "the server answered 410 Gone"}, "gone", False),
        ({"text": "", "http_status": 503, "reason": "the server answered 503"}, "unreachable", False),
        (
            {"text": "", "http_status": None, "outcome": Outcome.BLOCKED, "reason": "a private address"},
            "blocked",
            False,
        ),
    ],
)
def test_a_fetch_after_publication_leaves_the_approved_evidence_and_says_what_became_of_it(
    api_client, published_claim, recheck, status, with_hash
):
    evidence = published_claim.evidence.get()
    frozen = evidence.quote_checked_snapshot

    later = record_fetch(evidence.source, **recheck)

    [shown] = api_client.get(detail(published_claim)).json()["evidence"]
    assert shown["quote_status"] == "found"
    assert shown["source"] | {"url": None} == {
        "url": None,
        "status": "fetched",
        "snapshot": frozen.pk,
        "final_url": frozen.final_url,
        "title": frozen.title,
        "http_status": 200,
        "fetched_at": iso(frozen.fetched_at),
        "content_sha256": frozen.content_sha256,
        "outcome": "fetched",
        "outcome_reason": None,
    }
    assert shown["since_publication"] == {
        "status": status,
        "checked_at": iso(later.fetched_at),
        "latest_content_sha256": later.content_sha256 if with_hash else None,
    }
    [listed] = api_client.get(CLAIMS).json()["results"]
    assert listed["evidence"] == [shown]


def test_since_publication_is_null_until_a_fetch_after_publication(api_client, published_claim):
    [shown] = api_client.get(detail(published_claim)).json()["evidence"]

    assert shown["since_publication"] is None


def test_a_source_that_failed_before_approval_shows_as_a_failed_fetch(
    api_client, client, fact_checker, reviewer
):
    claim = claim_create(actor=fact_checker, text="Iran exported drones early", claimant_name="Iran")
    url = "https://news.example.org/moved"
    evidence = evidence_add(actor=fact_checker, claim=claim, url=url, quote=IRAN_QUOTE, stance="supports")
    failed = record_fetch(
        evidence.source, text="", http_status=404, reason="the server answered 404 Not Found"
    )
    approve(claim, author=fact_checker, reviewer=reviewer)

    [shown] = api_client.get(detail(claim)).json()["evidence"]
    page = client.get(claim.get_absolute_url()).content.decode()

    assert shown["quote_status"] == "no_text"
    assert shown["source"]["snapshot"] == failed.pk
    assert shown["source"]["status"] == "failed"
    assert shown["source"]["content_sha256"] is None
    assert shown["source"]["http_status"] == 404
    assert (shown["source"]["outcome"], shown["source"]["outcome_reason"]) == (
        "http_error",
        "the server answered 404 Not Found",
    )
    assert "Fetch failed" in page and "the server answered 404 Not Found" in page
    assert "SHA-256" not in page and "<code></code>" not in page


def test_a_corrections_approval_moves_the_public_evidence_forward(
    api_client, published_claim, fact_checker, reviewer
):
    source = published_claim.evidence.get().source
    later = record_fetch(source, text=REWRITTEN)

    approve(published_claim, author=fact_checker, reviewer=reviewer, summary="The source was rewritten.")

    [shown] = api_client.get(detail(published_claim)).json()["evidence"]
    assert shown["source"]["snapshot"] == later.pk
    assert shown["source"]["content_sha256"] == later.content_sha256
    assert shown["quote_status"] == "not_found"
    assert shown["since_publication"] is None


def test_a_correction_in_progress_leaves_the_approved_evidence(api_client, published_claim, fact_checker):
    frozen = published_claim.evidence.get().quote_checked_snapshot
    record_fetch(published_claim.evidence.get().source, text=REWRITTEN)
    verdict_save_draft(
        actor=fact_checker, claim=published_claim, rating=rating("true"), summary="Draft.",
        correction_note="The source was rewritten.",
    )
    claim_submit(actor=fact_checker, claim=published_claim)

    [shown] = api_client.get(detail(published_claim)).json()["evidence"]

    assert (shown["source"]["snapshot"], shown["quote_status"]) == (frozen.pk, "found")


def test_staff_see_a_draft_with_its_latest_check(client_for, fact_checker):
    claim = claim_create(actor=fact_checker, text="Iran exported drones early", claimant_name="Iran")
    url = "https://news.example.org/a"
    evidence = evidence_add(actor=fact_checker, claim=claim, url=url, quote=IRAN_QUOTE, stance="supports")
    record_fetch(evidence.source, text=f"Iran said {IRAN_QUOTE}.")
    later = record_fetch(evidence.source, text=REWRITTEN)

    [shown] = client_for(fact_checker).get(detail(claim)).json()["evidence"]

    assert shown["source"]["snapshot"] == later.pk
    assert shown["quote_status"] == "not_found"
    assert shown["since_publication"] is None


def test_the_public_page_keeps_the_approved_evidence_and_says_what_changed(client, make_published_claim):
    claim = make_published_claim(
        evidence=[(f"https://news.example.org/{name}", IRAN_QUOTE) for name in ("kept", "gone")]
    )
    kept, gone = claim.evidence.order_by("id")
    frozen = [kept.quote_checked_snapshot, gone.quote_checked_snapshot]
    record_fetch(kept.source, text=REWRITTEN)
    record_fetch(gone.source, text="", http_status=404, reason="the server answered 404 Not Found")

    page = client.get(claim.get_absolute_url()).content.decode()

    assert "This source changed after publication" in page
    assert "This source disappeared after publication" in page
    assert page.count("Quote found in the snapshot") == 2
    assert "Quote not found" not in page and "no text to check" not in page
    for snapshot in frozen:
        assert f"<code>{snapshot.content_sha256}</code>" in page


def test_the_webhook_payload_shows_the_approved_evidence(published_claim):
    WebhookEndpoint.objects.create(url="https://hooks.example.org/verifier", events=["flag"])
    frozen = published_claim.evidence.get().quote_checked_snapshot

    record_fetch(published_claim.evidence.get().source, text=REWRITTEN)

    [shown] = json.loads(webhook_body(WebhookDelivery.objects.get(event="flag")))["claim"]["evidence"]
    assert (shown["source"]["snapshot"], shown["quote_status"]) == (frozen.pk, "found")
    assert shown["since_publication"]["status"] == "changed"


def test_the_published_export_shows_the_approved_evidence(make_published_claim):
    claim = make_published_claim(
        evidence=[(f"https://news.example.org/{name}", IRAN_QUOTE) for name in ("kept", "gone")]
    )
    kept, gone = claim.evidence.order_by("id")
    frozen = [kept.quote_checked_snapshot, gone.quote_checked_snapshot]
    record_fetch(kept.source, text=REWRITTEN)
    record_fetch(gone.source, text="", http_status=404)

    [row] = export_rows(published_claims_for_export(), published=True)
    [staff_row] = export_rows(claims_for_export(Claim.objects.all()), published=False)

    assert row["quotes_not_found"] == "0"
    assert row["evidence_snapshots"] == " ".join(str(snapshot.pk) for snapshot in frozen)
    assert row["evidence_sha256"] == " ".join(snapshot.content_sha256 for snapshot in frozen)
    assert row["evidence_since_publication"] == "changed gone"
    # Staff exports show the work as it stands: the latest checks, no publication to compare with.
    assert staff_row["quotes_not_found"] == "1"
    assert staff_row["evidence_since_publication"] == "none none"


def test_claimreview_cites_the_approved_snapshots_archive_pages(api_client, client, published_claim):
    frozen = published_claim.evidence.get().quote_checked_snapshot
    record_fetch(published_claim.evidence.get().source, text=REWRITTEN)

    review = api_client.get(f"{detail(published_claim)}claimreview/").json()
    page = client.get(published_claim.get_absolute_url()).content.decode()

    archive = f"/archive/{frozen.pk}/"
    assert review["citation"] == [
        {
            "@type": "CreativeWork",
            "url": published_claim.evidence.get().source.url,
            "archivedAt": settings.PUBLIC_BASE_URL + archive,
        }
    ]
    assert f'href="{archive}"' in page


# The comparison itself.

APPROVED_AT = datetime.datetime(2026, 1, 10, tzinfo=datetime.UTC)


def snapshot(pk, *, days_after, outcome="fetched", text_sha256="t1", content_sha256="c1", http_status=200):
    return {
        "id": pk,
        "fetched_at": APPROVED_AT + datetime.timedelta(days=days_after),
        "outcome": outcome,
        "text_sha256": text_sha256,
        "content_sha256": content_sha256,
        "http_status": http_status,
    }


def test_the_same_text_in_other_bytes_is_the_same_source():
    later = snapshot(2, days_after=7, content_sha256="c2")

    assert since_publication(frozen=snapshot(1, days_after=-1), latest=later, published_at=APPROVED_AT) == {
        "status": "same",
        "checked_at": later["fetched_at"],
        "latest_content_sha256": "c2",
    }


def test_a_fetch_before_publication_is_not_since_publication():
    frozen, earlier = snapshot(1, days_after=-2), snapshot(2, days_after=-1, text_sha256="t2")

    assert since_publication(frozen=frozen, latest=earlier, published_at=APPROVED_AT) is None
    assert since_publication(frozen=frozen, latest=frozen, published_at=APPROVED_AT) is None


def test_content_where_none_was_approved_is_a_change():
    failed = snapshot(1, days_after=-1, outcome="http_error", content_sha256="", http_status=404)
    later = snapshot(2, days_after=7)

    assert since_publication(frozen=None, latest=later, published_at=APPROVED_AT)["status"] == "changed"  # type: ignore[index]
    assert since_publication(frozen=failed, latest=later, published_at=APPROVED_AT)["status"] == "changed"  # type: ignore[index]
