"""Hand-offs in a real browser (headless Chromium, Playwright, live_server): the claim list keeps its
Assignee, Attention and Updated columns on screen at 1366 px, and a reviewer on a phone (390 px)
approves a claim with warnings from the review queue, through the confirmation page.

Screenshots go to test-artifacts/screenshots/handoffs-NN-<step>.png.
"""

import pytest
from django.contrib.auth.models import Group
from django.db import close_old_connections

from claims.models import Claim, Evidence
from claims.services import tags_get_or_create
from core.roles import REVIEWERS
from sources.models import Source
from tests import test_browser_admin as admin_walkthrough
from tests.admin_helpers import drafted_claim
from tests.browser import SCREENSHOTS
from tests.factories import FactCheckerFactory, ReviewerFactory
from verifier.models import Verdict
from verifier.services.verdicts import claim_request_changes, claim_submit

# The admin walkthrough's Chromium and sign-in.
browser = admin_walkthrough.browser
log_in = admin_walkthrough.log_in

SCREENSHOT_PREFIX = "handoffs"
LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}

pytestmark = [
    pytest.mark.browser,
    # Flushing after a live-server test would drop the rating scale and groups the migrations
    # created; serialized rollback restores them for the tests that follow.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture(autouse=True)
def no_broker(queued):
    return queued


def shoot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{SCREENSHOT_PREFIX}-{name}.png"), full_page=True)


def claims_needing_attention(fact_checker, reviewer) -> list[Claim]:
    """Claims with long texts, many tags and every attention marker, assigned to a person with a
    long name: the widest rows the list has to fit."""
    sent_back = drafted_claim(
        fact_checker,
        text="Iran says the drones were exported before the invasion of Ukraine began in February "
        "2022, and that none were delivered after that date according to its foreign ministry",
    )
    claim_submit(actor=fact_checker, claim=sent_back)
    claim_request_changes(actor=reviewer, claim=sent_back, comment="Cite the export dates.")
    troubled = drafted_claim(
        fact_checker,
        text="Russia's Alabuga plant will produce six thousand drones a year by the summer of 2025",
        url="https://news.example.org/alabuga",
    )
    Evidence.objects.filter(claim=troubled).update(quote_status=Evidence.QuoteStatus.NOT_FOUND)
    Source.objects.filter(url="https://news.example.org/alabuga").update(status=Source.Status.FAILED)
    Claim.objects.filter(pk=troubled.pk).update(
        source_flag="Source https://news.example.org/alabuga changed since publication."
    )
    tags = tags_get_or_create(names=["Drones", "Russia", "Iran", "Ukraine", "Military exports"])
    for claim in (sent_back, troubled):
        claim.tags.set(tags)
        Claim.objects.filter(pk=claim.pk).update(assignee=fact_checker)
    return [sent_back, troubled]


def test_claim_list_keeps_assignee_attention_and_updated_on_screen_at_1366_px(live_server, browser):
    fact_checker = FactCheckerFactory(
        username="fiona.longname", first_name="Fiona", last_name="Alexandrova-Featherstonehaugh"
    )
    reviewer = ReviewerFactory(username="rashid")
    claims_needing_attention(fact_checker, reviewer)

    page = log_in(browser, live_server, fact_checker)
    page.set_viewport_size(LAPTOP)
    page.goto(f"{live_server.url}/admin/claims/claim/")
    page.wait_for_selector("#result_list")
    shoot(page, "01-claim-list-1366")

    # No sideways scrolling, of the page or of the list's own scrolling box.
    assert page.evaluate("document.documentElement.scrollWidth") <= LAPTOP["width"]
    results = page.locator("#changelist .results")
    assert results.evaluate("box => box.scrollWidth <= box.clientWidth"), results.evaluate(
        "box => [box.scrollWidth, box.clientWidth]"
    )
    visible = results.bounding_box()
    assert visible is not None
    right_edge = min(LAPTOP["width"], visible["x"] + visible["width"])
    for column in ("assignee", "attention", "updated"):
        for cell in (f"thead th.column-{column}", f"tbody td.field-{column}"):
            box = page.locator(f"#result_list {cell}").first.bounding_box()
            assert box is not None, cell
            assert box["x"] >= 0 and box["x"] + box["width"] <= right_edge, (cell, box, right_edge)
    attention = page.locator("#result_list td.field-attention").all_inner_texts()
    assert "changes requested" in " ".join(attention)
    assert "source failed" in " ".join(attention)

    # The claim sent back opens on the reviewer's comment, in view without scrolling.
    page.locator("#result_list tr", has_text="changes requested").locator("th a").click()
    banner = page.locator(".changes-requested-banner")
    banner.wait_for()
    shoot(page, "01b-claim-sent-back-1366")
    assert "Changes requested by rashid" in banner.inner_text()
    assert "Cite the export dates." in banner.inner_text()
    box = banner.bounding_box()
    assert box is not None and box["y"] + box["height"] <= LAPTOP["height"]


def test_a_reviewer_on_a_phone_approves_from_the_queue_after_confirming_the_warnings(
    live_server, browser
):
    fact_checker = FactCheckerFactory(username="fiona")
    reviewer = FactCheckerFactory(username="rashid")
    reviewer.groups.add(Group.objects.get(name=REVIEWERS))
    claim = drafted_claim(fact_checker)
    Evidence.objects.filter(claim=claim).update(quote_status=Evidence.QuoteStatus.NOT_FOUND)
    claim_submit(actor=fact_checker, claim=claim, comment="Fixed the dates as asked.")

    page = log_in(browser, live_server, reviewer)
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/admin/claims/claim/review-queue/")
    row = page.locator(f"tr.queue-row[data-claim='{claim.pk}']")
    row.wait_for()
    shoot(page, "02-review-queue-390")

    # Nothing needs a sideways scroll, and the decision is within reach of a thumb.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert "quote not found" in row.locator("td.attention").inner_text()
    assert "Fixed the dates as asked." in row.locator(".hand-off-comment").inner_text()
    approve = row.locator("button[name=approve]")
    approve.scroll_into_view_if_needed()
    box = approve.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]

    approve.click()
    page.wait_for_selector("#approve_confirmation_form")
    shoot(page, "03-approve-confirmation-390")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert "was not found in https://news.example.org/iran-drones" in page.inner_text(
        ".publishing-warnings"
    )
    close_old_connections()
    assert Verdict.objects.get(claim=claim).state == Verdict.State.IN_REVIEW

    page.click("#approve_confirmation_form button[name=approve]")
    page.wait_for_selector(f"text=Approved and published verdict version 1 of claim #{claim.pk}.")
    shoot(page, "04-approved-back-in-the-queue-390")
    assert page.url.endswith("/admin/claims/claim/review-queue/")
    assert "Warning: The quote of evidence" in page.inner_text(".messagelist")
    close_old_connections()
    assert Verdict.objects.get(claim=claim).state == Verdict.State.APPROVED


