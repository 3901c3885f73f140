"""A fact-check done in a real browser: headless Chromium, driven by Playwright, against the admin
served by live_server, with a real worker process fetching a page from a local HTTP server.

A fact-checker logs in, records a claim with two pieces of evidence, watches the first source's
badge turn to "fetched" and its quote to "found", drafts the verdict and submits it. A reviewer
who also writes verdicts opens the queue, finds no Approve button on their own verdict (with the
four-eyes reason) and approves the fact-checker's, confirming its warning (a quote not found).
Screenshots of every step go to test-artifacts/screenshots/admin-NN-<step>.png.
"""

import time
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.db import close_old_connections, connections

from claims.models import Claim, Claimant
from core.roles import REVIEWERS
from tests.browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, require_chromium
from tests.factories import PASSWORD, FactCheckerFactory, rating
from tests.pages import ARTICLE
from verifier.models import Verdict
from verifier.services.claims import claim_create
from verifier.services.evidence import evidence_add
from verifier.services.verdicts import claim_submit, verdict_save_draft

SCREENSHOT_PREFIX = "admin"
QUOTE = "Iran says that these drones were exported before the attack on Ukraine"
BRIEFING = """<!doctype html><html><head><title>Press briefing</title></head><body><article>
<h1>Press briefing by John Kirby</h1><p>Russian military personnel are in Crimea to help with the
drones. We assess that Iran is now directly engaged on the ground.</p>
<p>The spokesman took several questions on other topics that are not about drones at all.</p>
</article></body></html>"""

