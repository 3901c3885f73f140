"""Editable draft evidence (SPEC §8, issue 11): until a claim is published, a fact-checker edits an
evidence quote, stance and note in place, through evidence_update, from the API and the claim page;
each change is in the field history, and a changed quote is checked again at once against the
latest snapshot already recorded (no new fetch)."""

import pytest
from django.contrib.auth.models import Group

from claims.models import Claim, Evidence
from core.errors import DomainError, ErrorKind
from core.roles import REVIEWERS
from core.text_bounds import CLAIM_TEXT_MAX, EXPLANATION_MAX, NOTE_MAX, QUOTE_MAX, SUMMARY_MAX
from sources.models import Source
from tests.admin_helpers import QUOTE, admin_form_data, claim_url, drafted_claim, snapshot_of
from tests.factories import FactCheckerFactory
from verifier.services.claims import claim_create, claim_update
from verifier.services.evidence import evidence_add, evidence_update
from verifier.services.verdicts import (
    claim_request_changes,
    claim_submit,
    verdict_approve,
    verdict_save_draft,
)

pytestmark = pytest.mark.django_db

CLAIMS = "/api/v1/claims/"


@pytest.fixture
def draft(fact_checker, queued) -> Claim:
    """A draft claim whose quote was found in its source's latest snapshot."""
    return drafted_claim(fact_checker)


def published(fact_checker, reviewer) -> Claim:
    claim = drafted_claim(fact_checker)
    claim_submit(actor=fact_checker, claim=claim)
    verdict_approve(actor=reviewer, claim=claim)
    return Claim.objects.get(pk=claim.pk)


# The service.


def test_a_changed_quote_is_checked_again_against_the_latest_snapshot_without_a_fetch(
    draft, fact_checker, queued
):
    evidence = draft.evidence.get()
    checked_against = evidence.quote_checked_snapshot_id
    queued.reset_mock()

    evidence_update(
        actor=fact_checker, evidence=evidence, quote="Iran denies it", stance="refutes", note="Typo."
    )

    evidence.refresh_from_db()
    assert (evidence.quote, evidence.stance, evidence.note) == ("Iran denies it", "refutes", "Typo.")
    assert evidence.quote_status == Evidence.QuoteStatus.NOT_FOUND
    assert evidence.quote_checked_snapshot_id == checked_against
    queued.assert_not_called()

    evidence_update(actor=fact_checker, evidence=evidence, quote=QUOTE, stance="refutes", note="Typo.")

    evidence.refresh_from_db()
    assert evidence.quote_status == Evidence.QuoteStatus.FOUND


def test_each_edit_is_in_the_field_history_under_its_author(draft, fact_checker):
    evidence = draft.evidence.get()
    colleague = FactCheckerFactory()

    evidence_update(actor=colleague, evidence=evidence, quote=QUOTE, stance="context", note="")
    evidence_update(actor=fact_checker, evidence=evidence, quote=QUOTE, stance="context", note="Why.")

    records = list(evidence.history.order_by("history_date", "history_id"))
    assert [(r.stance, r.note, r.history_user) for r in records] == [
        ("supports", "", fact_checker),
        ("context", "", colleague),
        ("context", "Why.", fact_checker),
    ]


def test_an_unchanged_edit_writes_no_history(draft, fact_checker):
    evidence = draft.evidence.get()

    evidence_update(actor=fact_checker, evidence=evidence, quote=f"  {QUOTE} ", stance="supports")

    assert evidence.history.count() == 1


def test_an_edited_quote_waits_for_the_fetch_under_way_when_nothing_was_fetched_yet(
    fact_checker, queued
):
    claim = claim_create(actor=fact_checker, text="Drones", claimant_name="Iran")
    evidence = evidence_add(
        actor=fact_checker, claim=claim, url="https://news.example.org/a", quote="a", stance="supports"
    )
    assert evidence.source.status == Source.Status.PENDING

    evidence_update(actor=fact_checker, evidence=evidence, quote="b", stance="supports")

    evidence.refresh_from_db()
    assert (evidence.quote, evidence.quote_status) == ("b", Evidence.QuoteStatus.PENDING)


