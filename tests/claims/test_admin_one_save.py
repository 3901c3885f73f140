"""One save that never drops edits (SPEC §8, issue 11): every button of a claim page being drafted
saves the whole page (the claim's fields, its evidence edits and the draft verdict) in one
transaction, or refuses with every edit still in the form."""

import pytest

from claims.models import Claim, Evidence
from sources.models import Source
from tests.admin_helpers import QUOTE, admin_form_data, claim_url, drafted_claim
from tests.factories import rating
from verifier.models import ReviewLogEntry, Verdict
from verifier.services.claims import claim_create
from verifier.services.verdicts import claim_submit, verdict_approve

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("queued")]

NEW_TEXT = "Iran says the drones were exported long before the invasion"


@pytest.fixture
def page(as_user, fact_checker):
    """A fact-checker's claim page with a draft verdict, and the form data it posts unchanged."""
    claim = drafted_claim(fact_checker)
    client = as_user(fact_checker)
    return claim, client, admin_form_data(client.get(claim_url(claim)))


def test_save_draft_verdict_also_saves_the_claims_text(page):
    claim, client, data = page
    data.update(text=NEW_TEXT, summary="The timing is disputed.", save_verdict="Save draft verdict")

    response = client.post(claim_url(claim), data, follow=True)

    claim.refresh_from_db()
    assert claim.text == NEW_TEXT
    assert Verdict.objects.get(claim=claim).summary == "The timing is disputed."
    assert response.redirect_chain[-1][0] == claim_url(claim) + "#verdict"
    assert [str(m) for m in response.context["messages"]] == ["Saved the draft verdict (version 1)."]


def test_submit_saves_the_claim_evidence_and_verdict_then_submits(page):
    claim, client, data = page
    data.update(
        text=NEW_TEXT,
        rating=str(rating("false").pk),
        **{"evidence-0-note": "From the minister's interview."},
        comment="The dates are in the second paragraph.",
        submit_for_review="Submit for review",
    )
    Evidence.objects.update(quote_status=Evidence.QuoteStatus.NOT_FOUND)

    response = client.post(claim_url(claim), data, follow=True)

    claim.refresh_from_db()
    assert (claim.text, claim.status) == (NEW_TEXT, Claim.Status.IN_REVIEW)
    assert claim.evidence.get().note == "From the minister's interview."
    verdict = Verdict.objects.get(claim=claim)
    assert (verdict.rating.slug, verdict.state) == ("false", Verdict.State.IN_REVIEW)
    messages = [str(m) for m in response.context["messages"]]
    assert messages[:2] == ["Saved the draft verdict (version 1).", "Submitted the verdict for review."]
    # The publishing warnings follow, as after submit_view (they warn; they do not refuse).
    assert len(messages) == 3 and messages[2].startswith("Warning: ")
    submitted = ReviewLogEntry.objects.filter(claim=claim).last()
    assert (submitted.action, submitted.comment) == (
        ReviewLogEntry.Action.SUBMIT, "The dates are in the second paragraph.",
    )


def test_the_claims_save_button_also_saves_a_changed_verdict(page):
    claim, client, data = page
    data.update(explanation="Line one.\r\nLine two.", _continue="Save and continue editing")

    client.post(claim_url(claim), data)

    assert Verdict.objects.get(claim=claim).explanation == "Line one.\nLine two."


def test_an_unchanged_verdict_is_not_saved_again_by_the_claims_save_button(page):
    claim, client, data = page
    data.update(text=NEW_TEXT, explanation="Reports show deliveries after\r\nFebruary 2022.")
    Verdict.objects.filter(claim=claim).update(explanation="Reports show deliveries after\nFebruary 2022.")
    verdict = Verdict.objects.get(claim=claim)
    versions = verdict.history.count()

    client.post(claim_url(claim), data)

    assert verdict.history.count() == versions


def test_re_fetch_saves_the_page_first(page, queued):
    claim, client, data = page
    evidence = claim.evidence.get()
    data.update(text=NEW_TEXT, _refetch=str(evidence.pk))

    response = client.post(claim_url(claim), data, follow=True)

    claim.refresh_from_db()
    assert claim.text == NEW_TEXT
    assert response.redirect_chain[-1][0] == claim_url(claim) + "#evidence-group"
    assert Source.objects.get().fetch_token is not None


def test_a_refused_submit_keeps_every_edit_in_the_form_and_saves_nothing(page):
    claim, client, data = page
    data.update(
        text=NEW_TEXT,
        rating="",
        summary="Still writing this.",
        **{"evidence-0-quote": "Iran says that these drones"},
        submit_for_review="Submit for review",
    )

    response = client.post(claim_url(claim), data)

    assert response.status_code == 200
    body = response.content.decode()
    assert "Before submitting, the verdict needs a rating." in body
    assert response.context["adminform"].form["text"].value() == NEW_TEXT
    assert response.context["verdict_form"]["summary"].value() == "Still writing this."
    evidence_form = response.context["inline_admin_formsets"][0].formset.forms[0]
    assert evidence_form["quote"].value() == "Iran says that these drones"
    claim.refresh_from_db()
    assert claim.text != NEW_TEXT and claim.status == Claim.Status.DRAFT
    assert claim.evidence.get().quote == QUOTE
    assert Verdict.objects.get(claim=claim).summary != "Still writing this."


def test_a_service_refusal_of_the_claims_text_is_an_error_on_that_field(page, fact_checker):
    claim, client, data = page
    claim_create(actor=fact_checker, text="Already checked", claimant_name="Iran")
    data.update(text="Already checked", summary="Edited too.", save_verdict="Save draft verdict")

    response = client.post(claim_url(claim), data)

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form["text"].value() == "Already checked" and form.errors["text"]
    assert Verdict.objects.get(claim=claim).summary != "Edited too."


def test_a_published_claims_page_saves_without_posting_its_read_only_evidence(
    as_user, fact_checker, reviewer
):
    claim = drafted_claim(fact_checker)
    claim_submit(actor=fact_checker, claim=claim)
    verdict_approve(actor=reviewer, claim=claim)
    client = as_user(fact_checker)
    data = admin_form_data(client.get(claim_url(claim)))
    # A browser posts no fields for read-only cells.
    for field in ("quote", "stance", "note"):
        data.pop(f"evidence-0-{field}", None)
    data["assignee"] = str(fact_checker.pk)

    response = client.post(claim_url(claim), data)

    assert response.status_code == 302
    claim.refresh_from_db()
    assert claim.assignee == fact_checker
    assert claim.evidence.get().quote == QUOTE
    assert Verdict.objects.get(claim=claim).state == Verdict.State.APPROVED


def test_start_a_correction_posts_the_page_and_drafts_version_two(as_user, fact_checker, reviewer):
    claim = drafted_claim(fact_checker)
    claim_submit(actor=fact_checker, claim=claim)
    verdict_approve(actor=reviewer, claim=claim)
    client = as_user(fact_checker)
    page = client.get(claim_url(claim))
    assert 'value="Start a correction"' in page.content.decode()
    data = admin_form_data(page)
    data.update(summary="Iran admits it; the timing was wrong.", save_verdict="Start a correction")

    response = client.post(claim_url(claim), data, follow=True)

    assert [str(m) for m in response.context["messages"]] == ["Saved the draft verdict (version 2)."]
    correction = Verdict.objects.get(claim=claim, version=2)
    assert (correction.state, correction.summary) == (
        Verdict.State.DRAFT, "Iran admits it; the timing was wrong.",
    )
    assert Verdict.objects.get(claim=claim, version=1).state == Verdict.State.APPROVED