pytestmark = [
    pytest.mark.browser,
    pytest.mark.worker,
    # Flushing after a transactional test would drop the rating scale and groups the migrations
    # created; serialized rollback restores them for the tests that follow.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]



@pytest.fixture
def browser(monkeypatch):
    from playwright.sync_api import sync_playwright

    require_chromium()

    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
    # between browser steps are ordinary blocking calls all the same.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()
        # The test's ORM calls ran in Playwright's context, on connections of their own: closed
        # here, or dropping the test database at the end of the run finds them still open.
        connections.close_all()


@pytest.fixture
def screenshot():
    # The folder is shared with other browser tests: only this test's own files are replaced.
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob(f"{SCREENSHOT_PREFIX}-*.png"):
        old.unlink()
    taken = []

    def take(page, name: str) -> Path:
        path = SCREENSHOTS / f"{SCREENSHOT_PREFIX}-{len(taken) + 1:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        taken.append(path)
        return path

    return take


def log_in(browser, live_server, user):
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")
    return page


def evidence_row(page, url_part: str):
    return page.locator("tr.evidence-row", has_text=url_part)


def wait_for_badges(page, url_part: str, *, fetch: str, quote: str, worker, timeout: float = 60.0):
    """Reloads the claim page, as a person would, until the row shows both badges."""
    deadline = time.monotonic() + timeout
    while True:
        row = evidence_row(page, url_part)
        fetch_badge = row.locator("td.field-fetch_outcome .badge").first.inner_text()
        quote_badge = row.locator("td.field-quote_check .badge").first.inner_text()
        if (fetch_badge, quote_badge) == (fetch, quote):
            return
        if time.monotonic() > deadline:
            raise AssertionError(
                f"badges of {url_part} stayed {fetch_badge!r} / {quote_badge!r}\n{worker.log()}"
            )
        time.sleep(1)
        page.reload()


def test_a_fact_check_from_first_click_to_approval(worker, httpserver, live_server, browser, screenshot):
    httpserver.expect_request("/iran-drones").respond_with_data(ARTICLE, content_type="text/html")
    httpserver.expect_request("/kirby-briefing").respond_with_data(BRIEFING, content_type="text/html")
    httpserver.expect_request("/own-claim").respond_with_data(ARTICLE, content_type="text/html")
    article_url = httpserver.url_for("/iran-drones")
    briefing_url = httpserver.url_for("/kirby-briefing")
    fact_checker = FactCheckerFactory(username="fiona")
    # A reviewer who also writes verdicts: in both groups, with a claim of their own in review.
    reviewer = FactCheckerFactory(username="rashid")
    reviewer.groups.add(Group.objects.get(name=REVIEWERS))
    own = claim_create(
        actor=reviewer, text="The Alabuga plant will be fully operational early next year",
        claimant_name="John Kirby",
    )
    evidence_add(
        actor=reviewer, claim=own, url=httpserver.url_for("/own-claim"), quote=QUOTE, stance="context"
    )
    verdict_save_draft(actor=reviewer, claim=own, rating=rating("unverifiable"), summary="Too early to tell.")
    claim_submit(actor=reviewer, claim=own)
    Claimant.objects.get_or_create(name="Iran")

    # The fact-checker records the claim and its first evidence in one form.
    page = log_in(browser, live_server, fact_checker)
    screenshot(page, "fact-checker-logged-in")
    page.goto(f"{live_server.url}/admin/claims/claim/add/")
    page.fill("#id_text", "Iran says the drones were exported before the invasion")
    page.click(".field-claimant .select2-selection")
    # The claimant's search box is in the dropdown the click opened (the tags' is inline).
    page.fill(".select2-dropdown .select2-search__field", "Ira")
    page.click(".select2-results__option:has-text('Iran')")
    page.fill("#id_claim_date", "2022-10-20")
    page.fill("#id_new_evidence-0-url", article_url)
    page.fill("#id_new_evidence-0-quote", QUOTE)
    page.select_option("#id_new_evidence-0-stance", "supports")
    screenshot(page, "new-claim-with-first-evidence")
    page.click("input[name=_continue]")
    page.wait_for_selector("#evidence-group")
    claim = Claim.objects.get(text__startswith="Iran says the drones")

    # The second piece of evidence, on the claim's page.
    page.fill("#id_new_evidence-0-url", briefing_url)
    page.fill("#id_new_evidence-0-quote", "Iran is now directly engaged on the ground in Crimea")
    page.select_option("#id_new_evidence-0-stance", "context")
    page.fill("#id_new_evidence-0-note", "Kirby's briefing, for context.")
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")
    assert evidence_row(page, "/kirby-briefing").count() == 1
    screenshot(page, "two-pieces-of-evidence-pending")

    # A real worker fetches both pages; the badges turn once the snapshots are recorded.
    wait_for_badges(page, "/iran-drones", fetch="fetched", quote="found", worker=worker)
    wait_for_badges(page, "/kirby-briefing", fetch="fetched", quote="not found", worker=worker)
    screenshot(page, "evidence-fetched-quote-found")

    # The stored snapshot, with the quote highlighted where the check found it.
    evidence_row(page, "/iran-drones").locator("td.field-quote_check a").click()
    page.wait_for_selector("mark.quote")
    assert " ".join(page.inner_text("mark.quote").split()) == QUOTE
    screenshot(page, "snapshot-with-quote-highlighted")
    page.go_back()

    # The verdict, drafted and submitted on the same page.
    page.select_option("#verdict_form select[name=rating]", label="Misleading")
    page.fill(
        "#verdict_form textarea[name=summary]", "Iran admits supplying drones but disputes the timing."
    )
    page.fill(
        "#verdict_form textarea[name=explanation]",
        "Drones were seen over Kyiv after the date Iran gives.",
    )
    page.click("input[name=save_verdict]")
    page.wait_for_selector("text=Saved the draft verdict (version 1).")
    screenshot(page, "verdict-drafted")
    page.click("input[name=submit_for_review]")
    page.wait_for_selector("text=Submitted the verdict for review.")
    screenshot(page, "submitted-for-review")
    close_old_connections()
    claim.refresh_from_db()
    assert claim.status == Claim.Status.IN_REVIEW

    # The reviewer's queue: no Approve on their own verdict, and the reason why.
    page = log_in(browser, live_server, reviewer)
    page.goto(f"{live_server.url}/admin/claims/claim/review-queue/")
    own_row = page.locator(f"tr.queue-row[data-claim='{own.pk}']")
    other_row = page.locator(f"tr.queue-row[data-claim='{claim.pk}']")
    assert own_row.locator("button[name=approve]").count() == 0
    assert "Four-eyes rule: you wrote this verdict" in own_row.locator(".four-eyes").inner_text()
    assert other_row.locator("button[name=approve]").count() == 1
    assert "found" in other_row.inner_text()
    screenshot(page, "review-queue-four-eyes")

    # The briefing's quote was not found: the queue asks before publishing.
    other_row.locator("button[name=approve]").click()
    page.wait_for_selector("#approve_confirmation_form")
    assert "was not found in" in page.inner_text(".publishing-warnings")
    screenshot(page, "approve-asks-to-confirm-the-warnings")
    page.click("#approve_confirmation_form button[name=approve]")
    page.wait_for_selector(f"text=Approved and published verdict version 1 of claim #{claim.pk}.")
    screenshot(page, "approved-from-the-queue")
    close_old_connections()
    claim.refresh_from_db()
    assert claim.status == Claim.Status.PUBLISHED
    assert Verdict.objects.get(claim=claim).reviewer == reviewer
    assert Claim.objects.get(pk=own.pk).status == Claim.Status.IN_REVIEW
    assert len(list(SCREENSHOTS.glob(f"{SCREENSHOT_PREFIX}-*.png"))) == 10
