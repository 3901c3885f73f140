"""Source flags kept as entries (SPEC §8): verifier.services.flags, the correction started from an
entry (verifier.services.verdicts.source_flag_correct), the bounded text diff
(verifier.selectors.flags), the claim page's flag panel and the data migration from single flags."""

import importlib
import random

import pytest
from django.apps import apps
from django.utils import timezone

from claims.models import Claim
from core.content_version import public_content_version
from core.errors import DomainError
from tests.factories import rating
from tests.verifier.conftest import IRAN_QUOTE, record_fetch
from verifier.models import Notification, ReviewLogEntry, SourceFlag, WebhookDelivery, WebhookEndpoint
from verifier.selectors.flags import MAX_LINE_CHARS, MAX_LINES, source_flag_diff, text_diff
from verifier.services.flags import source_flag_dismiss
from verifier.services.verdicts import claim_submit, source_flag_correct, verdict_approve, verdict_save_draft

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("queued")]

CHANGED_URL = "https://news.example.org/drones-report"
GONE_URL = "https://news.example.org/drones-statement"


@pytest.fixture
def two_source_claim(make_published_claim):
    """A published claim citing two sources, each fetched once and quoted."""
    return make_published_claim(evidence=[(CHANGED_URL, IRAN_QUOTE), (GONE_URL, IRAN_QUOTE)])


def source_of(claim: Claim, url: str):
    return claim.evidence.get(source__url=url).source


def flag_both(claim: Claim) -> tuple[SourceFlag, SourceFlag]:
    """One source rewritten, the other answering 404: the two entries, in that order."""
    record_fetch(source_of(claim, CHANGED_URL), text="Iran said nothing about drones in February.")
    record_fetch(source_of(claim, GONE_URL), text="", http_status=404)
    changed = SourceFlag.objects.get(claim=claim, source__url=CHANGED_URL)
    gone = SourceFlag.objects.get(claim=claim, source__url=GONE_URL)
    return changed, gone


def test_each_change_and_disappearance_is_an_entry_of_its_own(two_source_claim):
    approved = {e.source.url: e.quote_checked_snapshot_id for e in two_source_claim.evidence.all()}

    changed, gone = flag_both(two_source_claim)

    assert (changed.kind, changed.state) == (SourceFlag.Kind.CHANGED, SourceFlag.State.OPEN)
    assert (gone.kind, gone.state) == (SourceFlag.Kind.GONE, SourceFlag.State.OPEN)
    assert changed.approved_snapshot_id == approved[CHANGED_URL]
    assert gone.approved_snapshot_id == approved[GONE_URL]
    assert changed.new_snapshot == source_of(two_source_claim, CHANGED_URL).snapshots.first()
    assert gone.new_snapshot.http_status == 404
    claim = Claim.objects.get(pk=two_source_claim.pk)
    assert claim.status == Claim.Status.PUBLISHED
    assert f"Source {CHANGED_URL} changed" in claim.source_flag
    assert f"Source {GONE_URL} disappeared" in claim.source_flag
    assert claim.source_flagged_at == gone.detected_at


def test_a_second_change_of_the_same_source_is_another_entry_against_the_approved_snapshot(
    published_claim,
):
    source = published_claim.evidence.get().source
    approved = published_claim.evidence.get().quote_checked_snapshot_id

    record_fetch(source, text="First rewrite.")
    record_fetch(source, text="Second rewrite.")

    entries = SourceFlag.objects.filter(claim=published_claim).order_by("detected_at", "id")
    assert [entry.approved_snapshot_id for entry in entries] == [approved, approved]
    assert len({entry.new_snapshot_id for entry in entries}) == 2


def test_each_entry_is_announced_to_the_webhooks_and_the_people_concerned(
    two_source_claim, fact_checker, reviewer
):
    WebhookEndpoint.objects.create(url="https://hooks.example.org/flags", events=["flag"])

    flag_both(two_source_claim)

    assert list(WebhookDelivery.objects.values_list("event", flat=True)) == ["flag", "flag"]
    flagged = Notification.objects.filter(event=Notification.Event.SOURCE_FLAGGED)
    texts = flagged.values_list("text", flat=True)
    told_reviewer = sorted(texts.filter(recipient=reviewer))
    assert sorted(texts.filter(recipient=fact_checker)) == told_reviewer
    assert len(told_reviewer) == 2
    assert any(CHANGED_URL in text for text in told_reviewer)
    assert any(GONE_URL in text for text in told_reviewer)