def assert_table_fits(page, table: str, width: int) -> None:
    """No sideways scrolling of the page or of the table's box, and every header cell on screen."""
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    fits = page.locator(table).evaluate(
        "table => [table.parentElement.scrollWidth, table.parentElement.clientWidth]"
    )
    assert fits[0] <= fits[1], (table, fits)
    for header in page.locator(f"{table} thead th").all():
        box = header.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, (
            header.inner_text(),
            box,
        )


def test_the_review_queue_and_my_work_keep_attention_on_screen_at_1366_px(live_server, browser):
    both = FactCheckerFactory(username="rashid.longname", first_name="Rashid", last_name="Khan-Abernathy")
    both.groups.add(Group.objects.get(name=REVIEWERS))
    author = FactCheckerFactory(username="fiona.longname")
    claims_needing_attention(both, ReviewerFactory())
    waiting = drafted_claim(
        author,
        text="Ukraine says Russia launched forty-three Iranian-made drones at Kyiv overnight, most of "
        "which were shot down by air defences over the capital and its region",
        url="https://news.example.org/kyiv-overnight-drone-attack-air-defence-statement",
    )
    Evidence.objects.filter(claim=waiting).update(quote_status=Evidence.QuoteStatus.NOT_FOUND)
    claim_submit(actor=author, claim=waiting, comment="Sources are the ministry and two reporters.")
    assigned = drafted_claim(
        author,
        text="Iran's foreign minister says the drones Russia used were delivered months before the war",
        url="https://news.example.org/foreign-minister-interview-transcript-in-full",
    )
    Claim.objects.filter(pk=assigned.pk).update(assignee=both)

    page = log_in(browser, live_server, both)
    page.set_viewport_size(LAPTOP)
    page.goto(f"{live_server.url}/admin/claims/claim/review-queue/")
    page.wait_for_selector("table.review-queue")
    shoot(page, "05-review-queue-1366")
    assert_table_fits(page, "table.review-queue", LAPTOP["width"])
    assert "quote not found" in page.locator("tr.queue-row td.attention").first.inner_text()

    page.goto(f"{live_server.url}/admin/claims/claim/my-work/")
    page.wait_for_selector("#to-review table.work-table")
    shoot(page, "06-my-work-1366")
    for work_list in ("#sent-back", "#assigned", "#to-review"):
        assert_table_fits(page, f"{work_list} table.work-table", LAPTOP["width"])
    assert "changes requested" in page.locator("#sent-back td.attention").first.inner_text()
    assert "quote not found" in page.locator("#to-review td.attention").first.inner_text()