def test_a_quote_checked_against_a_failed_fetch_only_is_checked_when_text_arrives(
    fact_checker, queued
):
    claim = claim_create(actor=fact_checker, text="Drones", claimant_name="Iran")
    evidence = evidence_add(
        actor=fact_checker, claim=claim, url="https://news.example.org/a", quote="a", stance="supports"
    )
    snapshot = snapshot_of(evidence.source, text="", outcome="http_error")
    Source.objects.filter(pk=evidence.source_id).update(status=Source.Status.FAILED)
    Evidence.objects.filter(pk=evidence.pk).update(
        quote_status=Evidence.QuoteStatus.NO_TEXT, quote_checked_snapshot=snapshot
    )

    evidence_update(actor=fact_checker, evidence=evidence, quote="b", stance="supports")

    evidence.refresh_from_db()
    assert (evidence.quote, evidence.quote_status) == ("b", Evidence.QuoteStatus.NO_TEXT)


def test_evidence_of_a_published_claim_stays_as_it_was_also_during_a_correction(
    fact_checker, reviewer, queued
):
    claim = published(fact_checker, reviewer)
    evidence = claim.evidence.get()
    verdict_save_draft(actor=fact_checker, claim=claim, rating=None, summary="Correcting.")

    with pytest.raises(DomainError) as refused:
        evidence_update(actor=fact_checker, evidence=evidence, quote="Other", stance="supports")

    assert refused.value.kind == ErrorKind.CONFLICT
    assert "published" in refused.value.message
    evidence.refresh_from_db()
    assert evidence.quote == QUOTE


def test_evidence_in_review_is_edited_only_after_changes_are_requested(
    draft, fact_checker, reviewer
):
    evidence = draft.evidence.get()
    claim_submit(actor=fact_checker, claim=draft)

    with pytest.raises(DomainError) as refused:
        evidence_update(actor=fact_checker, evidence=evidence, quote="Other", stance="supports")
    assert refused.value.kind == ErrorKind.CONFLICT

    claim_request_changes(actor=reviewer, claim=draft, comment="Shorter quote.")
    evidence_update(actor=fact_checker, evidence=evidence, quote="Iran says", stance="supports")
    evidence.refresh_from_db()
    assert evidence.quote == "Iran says"


def test_only_fact_checkers_edit_evidence(draft, reviewer):
    with pytest.raises(DomainError) as refused:
        evidence_update(actor=reviewer, evidence=draft.evidence.get(), quote="x", stance="supports")

    assert refused.value.kind == ErrorKind.FORBIDDEN


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"quote": "x" * (QUOTE_MAX + 1)}, "quote"),
        ({"quote": "   "}, "quote"),
        ({"note": "x" * (NOTE_MAX + 1)}, "note"),
        ({"stance": "maybe"}, "stance"),
    ],
)
def test_the_service_refuses_what_the_api_would(draft, fact_checker, changes, field):
    evidence = draft.evidence.get()
    edit = {"quote": QUOTE, "stance": "supports", "note": "", **changes}

    with pytest.raises(DomainError) as refused:
        evidence_update(actor=fact_checker, evidence=evidence, **edit)

    assert (refused.value.kind, refused.value.field) == (ErrorKind.INVALID, field)
    assert evidence.history.count() == 1


def test_text_bounds_hold_in_every_service_not_only_in_the_api(draft, fact_checker, queued):
    # Issue 9 left the bounds in the API's serializers only; the admin and imports reach the services.
    too_long = {limit: "x" * (limit + 1) for limit in (CLAIM_TEXT_MAX, SUMMARY_MAX, EXPLANATION_MAX)}
    attempts = {
        "text": lambda: claim_create(
            actor=fact_checker, text=too_long[CLAIM_TEXT_MAX], claimant_name="Iran"
        ),
        "text ": lambda: claim_update(actor=fact_checker, claim=draft, text=too_long[CLAIM_TEXT_MAX]),
        "summary": lambda: verdict_save_draft(
            actor=fact_checker, claim=draft, rating=None, summary=too_long[SUMMARY_MAX]
        ),
        "explanation": lambda: verdict_save_draft(
            actor=fact_checker, claim=draft, rating=None, summary="", explanation=too_long[EXPLANATION_MAX]
        ),
        "quote": lambda: evidence_add(
            actor=fact_checker, claim=draft, url="https://news.example.org/b",
            quote="x" * (QUOTE_MAX + 1), stance="supports",
        ),
    }
    for field, attempt in attempts.items():
        with pytest.raises(DomainError) as refused:
            attempt()
        assert refused.value.field == field.strip()


# The API.


def evidence_url(evidence: Evidence) -> str:
    return f"{CLAIMS}{evidence.claim_id}/evidence/{evidence.pk}/"