def test_an_unchanged_or_unreachable_source_raises_no_entry(published_claim):
    source = published_claim.evidence.get().source

    record_fetch(source, text=source.snapshots.first().text)
    record_fetch(source, text="", http_status=500)

    assert not SourceFlag.objects.exists()
    assert Claim.objects.get(pk=published_claim.pk).source_flag == ""


def test_the_api_lists_the_open_entries(api_client, two_source_claim, fact_checker):
    changed, gone = flag_both(two_source_claim)
    url = f"/api/v1/claims/{two_source_claim.pk}/"

    listed = api_client.get(url).json()["flag"]
    assert [(entry["source"], entry["kind"]) for entry in listed] == [
        (CHANGED_URL, "changed"),
        (GONE_URL, "gone"),
    ]
    assert listed[1]["new_snapshot"] == {
        "id": gone.new_snapshot_id,
        "content_sha256": gone.new_snapshot.content_sha256,
        "http_status": 404,
    }

    source_flag_dismiss(actor=fact_checker, flag=changed, comment="Only the layout changed.")

    assert [entry["source"] for entry in api_client.get(url).json()["flag"]] == [GONE_URL]


def test_dismissing_an_entry_logs_the_comment_and_unflags_the_claim_once_none_is_open(
    two_source_claim, fact_checker
):
    changed, gone = flag_both(two_source_claim)

    source_flag_dismiss(actor=fact_checker, flag=changed, comment="Only the layout changed; quote intact.")

    changed.refresh_from_db()
    assert (changed.state, changed.resolved_by, changed.comment) == (
        SourceFlag.State.DISMISSED,
        fact_checker,
        "Only the layout changed; quote intact.",
    )
    entry = ReviewLogEntry.objects.filter(claim=two_source_claim).last()
    assert (entry.action, entry.actor, entry.from_state, entry.to_state) == (
        ReviewLogEntry.Action.DISMISS_FLAG,
        fact_checker,
        "open",
        "dismissed",
    )
    assert CHANGED_URL in entry.comment and "Only the layout changed; quote intact." in entry.comment
    claim = Claim.objects.get(pk=two_source_claim.pk)
    assert CHANGED_URL not in claim.source_flag and GONE_URL in claim.source_flag
    before = (claim.updated_at, public_content_version())

    source_flag_dismiss(actor=fact_checker, flag=gone, comment="The statement moved; archived copy stands.")

    claim = Claim.objects.get(pk=two_source_claim.pk)
    assert (claim.source_flag, claim.source_flagged_at) == ("", None)
    assert claim.updated_at > before[0] and public_content_version() > before[1]


def test_a_dismissal_needs_a_comment_a_fact_checker_and_an_open_entry(
    published_claim, fact_checker, reviewer
):
    record_fetch(published_claim.evidence.get().source, text="Rewritten.")
    flag = SourceFlag.objects.get()

    with pytest.raises(DomainError) as no_comment:
        source_flag_dismiss(actor=fact_checker, flag=flag, comment="  ")
    assert no_comment.value.kind == "invalid"
    with pytest.raises(DomainError) as not_allowed:
        source_flag_dismiss(actor=reviewer, flag=flag, comment="Fine.")
    assert not_allowed.value.kind == "forbidden"
    source_flag_dismiss(actor=fact_checker, flag=flag, comment="Fine.")
    with pytest.raises(DomainError) as twice:
        source_flag_dismiss(actor=fact_checker, flag=flag, comment="Fine again.")
    assert twice.value.kind == "conflict"
    assert ReviewLogEntry.objects.filter(action=ReviewLogEntry.Action.DISMISS_FLAG).count() == 1


