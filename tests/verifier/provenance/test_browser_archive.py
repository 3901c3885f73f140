"""A reader follows a fact-check's evidence to its archived copy, in headless Chromium on a phone.

Needs Debian's chromium at /usr/bin/chromium (or CHROMIUM_PATH): skipped without it, failed in CI.
"""

import hashlib

import pytest

from sources.models import Snapshot
from tests.browser import SCREENSHOTS
from tests.test_browser_public_page import CONTRAST_SCRIPT, PHONE, browser  # noqa: F401 (fixture)
from tests.verifier.provenance.packages import QUOTE, fetch_now, publish_citing_site

pytestmark = [
    pytest.mark.browser,
    # Flushing after a live-server test would drop the rating scale and groups the migrations
    # created; serialized rollback restores them for the tests that follow.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def changed_after_publication(site, fact_checker, reviewer):
    """A published fact-check whose source was fetched again after publication, the snapshot its
    verdict cites and the evidence citing it."""
    claim = publish_citing_site(site, fact_checker, reviewer)
    (entry,) = claim.verdicts.get().fingerprint()
    cited = Snapshot.objects.get(pk=entry["snapshot"])
    fetch_now(cited.source)
    return claim, cited, entry["evidence"]


def test_a_reader_opens_the_archived_copy_on_a_phone(live_server, changed_after_publication, browser):  # noqa: F811
    claim, cited, evidence_id = changed_after_publication
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    phone = browser.new_page(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    phone.goto(live_server.url + claim.get_absolute_url())

    phone.get_by_role("link", name="Archived copy of source 1").click()

    phone.wait_for_url(f"**/archive/{cited.pk}/")
    assert phone.locator("main").count() == 1 and phone.locator("h1").count() == 1
    headings = [text.strip() for text in phone.locator("h2").all_text_contents()]
    assert headings == ["How it was captured", "Cited by", "Extracted text"]
    assert phone.get_by_text(cited.warc_sha256).is_visible()
    overflow = phone.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the archive page scrolls sideways by {overflow}px on a phone"
    for selector in ("body", ".facts dt", ".archive-note", "mark.quote", ".downloads a", "code"):
        ratio = phone.locator(selector).first.evaluate(CONTRAST_SCRIPT)
        assert ratio >= 4.5, f"{selector} has a contrast of {ratio:.2f}:1"

    phone.get_by_role("link", name="Show the quote in the text").click()
    quote = phone.locator("mark.quote")
    assert " ".join(quote.inner_text().split()) == QUOTE
    assert quote.is_visible()
    phone.screenshot(path=SCREENSHOTS / "archive_page_phone.png", full_page=True)

    with phone.expect_download() as capture:
        phone.get_by_role("link", name="Web archive capture").click()
    saved = capture.value.path()
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == cited.warc_sha256
    assert capture.value.suggested_filename == f"snapshot-{cited.pk}.warc.gz"
    assert phone.url.endswith(f"/archive/{cited.pk}/#quote-{evidence_id}")
