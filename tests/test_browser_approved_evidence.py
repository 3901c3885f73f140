"""Issue 10's "Done when", tried as a reader would in Chromium: a fact-check cites two pages, both
fetched for real from a local server; after publication one page is rewritten and the other
vanishes (404); the link-rot re-check fetches them again. The public page and the API still show
the approved snapshots' hashes and quote checks, with "changed/disappeared after publication"
beside them."""

import pytest
from django.utils import timezone
from werkzeug import Request, Response

from claims.models import Evidence
from sources.models import Source
from sources.services import sources_recheck_due
from tests.browser import SCREENSHOTS
from tests.factories import rating
from tests.test_browser_public_page import (
    CONTRAST_SCRIPT,
    PHONE,
    browser,  # noqa: F401  (the Chromium fixture)
    playwright_api,
)
from verifier.services.claims import claim_create
from verifier.services.evidence import evidence_add
from verifier.services.sources import source_fetch_and_apply
from verifier.services.verdicts import claim_submit, verdict_approve, verdict_save_draft

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

BRIEFING_QUOTE = "we believe that the facility will be fully operational early next year"
REPORT_QUOTE = "construction at the site is under way"


def article(title: str, paragraph: str) -> str:
    return (
        f"<!doctype html><html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
        f"<p>{paragraph}</p><p>Officials spoke to reporters on Thursday about the drone programme, "
        "the supply routes and what satellite images of the zone show.</p></article></body></html>"
    )


@pytest.fixture
def local_pages(httpserver, settings, queued):
    """Pages on loopback that a test rewrites or removes; the fetcher allowed to reach them."""
    settings.SOURCES_ALLOW_PRIVATE_NETWORKS = True
    settings.SOURCES_ALLOWED_PORTS = frozenset({80, 443, httpserver.port})
    settings.MEDIA_ROOT = str(settings.VAR_DIR / "test-media")
    pages = {
        "/briefing": article("Press call on drones", f"Kirby said: {BRIEFING_QUOTE}, at Alabuga."),
        "/report": article("Alabuga satellite images", f"The images show that {REPORT_QUOTE}."),
    }

    def serve(request: Request) -> Response:
        if request.path not in pages:
            return Response("<h1>Not found</h1>", status=404, content_type="text/html")
        return Response(pages[request.path], content_type="text/html")

    for path in list(pages):
        httpserver.expect_request(path).respond_with_handler(serve)
    return httpserver, pages


def fetch_now(source: Source) -> None:
    """What the fetch task does with the message the service queued, run here."""
    source.refresh_from_db()
    source_fetch_and_apply(source_id=source.pk, token=str(source.fetch_token))


@pytest.fixture
def rechecked_claim(local_pages, fact_checker, reviewer):
    """A fact-check published on two sources, then one rewritten and one gone, then re-checked.
    Returns what the approved evidence was, as (snapshot id, SHA-256) per source, and the claim."""
    server, pages = local_pages
    claim = claim_create(
        actor=fact_checker,
        text="A drone plant in Russia's Alabuga Special Economic Zone will be fully operational "
        "early next year.",
        claimant_name="John Kirby",
    )
    for path, quote in (("/briefing", BRIEFING_QUOTE), ("/report", REPORT_QUOTE)):
        url = server.url_for(path)
        added = evidence_add(actor=fact_checker, claim=claim, url=url, quote=quote, stance="supports")
        fetch_now(added.source)
    verdict_save_draft(
        actor=fact_checker,
        claim=claim,
        rating=rating("unverifiable"),
        summary="A forecast that cannot be checked yet.",
    )
    claim_submit(actor=fact_checker, claim=claim)
    verdict_approve(actor=reviewer, claim=claim)
    cited = Evidence.objects.filter(claim=claim).select_related("quote_checked_snapshot").order_by("id")
    approved = [
        (item.quote_checked_snapshot_id, item.quote_checked_snapshot.content_sha256, item.quote_status)
        for item in cited
    ]

    pages["/briefing"] = article("Press call on drones", "This transcript was replaced by a summary.")
    del pages["/report"]
    Source.objects.update(next_check_at=timezone.now())
    assert sources_recheck_due() == 2
    for source in Source.objects.all():
        fetch_now(source)
    return claim, approved


def test_a_changed_and_a_vanished_source_keep_their_approved_evidence(
    live_server, rechecked_claim, browser  # noqa: F811  (the fixture imported above)
):
    claim, approved = rechecked_claim
    assert [status for _, _, status in approved] == ["found", "found"]
    assert all(sha256 for _, sha256, _ in approved)
    page = browser.new_page(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)

    api = page.request.get(f"{live_server.url}/api/v1/claims/{claim.pk}/")
    assert api.status == 200
    evidence = api.json()["evidence"]
    shown = [(item["source"]["snapshot"], item["source"]["content_sha256"]) for item in evidence]
    assert shown == [(snapshot, sha256) for snapshot, sha256, _ in approved]
    assert [item["quote_status"] for item in evidence] == ["found", "found"]
    assert [item["since_publication"]["status"] for item in evidence] == ["changed", "gone"]
    assert evidence[0]["since_publication"]["latest_content_sha256"] not in (None, approved[0][1])
    assert evidence[1]["since_publication"]["latest_content_sha256"] is None

    response = page.goto(live_server.url + claim.get_absolute_url())
    assert response is not None and response.status == 200
    changed, gone = page.locator("ol.evidence-list > li").all()
    expect = playwright_api.expect
    expect(changed.locator(".since-publication")).to_contain_text("This source changed after publication")
    expect(gone.locator(".since-publication")).to_contain_text("This source disappeared after publication")
    for item, (_, sha256, _) in zip((changed, gone), approved, strict=True):
        expect(item.locator("code")).to_have_text(sha256)
        expect(item).to_contain_text("Quote found in the snapshot")
        ratio = item.locator(".since-publication").evaluate(CONTRAST_SCRIPT)
        assert ratio >= 4.5, f"the since-publication note has a contrast of {ratio:.2f}:1"
    assert page.get_by_text("Quote not found").count() == 0
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px on a phone"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "approved_evidence_after_link_rot_phone.png", full_page=True)
