"""A desk's day in a real browser (issue 11, "Done when"): headless Chromium against the admin served
by live_server, a real worker process fetching from a local HTTP server and sending mail to a real
SMTP server (aiosmtpd).

A fact-checker drafts and submits a verdict (the reviewer gets mail); the reviewer requests changes
(the author gets mail and sees the comment in a banner on the claim page); the fact-checker fixes it,
adding a source whose quote is not found, and resubmits past the warning; the reviewer approves from
the review queue after a confirmation that lists the warning. Then a cited source changes and
another returns 404: two flag entries, a diff, mails. The fact-checker dismisses
one as "verdict still valid" and corrects the claim from the other, with a correction note that
appears, dated, on the public page. Screenshots of each step go to the test's tmp dir and are copied
to test-artifacts/screenshots/desk-day-NN-<step>.png.
"""

import io
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import close_old_connections

from claims.models import Claim
from tests.browser import SCREENSHOTS
from tests.factories import FactCheckerFactory, ReviewerFactory
from tests.processes import WorkerProcess, purge_queues, wait_for
from tests.smtp import smtp_server
from tests.test_browser_admin import browser, log_in, wait_for_badges
from verifier.models import SourceFlag, Verdict
from verifier.services.claims import claim_create
from verifier.services.evidence import evidence_add

__all__ = ["browser"]

REPORT_QUOTE = "the drones were delivered in August, weeks before the first strikes"
STATEMENT_QUOTE = "Iran has never supplied drones for use in Ukraine"
CORRECTION_NOTE = (
    "The foreign ministry took its statement down after publication; the rating now rests on the "
    "news report alone, which still supports it."
)


def page_html(title: str, *paragraphs: str) -> str:
    body = "".join(f"<p>{paragraph}</p>" for paragraph in paragraphs)
    return (
        f"<!doctype html><html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
        f"{body}</article></body></html>"
    )