def test_a_correction_started_from_an_entry_closes_the_open_entries_when_approved(
    two_source_claim, fact_checker, second_reviewer
):
    changed, gone = flag_both(two_source_claim)
    source_flag_dismiss(actor=fact_checker, flag=changed, comment="Cosmetic.")

    correction = source_flag_correct(actor=fact_checker, flag=gone)

    assert correction.version == 2 and correction.state == "draft"
    assert correction.summary == two_source_claim.verdicts.get(version=1).summary
    gone.refresh_from_db()
    assert (gone.state, gone.correction) == (SourceFlag.State.OPEN, correction)
    assert Claim.objects.get(pk=two_source_claim.pk).source_flag != ""

    verdict_save_draft(
        actor=fact_checker, claim=two_source_claim, rating=rating("half-true"), summary="One source is gone.",
        correction_note="The ministry's statement was taken down; the rating now rests on the report alone.",
    )
    claim_submit(actor=fact_checker, claim=two_source_claim)
    verdict_approve(actor=second_reviewer, claim=two_source_claim)

    gone.refresh_from_db()
    changed.refresh_from_db()
    assert (gone.state, gone.correction, gone.resolved_by) == (
        SourceFlag.State.CORRECTED,
        correction,
        second_reviewer,
    )
    assert changed.state == SourceFlag.State.DISMISSED, "a dismissed entry stays dismissed"
    assert Claim.objects.get(pk=two_source_claim.pk).source_flag == ""


def test_a_correction_cannot_be_submitted_without_a_correction_note(published_claim, fact_checker):
    verdict_save_draft(actor=fact_checker, claim=published_claim, rating=rating("true"), summary="Corrected.")

    with pytest.raises(DomainError, match="a correction note"):
        claim_submit(actor=fact_checker, claim=published_claim)


# The diff.


def test_the_diff_shows_the_reworded_sentence_with_its_context(published_claim):
    source = published_claim.evidence.get().source
    record_fetch(source, text=f"Iran said {IRAN_QUOTE} in March.")

    diff = source_flag_diff(SourceFlag.objects.get())

    assert (diff.removed, diff.added, diff.truncated) == (1, 1, False)
    assert [line.kind for line in diff.lines] == ["removed", "added"]
    assert diff.lines[0].text.endswith("in February.") and diff.lines[1].text.endswith("in March.")


def test_the_diff_of_a_gone_source_lists_the_approved_text_as_removed(published_claim):
    record_fetch(published_claim.evidence.get().source, text="", http_status=404)

    diff = source_flag_diff(SourceFlag.objects.get())

    assert diff.added == 0 and diff.removed == 1


def test_the_diff_of_megabyte_texts_is_bounded():
    rng = random.Random(11)
    words = ["".join(rng.choices("abcdefghijklmnop", k=7)) for _ in range(5_000)]

    def page() -> str:
        return ". ".join(" ".join(rng.choices(words, k=12)) for _ in range(11_000)) + "."

    old, new = page(), page()
    assert len(old) > 1_000_000

    unrelated = text_diff(old, new)
    one_sentence = text_diff(old, old[:500_000] + " A sentence added here. " + old[500_000:])

    assert unrelated.truncated and len(unrelated.lines) == MAX_LINES
    assert all(len(line.text) <= MAX_LINE_CHARS + 1 for line in unrelated.lines)
    assert not one_sentence.truncated and len(one_sentence.lines) < 10
    assert one_sentence.lines[0].kind == "skipped"


def test_a_single_line_megabyte_text_is_cut_into_short_lines():
    diff = text_diff("x" * 1_000_000, "y" * 1_000_000)

    assert [len(line.text) for line in diff.lines] == [MAX_LINE_CHARS + 1, MAX_LINE_CHARS + 1]


# The claim page.


