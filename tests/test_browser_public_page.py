"""The public fact-check page in a real browser: headless Chromium driven by Playwright.

Needs Debian's chromium at /usr/bin/chromium (or CHROMIUM_PATH): skipped without it, failed in CI.
Screenshots go to test-artifacts/screenshots/ for a person to look at.
"""

import json

import pytest

from tests.browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, require_chromium
from tests.verifier import conftest as verifier_fixtures

playwright_api = pytest.importorskip("playwright.sync_api")

# Published claims are built as in the verifier tests: through the workflow services.
make_published_claim = verifier_fixtures.make_published_claim

PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 900}

pytestmark = [
    pytest.mark.browser,
    # Flushing after a live-server test would drop the rating scale and groups the migrations
    # created; serialized rollback restores them for the tests that follow.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def browser():
    """Headless Chromium. Request it last: the test body runs inside Playwright's event loop, where
    the database must not be touched (Django would refuse, or open a connection nobody closes)."""
    require_chromium()
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def corrected_claim(make_published_claim, fact_checker, reviewer):
    """A published, corrected fact-check by a person with a sameAs page, citing two sources."""
    from claims.models import Claimant
    from claims.services import claimant_get_or_create
    from tests.factories import rating
    from verifier.services.verdicts import claim_submit, verdict_approve, verdict_save_draft

    claimant_get_or_create(
        name="John Kirby", url="https://en.wikipedia.org/wiki/John_Kirby_(admiral)", kind=Claimant.Kind.PERSON
    )
    claim = make_published_claim(
        text="A drone plant in Russia's Alabuga Special Economic Zone will be fully operational "
        "early next year.",
        claimant="John Kirby",
        tags=["drones", "Russia", "manufacturing"],
        evidence=[
            (
                "https://www.whitehouse.gov/briefing-room/press-briefings/2022/10/20/"
                "on-the-record-press-call-on-russias-use-of-iranian-drones-in-ukraine-with-a-very-long-path",
                "we believe that the facility will be fully operational early next year",
            ),
            ("https://news.example.org/alabuga-satellite-images", "construction at the site is under way"),
        ],
    )
    verdict_save_draft(
        actor=fact_checker,
        claim=claim,
        rating=rating("unverifiable"),
        summary="A forecast from US intelligence that cannot be checked yet.",
        explanation="The White House gave no evidence beyond its own assessment.\n\n"
        "Satellite images show construction, not production.",
        correction_note="The earlier verdict called the forecast false; nothing yet shows it either way.",
    )
    claim_submit(actor=fact_checker, claim=claim)
    verdict_approve(actor=reviewer, claim=claim)
    claim.refresh_from_db()
    return claim


@pytest.fixture
def api_claim_review(api_client, corrected_claim):
    response = api_client.get(f"/api/v1/claims/{corrected_claim.pk}/claimreview/")
    assert response.status_code == 200
    return response.json()


def test_public_page_in_chromium(live_server, corrected_claim, api_claim_review, browser):
    url = live_server.url + corrected_claim.get_absolute_url()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    phone = browser.new_page(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    response = phone.goto(url)
    assert response is not None and response.status == 200

    embedded = phone.locator('script[type="application/ld+json"]').all_text_contents()
    assert [json.loads(text) for text in embedded] == [api_claim_review]
    assert phone.locator("html").get_attribute("lang") == "en"
    assert phone.locator("main").count() == 1 and phone.locator("h1").count() == 1
    assert phone.get_by_role("heading", name="Correction history").is_visible()
    assert phone.get_by_text("will be fully operational early next year").first.is_visible()
    overflow = phone.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px on a phone"

    phone.screenshot(path=SCREENSHOTS / "public_page_phone.png", full_page=True)

    phone.keyboard.press("Tab")
    assert phone.evaluate("document.activeElement.getAttribute('href')") == "#content"
    assert phone.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"

    desktop = browser.new_page(viewport=DESKTOP)
    desktop.goto(url)
    desktop.screenshot(path=SCREENSHOTS / "public_page_desktop.png", full_page=True)


@pytest.fixture
def draft_claim(fact_checker):
    from verifier.services.claims import claim_create

    return claim_create(actor=fact_checker, text="A draft claim", claimant_name="Iran")


def test_unpublished_page_is_404_in_the_browser(live_server, draft_claim, browser):
    page = browser.new_page()

    response = page.goto(live_server.url + draft_claim.get_absolute_url())

    assert response is not None and response.status == 404


# WCAG 2 contrast of an element's text against the first opaque background behind it.
CONTRAST_SCRIPT = """(element) => {
  const channels = (color) => color.match(/[\\d.]+/g).map(Number);
  const luminance = ([r, g, b]) => {
    const linear = [r, g, b].map((value) => {
      const c = value / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2];
  };
  let node = element, background = null;
  while (node && !background) {
    const color = channels(getComputedStyle(node).backgroundColor);
    if (color.length < 4 || color[3] > 0) background = color;
    node = node.parentElement;
  }
  const text = luminance(channels(getComputedStyle(element).color));
  const [light, dark] = [text, luminance(background || [255, 255, 255])].sort((a, b) => b - a);
  return (light + 0.05) / (dark + 0.05);
}"""


@pytest.fixture
def site_claims(make_published_claim):
    """Three published fact-checks from the seed article, by different claimants and topics."""
    return [
        make_published_claim(
            text="Iran says the drones were exported before the invasion", claimant="Iran", tags=["drones"]
        ),
        make_published_claim(
            text="Russia has acquired hundreds of drones from Iran", claimant="John Kirby",
            tags=["drones", "Russia"], rating_slug="mostly-true",
        ),
        make_published_claim(
            text="A drone plant in the Alabuga Special Economic Zone will be fully operational early "
            "next year", claimant="White House", tags=["manufacturing"], rating_slug="unverifiable",
        ),
    ]


def test_the_public_site_on_a_phone(live_server, site_claims, browser):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    iran, kirby, alabuga = site_claims
    phone = browser.new_page(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)

    response = phone.goto(live_server.url + "/")
    assert response is not None and response.status == 200
    assert phone.get_by_role("heading", level=1, name="Fact-checks").is_visible()
    headings = phone.locator("ol.fact-checks h3").all_text_contents()
    assert [heading.strip() for heading in headings] == [f"“{c.text}”" for c in (alabuga, kirby, iran)]
    overflow = phone.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the index scrolls sideways by {overflow}px on a phone"
    texts = ("body", ".lede", ".meta", ".site-nav a", "ol.fact-checks h3 a", ".rating", ".search button")
    for selector in texts:
        ratio = phone.locator(selector).first.evaluate(CONTRAST_SCRIPT)
        assert ratio >= 4.5, f"{selector} has a contrast of {ratio:.2f}:1"
    phone.screenshot(path=SCREENSHOTS / "site_index_phone.png", full_page=True)

    phone.keyboard.press("Tab")
    assert phone.evaluate("document.activeElement.getAttribute('href')") == "#content"

    phone.get_by_label("Search these fact-checks").fill("Alabuga")
    phone.keyboard.press("Enter")
    phone.wait_for_url("**/?q=Alabuga")
    assert phone.locator("ol.fact-checks h3").all_text_contents() == [f"“{alabuga.text}”"]
    phone.screenshot(path=SCREENSHOTS / "site_search_phone.png", full_page=True)

    phone.goto(live_server.url + "/")
    phone.locator("ol.fact-checks").get_by_role("link", name="Russia", exact=True).click()
    phone.wait_for_url("**/tags/russia/")
    assert phone.get_by_role("heading", level=1, name="Fact-checks tagged “Russia”").is_visible()
    assert phone.locator("ol.fact-checks h3").all_text_contents() == [f"“{kirby.text}”"]
    overflow = phone.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the tag page scrolls sideways by {overflow}px on a phone"
    phone.screenshot(path=SCREENSHOTS / "site_tag_phone.png", full_page=True)

    phone.get_by_role("link", name=f"“{kirby.text}”").click()
    phone.wait_for_url(f"**{kirby.get_absolute_url()}")
    assert phone.locator('meta[property="og:title"]').get_attribute("content") == f"Fact-check: {kirby.text}"
    phone.get_by_role("navigation", name="Site").get_by_role("link", name="Fact-checks").click()
    phone.wait_for_url(live_server.url + "/")