REPORT = page_html(
    "Drone deliveries, a timeline",
    f"Satellite images and shipping records show that {REPORT_QUOTE}.",
    "Officials in Tehran have disputed the timing. The reporting team reviewed the manifests.",
    "Ukraine's air force reported the first strikes in September.",
)
REPORT_REWRITTEN = page_html(
    "Drone deliveries, a timeline",
    "Satellite images and shipping records show that the drones arrived in the autumn.",
    "Officials in Tehran have disputed the timing. The reporting team reviewed the manifests.",
    "Ukraine's air force reported the first strikes in September.",
)
BRIEFING_QUOTE = "the manifests were shared with the committee"
BRIEFING = page_html(
    "Press briefing",
    "The spokesman said the shipping records had been passed on. No documents were released.",
)
STATEMENT = page_html(
    "Statement of the foreign ministry",
    f"The ministry repeated that {STATEMENT_QUOTE}. Any claim to the contrary is propaganda.",
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.worker,
    # Serialized rollback restores the rating scale and groups the migrations made (see test_end_to_end).
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def mailbox():
    with smtp_server() as server:
        yield server


@pytest.fixture
def desk_worker(httpserver, mailbox, settings):
    """A real worker that fetches from the local server and mails through the local SMTP server."""
    ports = {80, 443, httpserver.port}
    settings.SOURCES_ALLOW_PRIVATE_NETWORKS = True
    settings.SOURCES_ALLOWED_PORTS = frozenset(ports)
    purge_queues()
    process = WorkerProcess(
        {
            "EMAIL_URL": mailbox.url,
            "SOURCES_ALLOW_PRIVATE_NETWORKS": "1",
            "SOURCES_ALLOWED_PORTS": ",".join(str(port) for port in sorted(ports)),
        }
    ).start()
    yield process
    process.stop()


@pytest.fixture
def screenshot(tmp_path):
    folder = tmp_path / "desk-day"
    folder.mkdir()
    taken: list[Path] = []

    def take(page, name: str) -> Path:
        path = folder / f"desk-day-{len(taken) + 1:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        taken.append(path)
        return path

    yield take
    # Kept for people to look at, as the other browser tests keep theirs.
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("desk-day-*.png"):
        old.unlink()
    for path in taken:
        shutil.copy(path, SCREENSHOTS / path.name)


def mails(mailbox, *, to, subject: str) -> list:
    return [m for m in mailbox.messages if m["To"] == to.email and subject in m["Subject"]]


def wait_for_mail(mailbox, worker, *, to, subject: str, count: int = 1) -> list:
    return wait_for(
        lambda: len(found := mails(mailbox, to=to, subject=subject)) >= count and found,
        timeout=90,
        what=f"{count} mail(s) '{subject}' to {to.username}\n{worker.log()}",
    )


def claim_page(page, live_server, claim: Claim) -> None:
    page.goto(f"{live_server.url}/admin/claims/claim/{claim.pk}/change/")
    page.wait_for_selector("#verdict")


def test_a_desk_day_from_draft_to_correction(
    desk_worker, mailbox, httpserver, live_server, browser, screenshot
):
    httpserver.expect_request("/report").respond_with_data(REPORT, content_type="text/html")
    httpserver.expect_request("/statement").respond_with_data(STATEMENT, content_type="text/html")
    httpserver.expect_request("/briefing").respond_with_data(BRIEFING, content_type="text/html")
    fact_checker = FactCheckerFactory(username="fiona")
    reviewer = ReviewerFactory(username="rashid")
    claim = claim_create(
        actor=fact_checker,
        text="Iran says it never supplied the drones used against Ukraine",
        claimant_name="Iran",
        assignee=fact_checker,
    )
    evidence_add(
        actor=fact_checker, claim=claim, url=httpserver.url_for("/report"), quote=REPORT_QUOTE,
        stance="refutes",
    )
    evidence_add(
        actor=fact_checker, claim=claim, url=httpserver.url_for("/statement"), quote=STATEMENT_QUOTE,
        stance="context",
    )

    # The fact-checker waits for the worker's fetches, drafts the verdict and submits it.
    fiona = log_in(browser, live_server, fact_checker)
    claim_page(fiona, live_server, claim)
    wait_for_badges(fiona, "/report", fetch="fetched", quote="found", worker=desk_worker)
    wait_for_badges(fiona, "/statement", fetch="fetched", quote="found", worker=desk_worker)
    fiona.select_option("#verdict_form select[name=rating]", label="False")
    fiona.fill("#verdict_form textarea[name=summary]", "Shipping records show the drones arrived.")
    fiona.click("input[name=save_verdict]")
    fiona.wait_for_selector("text=Saved the draft verdict (version 1).")
    screenshot(fiona, "verdict-drafted")
    fiona.click("input[name=submit_for_review]")
    fiona.wait_for_selector("text=Submitted the verdict for review.")
    screenshot(fiona, "submitted-for-review")
    wait_for_mail(mailbox, desk_worker, to=reviewer, subject="Submitted for review")

    # The reviewer sends it back with a comment; the author hears of it by mail.
    rashid = log_in(browser, live_server, reviewer)
    claim_page(rashid, live_server, claim)
    rashid.fill("#request_changes_comment", "Say which records: name the shipping manifests.")
    screenshot(rashid, "reviewer-requests-changes")
    rashid.click("input[name=request_changes]")
    rashid.wait_for_selector(f"text=Sent claim #{claim.pk} back to the fact-checkers with your comment.")
    [sent_back] = wait_for_mail(mailbox, desk_worker, to=fact_checker, subject="Changes requested")
    assert "name the shipping manifests" in sent_back.get_body(preferencelist=("plain",)).get_content()

    # The fact-checker sees the comment at the top of the claim page, fixes the summary, cites the
    # briefing (whose quote the worker does not find) and resubmits past the warning.
    claim_page(fiona, live_server, claim)
    assert "name the shipping manifests" in fiona.inner_text(".changes-requested-banner")
    screenshot(fiona, "changes-requested-banner")
    fiona.fill("#id_new_evidence-0-url", httpserver.url_for("/briefing"))
    fiona.fill("#id_new_evidence-0-quote", BRIEFING_QUOTE)
    fiona.select_option("#id_new_evidence-0-stance", "context")
    fiona.fill(
        "#verdict_form textarea[name=summary]",
        "Shipping manifests and satellite images show the drones arrived in August.",
    )
    fiona.click("input[name=save_verdict]")
    fiona.wait_for_selector("text=Saved the draft verdict (version 1).")
    wait_for_badges(fiona, "/briefing", fetch="fetched", quote="not found", worker=desk_worker)
    briefing = claim.evidence.get(source__url=httpserver.url_for("/briefing"))
    warning = f"The quote of evidence #{briefing.pk} was not found in {briefing.source.url}."
    assert warning in fiona.inner_text("#submit_form .publishing-warnings")
    screenshot(fiona, "warning-before-resubmitting")
    fiona.click("input[name=submit_for_review]")
    fiona.wait_for_selector("text=Submitted the verdict for review.")
    assert f"Warning: {warning}" in fiona.inner_text(".messagelist")
    wait_for_mail(mailbox, desk_worker, to=reviewer, subject="Submitted for review", count=2)

    # The reviewer approves from the queue, on a confirmation page listing the warning; the author
    # hears of it.
    rashid.goto(f"{live_server.url}/admin/claims/claim/review-queue/")
    rashid.locator(f"tr.queue-row[data-claim='{claim.pk}'] button[name=approve]").click()
    rashid.wait_for_selector("#approve_confirmation_form")
    assert warning in rashid.inner_text(".publishing-warnings")
    screenshot(rashid, "approve-confirmation-with-warning")
    assert Claim.objects.get(pk=claim.pk).status == Claim.Status.IN_REVIEW, "nothing approved yet"
    rashid.click("#approve_confirmation_form button[name=approve]")
    rashid.wait_for_selector(f"text=Approved and published verdict version 1 of claim #{claim.pk}.")
    screenshot(rashid, "approved")
    wait_for_mail(mailbox, desk_worker, to=fact_checker, subject="Approved and published")

    # A re-check finds the report rewritten and the statement gone: two entries, mails to both.
    httpserver.clear_all_handlers()
    httpserver.expect_request("/report").respond_with_data(REPORT_REWRITTEN, content_type="text/html")
    httpserver.expect_request("/statement").respond_with_data("Not found", status=404)
    httpserver.expect_request("/briefing").respond_with_data(BRIEFING, content_type="text/html")
    call_command("recheck_sources", "--all", stdout=io.StringIO())
    wait_for(
        lambda: SourceFlag.objects.filter(claim=claim).count() == 2
        and claim.evidence.get(pk=briefing.pk).source.snapshots.count() == 2,
        timeout=90,
        what=f"two flag entries and the briefing re-checked\n{desk_worker.log()}",
    )
    for person in (fact_checker, reviewer):
        flagged = wait_for_mail(mailbox, desk_worker, to=person, subject="Cited source changed", count=2)
        bodies = " ".join(m.get_body(preferencelist=("plain",)).get_content() for m in flagged)
        assert "/report changed" in bodies and "/statement disappeared" in bodies
    changed = SourceFlag.objects.get(claim=claim, kind=SourceFlag.Kind.CHANGED)
    gone = SourceFlag.objects.get(claim=claim, kind=SourceFlag.Kind.GONE)

    # The fact-checker reads both entries, with the diff of the rewritten report.
    claim_page(fiona, live_server, claim)
    fiona.wait_for_selector("#flags")
    changed_entry = fiona.locator(f"#flag-{changed.pk}")
    assert REPORT_QUOTE in changed_entry.locator(".diff-removed").inner_text()
    assert "the drones arrived in the autumn" in changed_entry.locator(".diff-added").inner_text()
    assert fiona.locator(f"#flag-{gone.pk} .badge").inner_text() == "disappeared"
    fiona.locator("#flags").scroll_into_view_if_needed()
    screenshot(fiona, "two-flag-entries-with-diff")

    # One is dismissed: the rewrite does not touch the verdict.
    changed_entry.locator("textarea[name=comment]").fill(
        "Checked: the report now says autumn, still before the strikes; the verdict holds."
    )
    changed_entry.locator("input[name=dismiss_flag]").click()
    fiona.wait_for_selector("text=checked, the verdict is still valid")
    assert "the verdict holds" in fiona.inner_text("#review-log")
    screenshot(fiona, "one-entry-dismissed")

    # The other starts a correction, which carries a correction note.
    fiona.locator(f"#flag-{gone.pk} input[name=correct_flag]").click()
    fiona.wait_for_selector("text=Correction started (version 2)")
    fiona.fill(
        "#verdict_form textarea[name=summary]",
        "Shipping manifests show the drones arrived in August; Iran's denial is no longer online.",
    )
    fiona.fill("#verdict_form textarea[name=correction_note]", CORRECTION_NOTE)
    fiona.click("input[name=save_verdict]")
    fiona.wait_for_selector("text=Saved the draft verdict (version 2).")
    fiona.click("input[name=submit_for_review]")
    fiona.wait_for_selector("text=Submitted the verdict for review.")
    screenshot(fiona, "correction-submitted")

    claim_page(rashid, live_server, claim)
    assert CORRECTION_NOTE in rashid.inner_text(".correction-note")
    rashid.click("#approve_form input[name=approve]")
    rashid.wait_for_selector(f"text=Approved and published verdict version 2 of claim #{claim.pk}.")
    close_old_connections()
    gone.refresh_from_db()
    changed.refresh_from_db()
    assert (gone.state, changed.state) == (SourceFlag.State.CORRECTED, SourceFlag.State.DISMISSED)
    assert Claim.objects.get(pk=claim.pk).source_flag == ""
    assert Verdict.objects.get(claim=claim, version=2).correction_note == CORRECTION_NOTE

    # Readers see the dated correction notice on the public page.
    reader = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    reader.goto(f"{live_server.url}/claims/{claim.pk}/")
    notice = reader.locator(".correction-notice")
    assert CORRECTION_NOTE in notice.inner_text()
    assert notice.locator("time").get_attribute("datetime")
    assert reader.locator(".flag").count() == 0, "no open entry: the page is no longer under review"
    screenshot(reader, "public-page-with-correction-note")
    wait_for_mail(mailbox, desk_worker, to=fact_checker, subject="Approved and published", count=2)
    wait_for_mail(mailbox, desk_worker, to=reviewer, subject="Submitted for review", count=3)
    # One mail per person and event: nobody is told of their own action, nothing is sent twice.
    received = sorted((m["To"], m["Subject"].split(":")[0]) for m in mailbox.messages)
    assert received == sorted(
        [(fact_checker.email, "[Verifier] Changes requested")]
        + [(fact_checker.email, "[Verifier] Approved and published")] * 2
        + [(fact_checker.email, "[Verifier] Cited source changed or disappeared")] * 2
        + [(reviewer.email, "[Verifier] Submitted for review")] * 3
        + [(reviewer.email, "[Verifier] Cited source changed or disappeared")] * 2
    )
