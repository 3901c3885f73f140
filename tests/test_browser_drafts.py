"""The claim page in a real browser (issue 11): headless Chromium, driven by Playwright, against
the admin served by live_server.

- One save: a fact-checker types in the claim's Text, then clicks "Save draft verdict"; after a
  reload both the Text and the verdict are saved.
- Live status: evidence is added, its badges say "fetching" while a real worker process fetches a
  page from a local HTTP server (held until the test lets it answer), and turn to "fetched" and
  "found" without a reload once the fetch lands.

Screenshots go to test-artifacts/screenshots/drafts-NN-<step>.png.
"""

import threading

import pytest
from django.db import close_old_connections

from claims.models import Claim
from tests.admin_helpers import QUOTE, drafted_claim
from tests.browser import SCREENSHOTS
from tests.factories import FactCheckerFactory
from tests.pages import ARTICLE
from tests.test_browser_admin import browser, evidence_row, log_in  # noqa: F401 - the fixture
from verifier.models import Verdict
from verifier.services.claims import claim_create

pytestmark = [
    pytest.mark.browser,
    # Flushing after a transactional test would drop the rating scale and groups the migrations
    # created; serialized rollback restores them for the tests that follow.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

NEW_TEXT = "Iran says the drones were exported long before the invasion"


def screenshot(page, number: int, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"drafts-{number:02d}-{name}.png"), full_page=True)


def test_text_typed_before_save_draft_verdict_is_saved_with_the_verdict(
    live_server, browser, queued  # noqa: F811 - the fixture
):
    fact_checker = FactCheckerFactory(username="fiona")
    claim = drafted_claim(fact_checker)
    page = log_in(browser, live_server, fact_checker)
    page.goto(f"{live_server.url}/admin/claims/claim/{claim.pk}/change/")

    page.fill("#id_text", NEW_TEXT)
    page.fill("#verdict_form textarea[name=summary]", "Iran disputes only the timing.")
    screenshot(page, 1, "text-and-verdict-typed")
    page.click("input[name=save_verdict]")
    page.wait_for_selector("text=Saved the draft verdict (version 1).")
    page.reload()

    assert page.input_value("#id_text") == NEW_TEXT
    assert page.input_value("#verdict_form textarea[name=summary]") == "Iran disputes only the timing."
    screenshot(page, 2, "both-saved-after-reload")
    close_old_connections()
    assert Claim.objects.get(pk=claim.pk).text == NEW_TEXT
    assert Verdict.objects.get(claim=claim).summary == "Iran disputes only the timing."


def badges(page, url_part: str) -> tuple[str, str]:
    row = evidence_row(page, url_part)
    return (
        row.locator("td.field-fetch_outcome .badge").first.inner_text(),
        row.locator("td.field-quote_check .badge").first.inner_text(),
    )


@pytest.mark.worker
def test_badges_turn_when_the_fetch_lands_without_a_reload(
    worker, httpserver, live_server, browser  # noqa: F811 - the fixture
):
    fetch_started, answer = threading.Event(), threading.Event()

    def held_article(request):
        from werkzeug.wrappers import Response

        fetch_started.set()
        answer.wait(timeout=60)
        return Response(ARTICLE, content_type="text/html")

    httpserver.expect_request("/iran-drones").respond_with_handler(held_article)
    fact_checker = FactCheckerFactory(username="fiona")
    claim = claim_create(actor=fact_checker, text="Iran says the drones came later", claimant_name="Iran")
    page = log_in(browser, live_server, fact_checker)
    page.goto(f"{live_server.url}/admin/claims/claim/{claim.pk}/change/")

    page.fill("#id_new_evidence-0-url", httpserver.url_for("/iran-drones"))
    page.fill("#id_new_evidence-0-quote", QUOTE)
    page.select_option("#id_new_evidence-0-stance", "supports")
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")
    assert fetch_started.wait(timeout=60), f"the worker never fetched\n{worker.log()}"
    # The worker is inside the fetch: the page loaded now shows it under way.
    page.reload()
    assert badges(page, "/iran-drones") == ("fetching", "pending")
    page.wait_for_selector("#evidence-group[data-live-status-pending]", state="attached")
    screenshot(page, 3, "fetching")
    # Anything on the page now is gone if it reloads.
    page.evaluate("window.stillTheSamePage = true")

    answer.set()
    page.wait_for_selector("#evidence-group[data-live-status-settled]", state="attached", timeout=60_000)

    assert badges(page, "/iran-drones") == ("fetched", "found")
    assert page.evaluate("window.stillTheSamePage") is True
    snapshot_link = evidence_row(page, "/iran-drones").locator("td.field-quote_check a")
    assert snapshot_link.count() == 1
    screenshot(page, 4, "fetched-and-found-without-a-reload")