def test_the_claim_page_shows_each_entry_with_its_diff_and_dismisses_one(
    as_user, two_source_claim, fact_checker
):
    changed, gone = flag_both(two_source_claim)
    page_url = f"/admin/claims/claim/{two_source_claim.pk}/change/"

    page = as_user(fact_checker).get(page_url).content.decode()

    assert 'id="flags"' in page and f'id="flag-{changed.pk}"' in page and f'id="flag-{gone.pk}"' in page
    assert "in February." in page and 'class="diff-removed"' in page
    assert page.count('value="Dismiss: verdict still valid"') == 2

    response = as_user(fact_checker).post(
        f"/admin/claims/claim/{two_source_claim.pk}/flag-dismiss/",
        {"flag": changed.pk, "comment": "Checked: only the navigation changed."},
    )

    assert response.status_code == 302 and response["Location"].endswith("#flags")
    changed.refresh_from_db()
    assert changed.state == SourceFlag.State.DISMISSED
    response = as_user(fact_checker).post(
        f"/admin/claims/claim/{two_source_claim.pk}/flag-correct/", {"flag": gone.pk}
    )
    assert response.status_code == 302
    gone.refresh_from_db()
    assert gone.correction is not None and gone.correction.version == 2


def test_a_reviewer_sees_the_entries_but_cannot_dismiss_them(as_user, published_claim, reviewer):
    record_fetch(published_claim.evidence.get().source, text="Rewritten.")
    flag = SourceFlag.objects.get()

    page = as_user(reviewer).get(f"/admin/claims/claim/{published_claim.pk}/change/").content.decode()
    as_user(reviewer).post(
        f"/admin/claims/claim/{published_claim.pk}/flag-dismiss/", {"flag": flag.pk, "comment": "Fine."}
    )

    assert f'id="flag-{flag.pk}"' in page and "Dismiss: verdict still valid" not in page
    flag.refresh_from_db()
    assert flag.state == SourceFlag.State.OPEN


def test_the_entry_admin_page_shows_the_diff(as_user, published_claim, reviewer):
    record_fetch(published_claim.evidence.get().source, text=f"Iran said {IRAN_QUOTE} in March.")
    flag = SourceFlag.objects.get()

    page = as_user(reviewer).get(f"/admin/verifier/sourceflag/{flag.pk}/change/").content.decode()
    listing = as_user(reviewer).get("/admin/verifier/sourceflag/?state__exact=open").content.decode()

    assert "in March." in page and 'class="diff-added"' in page
    assert published_claim.evidence.get().source.url in listing


# The data migration.


def test_a_single_flag_of_before_becomes_one_open_entry(published_claim):
    source = published_claim.evidence.get().source
    approved = published_claim.evidence.get().quote_checked_snapshot_id
    record_fetch(source, text="Rewritten.")
    snapshot = source.snapshots.first()
    SourceFlag.objects.all().delete()
    flagged_at = timezone.now()
    reason = f"Source {source.url} changed (snapshot {snapshot.pk}, {flagged_at:%Y-%m-%d})."
    Claim.objects.filter(pk=published_claim.pk).update(source_flag=reason, source_flagged_at=flagged_at)
    migration = importlib.import_module("verifier.migrations.0007_source_flags_from_single_flags")

    migration._single_flags_to_entries(apps, None)
    migration._single_flags_to_entries(apps, None)

    flag = SourceFlag.objects.get()
    assert (flag.claim_id, flag.source, flag.new_snapshot, flag.kind, flag.state) == (
        published_claim.pk,
        source,
        snapshot,
        SourceFlag.Kind.CHANGED,
        SourceFlag.State.OPEN,
    )
    assert flag.approved_snapshot_id == approved
    assert flag.detected_at == flagged_at


# Query counts: the open entries cost one query, only on a page with a flagged claim.


@pytest.mark.parametrize("count", [1, 20])
def test_a_page_of_flagged_claims_reads_their_entries_in_one_query(
    api_client, make_published_claim, django_assert_num_queries, count
):
    for _ in range(count):
        claim = make_published_claim()
        record_fetch(claim.evidence.get().source, text="Rewritten.")
        record_fetch(claim.evidence.get().source, text="", http_status=404)

    # As tests/verifier/test_api.py's LIST_QUERIES (4), plus the snapshots frozen at approval (no
    # longer the ones the quotes were last checked against) and the open entries.
    with django_assert_num_queries(4 + 1 + 1):
        response = api_client.get("/api/v1/claims/")

    assert [len(item["flag"]) for item in response.json()["results"]] == [2] * count