def test_api_patch_edits_draft_evidence_and_answers_the_new_check(draft, client_for, fact_checker):
    evidence = draft.evidence.get()

    response = client_for(fact_checker).patch(
        evidence_url(evidence), {"quote": "Iran denies it"}, format="json"
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["id"], body["quote"], body["stance"], body["quote_status"]) == (
        evidence.pk, "Iran denies it", "supports", "not_found",
    )
    assert client_for(fact_checker).get(evidence_url(evidence)).json() == body


def test_api_created_evidence_names_its_own_address(client_for, fact_checker, queued):
    claim = claim_create(actor=fact_checker, text="Drones", claimant_name="Iran")

    response = client_for(fact_checker).post(
        f"{CLAIMS}{claim.pk}/evidence/",
        {"url": "https://news.example.org/a", "quote": "a", "stance": "supports"},
        format="json",
    )

    evidence = Evidence.objects.get()
    assert response.status_code == 201
    assert response["Location"] == evidence_url(evidence)
    assert response.json()["id"] == evidence.pk


def test_api_refuses_to_edit_published_evidence_with_409(fact_checker, reviewer, client_for, queued):
    claim = published(fact_checker, reviewer)
    evidence = claim.evidence.get()

    response = client_for(fact_checker).patch(evidence_url(evidence), {"note": "x"}, format="json")

    assert response.status_code == 409
    assert "published" in response.json()["detail"]


def test_api_evidence_edits_are_for_fact_checkers_on_the_claim_they_belong_to(
    draft, client_for, reviewer, fact_checker, api_client, queued
):
    evidence = draft.evidence.get()
    other = drafted_claim(fact_checker, text="Other", url="https://news.example.org/other")

    assert client_for(reviewer).patch(evidence_url(evidence), {"note": "x"}, format="json").status_code == 403
    assert client_for(reviewer).get(evidence_url(evidence)).status_code == 200
    assert api_client.get(evidence_url(evidence)).status_code == 401
    wrong_claim = f"{CLAIMS}{other.pk}/evidence/{evidence.pk}/"
    assert client_for(fact_checker).patch(wrong_claim, {"note": "x"}, format="json").status_code == 404
    oversized = client_for(fact_checker).patch(
        evidence_url(evidence), {"quote": "x" * (QUOTE_MAX + 1)}, format="json"
    )
    assert oversized.status_code == 400 and "quote" in oversized.json()
    evidence.refresh_from_db()
    assert (evidence.quote, evidence.note) == (QUOTE, "")


# The claim page.


def test_claim_page_edits_evidence_in_place_and_shows_the_change_in_the_field_history(
    draft, as_user, fact_checker
):
    client = as_user(fact_checker)
    page = client.get(claim_url(draft))
    data = admin_form_data(page)
    data["evidence-0-quote"] = "Iran denies it"
    data["evidence-0-stance"] = "refutes"

    response = client.post(claim_url(draft), {**data, "_continue": "1"}, follow=True)

    assert response.status_code == 200
    evidence = draft.evidence.get()
    assert (evidence.quote, evidence.stance) == ("Iran denies it", "refutes")
    assert evidence.quote_status == Evidence.QuoteStatus.NOT_FOUND
    [change] = [c for c in response.context["field_history"] if c.subject.startswith("evidence")][:1]
    assert change.who == fact_checker
    assert ("quote", QUOTE, "Iran denies it") in [tuple(map(str, f)) for f in change.fields]


def test_published_evidence_is_read_only_on_the_claim_page(fact_checker, reviewer, as_user, queued):
    claim = published(fact_checker, reviewer)

    page = as_user(fact_checker).get(claim_url(claim)).content.decode()

    assert 'name="evidence-0-quote"' not in page
    assert QUOTE in page


def test_who_edited_the_evidence_cannot_approve_the_verdict(draft, fact_checker):
    editor = FactCheckerFactory()
    editor.groups.add(Group.objects.get(name=REVIEWERS))
    evidence_update(actor=editor, evidence=draft.evidence.get(), quote=QUOTE, stance="context")
    claim_submit(actor=fact_checker, claim=draft)

    with pytest.raises(DomainError) as refused:
        verdict_approve(actor=editor, claim=draft)

    assert refused.value.message == (
        "Four-eyes rule: you changed the evidence of this verdict, so another reviewer must approve it."
    )
