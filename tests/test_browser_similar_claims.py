"""The claim form lists similar claims while the fact-checker types, in headless Chromium against
live_server: the debounced script asks the staff endpoint and shows what it answers."""

import pytest

from claims.services import claims_index
from tests.browser import SCREENSHOTS
from tests.factories import ClaimFactory
from tests.test_browser_admin import browser, log_in  # noqa: F401  (browser is a fixture)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_similar_claims_appear_as_the_fact_checker_types(live_server, browser, fact_checker):  # noqa: F811
    recorded = ClaimFactory(text="Russia has acquired hundreds of drones from Iran.")
    claims_index(claim_ids=[recorded.pk])
    page = log_in(browser, live_server, fact_checker)

    page.goto(f"{live_server.url}/admin/claims/claim/add/")
    assert page.locator(".similar-claims-list li").count() == 0
    page.locator("#id_text").press_sequentially("Russia bought hundreds of drones from Iran", delay=5)

    entry = page.locator(".similar-claims-list li").first
    entry.wait_for()
    assert f"#{recorded.pk} Russia has acquired hundreds of drones from Iran." in entry.inner_text()
    assert "Draft, no rating" in entry.inner_text() and "already checked" in entry.inner_text()
    assert entry.locator("a").get_attribute("href") == f"/admin/claims/claim/{recorded.pk}/change/"
    assert page.locator(".similar-claims-none").is_hidden()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "similar-claims-as-typed.png"), full_page=True)

    page.locator("#id_text").fill("")
    page.locator("#id_text").press_sequentially("Bananas", delay=5)
    page.locator(".similar-claims-none").wait_for(state="visible")
    assert page.locator(".similar-claims-list li").count() == 0
