"""The workflow rules of SPEC §3, at the service layer every entry point goes through."""

import threading
import time
from unittest import mock

import pytest
from django.db import connection

from claims.models import Claim
from core.errors import DomainError, ErrorKind
from sources.models import Snapshot, Source
from tests.factories import FactCheckerFactory, ReviewerFactory, UserFactory, rating
from verifier.models import ImmutableVerdictError, ReviewLogEntry, Verdict
from verifier.services import verdicts as verifier_services
from verifier.services.claims import claim_create
from verifier.services.evidence import evidence_add
from verifier.services.review_log import review_log_problems
from verifier.services.verdicts import (
    claim_request_changes,
    claim_submit,
    verdict_approve,
    verdict_save_draft,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("queued")]


def drafted_claim(author, *, with_evidence=True, with_rating=True, summary="Exported before."):
    claim = claim_create(
        actor=author,
        text="Iran says the drones were exported before the invasion",
        claimant_name="Iran",
    )
    if with_evidence:
        evidence_add(
            actor=author,
            claim=claim,
            url="https://news.example.org/iran-drones",
            quote="these drones were exported before the attack on Ukraine",
            stance="supports",
        )
    verdict_save_draft(
        actor=author,
        claim=claim,
        rating=rating("misleading") if with_rating else None,
        summary=summary,
        explanation="Iran admits supplying drones but disputes the timing.",
    )
    return claim


def submitted_claim(author):
    claim = drafted_claim(author)
    claim_submit(actor=author, claim=claim)
    return claim


def test_only_fact_checkers_create_claims(reviewer):
    with pytest.raises(DomainError) as refused:
        claim_create(actor=reviewer, text="Anything", claimant_name="Iran")
    assert refused.value.kind == ErrorKind.FORBIDDEN
    assert not Claim.objects.exists()


def test_superuser_may_create_claims(superuser):
    claim = claim_create(actor=superuser, text="A claim", claimant_name="Iran")
    assert claim.status == Claim.Status.DRAFT


def test_reviewer_cannot_draft_a_verdict(fact_checker, reviewer):
    claim = claim_create(actor=fact_checker, text="A claim", claimant_name="Iran")
    with pytest.raises(DomainError) as refused:
        verdict_save_draft(actor=reviewer, claim=claim, rating=rating(), summary="No")
    assert refused.value.kind == ErrorKind.FORBIDDEN


def test_submitting_needs_rating_summary_and_evidence(fact_checker):
    claim = drafted_claim(fact_checker, with_evidence=False, with_rating=False, summary="")
    with pytest.raises(DomainError) as refused:
        claim_submit(actor=fact_checker, claim=claim)
    assert refused.value.kind == ErrorKind.INVALID
    for missing in ("a rating", "a summary", "at least one piece of evidence"):
        assert missing in refused.value.message
    assert claim.verdicts.get().state == Verdict.State.DRAFT


def test_submit_moves_claim_and_verdict_to_review(fact_checker):
    claim = submitted_claim(fact_checker)
    claim.refresh_from_db()
    assert claim.status == Claim.Status.IN_REVIEW
    assert claim.verdicts.get().state == Verdict.State.IN_REVIEW


def test_reviewer_approves_and_publishes(fact_checker, reviewer):
    claim = submitted_claim(fact_checker)
    verdict = verdict_approve(actor=reviewer, claim=claim)
    claim.refresh_from_db()
    assert claim.status == Claim.Status.PUBLISHED
    assert claim.published_at is not None
    assert verdict.state == Verdict.State.APPROVED
    assert verdict.reviewer == reviewer


def test_reviewer_cannot_approve_own_verdict():
    both_roles = UserFactory(username="both", groups=["Fact-checkers", "Reviewers"])
    claim = submitted_claim(both_roles)
    with pytest.raises(DomainError) as refused:
        verdict_approve(actor=both_roles, claim=claim)
    assert refused.value.kind == ErrorKind.FORBIDDEN
    assert "four-eyes" in refused.value.message.lower()
    assert claim.verdicts.get().state == Verdict.State.IN_REVIEW


def test_superuser_cannot_approve_own_verdict(superuser):
    claim = submitted_claim(superuser)
    with pytest.raises(DomainError) as refused:
        verdict_approve(actor=superuser, claim=claim)
    assert "four-eyes" in refused.value.message.lower()


def test_fact_checker_cannot_approve(fact_checker, other_fact_checker):
    claim = submitted_claim(fact_checker)
    with pytest.raises(DomainError) as refused:
        verdict_approve(actor=other_fact_checker, claim=claim)
    assert refused.value.kind == ErrorKind.FORBIDDEN


def test_approving_a_draft_is_a_conflict(fact_checker, reviewer):
    claim = drafted_claim(fact_checker)
    with pytest.raises(DomainError) as refused:
        verdict_approve(actor=reviewer, claim=claim)
    assert refused.value.kind == ErrorKind.CONFLICT


def test_approving_twice_is_a_conflict(fact_checker, reviewer, second_reviewer):
    claim = submitted_claim(fact_checker)
    verdict_approve(actor=reviewer, claim=claim)
    with pytest.raises(DomainError) as refused:
        verdict_approve(actor=second_reviewer, claim=claim)
    assert refused.value.kind == ErrorKind.CONFLICT


def test_draft_cannot_be_edited_while_in_review(fact_checker):
    claim = submitted_claim(fact_checker)
    with pytest.raises(DomainError) as refused:
        verdict_save_draft(actor=fact_checker, claim=claim, rating=rating("true"), summary="x")
    assert refused.value.kind == ErrorKind.CONFLICT


def test_evidence_cannot_be_added_while_in_review(fact_checker):
    claim = submitted_claim(fact_checker)
    with pytest.raises(DomainError) as refused:
        evidence_add(
            actor=fact_checker, claim=claim, url="https://other.example.org/",
            quote="q", stance="refutes",
        )
    assert refused.value.kind == ErrorKind.CONFLICT


def test_request_changes_sends_back_to_draft_with_comment(fact_checker, reviewer):
    claim = submitted_claim(fact_checker)
    claim_request_changes(actor=reviewer, claim=claim, comment="Cite the UN resolution.")
    claim.refresh_from_db()
    assert claim.status == Claim.Status.DRAFT
    entry = ReviewLogEntry.objects.get(action=ReviewLogEntry.Action.REQUEST_CHANGES)
    assert (entry.actor, entry.comment) == (reviewer, "Cite the UN resolution.")
    assert (entry.from_state, entry.to_state) == ("in_review", "draft")


def test_request_changes_needs_a_comment(fact_checker, reviewer):
    claim = submitted_claim(fact_checker)
    with pytest.raises(DomainError) as refused:
        claim_request_changes(actor=reviewer, claim=claim, comment="  ")
    assert refused.value.field == "comment"
    assert claim.verdicts.get().state == Verdict.State.IN_REVIEW


def test_approved_verdict_is_immutable(fact_checker, reviewer):
    claim = submitted_claim(fact_checker)
    verdict = verdict_approve(actor=reviewer, claim=claim)
    verdict = Verdict.objects.get(pk=verdict.pk)
    verdict.summary = "Rewritten after the fact"
    with pytest.raises(ImmutableVerdictError):
        verdict.save()
    assert Verdict.objects.get(pk=verdict.pk).summary == "Exported before."


def test_correction_is_a_new_version_and_keeps_history(fact_checker, reviewer):
    claim = submitted_claim(fact_checker)
    first = verdict_approve(actor=reviewer, claim=claim)
    correction = verdict_save_draft(
        actor=fact_checker, claim=claim, rating=rating("false"), summary="Corrected.",
        correction_note="Rating corrected after new reporting.",
    )
    assert correction.version == 2 and correction.pk != first.pk
    claim.refresh_from_db()
    assert claim.status == Claim.Status.PUBLISHED, "a claim stays public while corrected"
    claim_submit(actor=fact_checker, claim=claim)
    claim.refresh_from_db()
    assert claim.status == Claim.Status.PUBLISHED
    verdict_approve(actor=reviewer, claim=claim)
    versions = list(claim.verdicts.order_by("version").values_list("version", "state", "summary"))
    assert versions == [(1, "approved", "Exported before."), (2, "approved", "Corrected.")]
    assert ReviewLogEntry.objects.filter(action=ReviewLogEntry.Action.CORRECT).count() == 1


def test_approval_freezes_the_evidence_fingerprint(fact_checker, reviewer):
    claim = submitted_claim(fact_checker)
    evidence = claim.evidence.get()
    snapshot = Snapshot.objects.create(
        source=evidence.source,
        fetch_token="00000000-0000-0000-0000-000000000001",
        requested_url=evidence.source.url,
        final_url=evidence.source.url,
        outcome=Snapshot.Outcome.FETCHED,
        content_sha256="ab" * 32,
        text="Iran says that these drones were exported before the attack on Ukraine.",
    )
    verdict = verdict_approve(actor=reviewer, claim=claim)
    assert verdict.evidence_fingerprint == [
        {
            "evidence": evidence.pk,
            "url": "https://news.example.org/iran-drones",
            "quote_status": "pending",
            "snapshot": snapshot.pk,
            "content_sha256": "ab" * 32,
        }
    ]
    # A later snapshot does not change what the approved verdict relied on.
    Snapshot.objects.create(
        source=evidence.source, fetch_token="00000000-0000-0000-0000-000000000002",
        requested_url=evidence.source.url, outcome=Snapshot.Outcome.FETCHED,
        content_sha256="cd" * 32,
    )
    assert Verdict.objects.get(pk=verdict.pk).evidence_fingerprint[0]["snapshot"] == snapshot.pk


def test_every_transition_is_logged_with_actor_and_states(fact_checker, reviewer):
    claim = submitted_claim(fact_checker)
    verdict_approve(actor=reviewer, claim=claim, comment="Solid sourcing.")
    log = list(
        ReviewLogEntry.objects.filter(claim=claim).values_list(
            "action", "actor__username", "from_state", "to_state", "comment"
        )
    )
    assert log == [
        ("create", fact_checker.username, "", "draft", ""),
        ("draft", fact_checker.username, "", "draft", ""),
        ("submit", fact_checker.username, "draft", "in_review", ""),
        ("approve", reviewer.username, "in_review", "approved", "Solid sourcing."),
    ]
    assert review_log_problems() == []


def test_review_log_chain_detects_an_edited_entry(fact_checker, reviewer):
    claim = submitted_claim(fact_checker)
    verdict_approve(actor=reviewer, claim=claim)
    ReviewLogEntry.objects.filter(action="submit").update(comment="quietly edited")
    assert review_log_problems() == ["entry #3: content does not match its hash (edited)"]


def test_review_log_chain_detects_a_deleted_entry(fact_checker, reviewer):
    claim = submitted_claim(fact_checker)
    verdict_approve(actor=reviewer, claim=claim)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {ReviewLogEntry._meta.db_table} WHERE sequence = 2")
    problems = review_log_problems()
    assert "entry #3: expected #2; an entry was deleted" in problems
    assert "entry #3: does not chain to the entry before it" in problems


def test_review_log_refuses_edits_through_the_model(fact_checker):
    claim_create(actor=fact_checker, text="A claim", claimant_name="Iran")
    entry = ReviewLogEntry.objects.get()
    entry.comment = "changed"
    with pytest.raises(ImmutableVerdictError):
        entry.save()
    with pytest.raises(ImmutableVerdictError):
        entry.delete()


def test_field_history_is_kept_for_claims_evidence_and_verdicts(fact_checker, reviewer):
    claim = submitted_claim(fact_checker)
    verdict_approve(actor=reviewer, claim=claim)
    assert list(claim.history.order_by("history_id").values_list("status", flat=True)) == [
        "draft", "in_review", "published",
    ]
    verdict = claim.verdicts.get()
    assert [h.state for h in verdict.history.order_by("history_id")] == [
        "draft", "in_review", "approved",
    ]
    assert verdict.history.latest("history_id").history_user == reviewer
    assert claim.evidence.get().history.count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_simultaneous_approvals_give_exactly_one_transition():
    author = FactCheckerFactory()
    reviewers = [ReviewerFactory(), ReviewerFactory()]
    claim = submitted_claim(author)
    start = threading.Barrier(2)
    outcomes: list[str] = []
    real_fingerprint = verifier_services.evidence_fingerprint

    def slow_fingerprint(claim):
        # Widens the window between reading "in review" and writing "approved", so both
        # reviewers have seen the verdict in review before either one writes.
        time.sleep(0.3)
        return real_fingerprint(claim)

    def approve(user):
        try:
            start.wait(timeout=10)
            verdict_approve(actor=user, claim=Claim.objects.get(pk=claim.pk))
            outcomes.append("approved")
        except DomainError as error:
            outcomes.append(error.kind)
        finally:
            connection.close()

    with mock.patch.object(verifier_services, "evidence_fingerprint", slow_fingerprint):
        threads = [threading.Thread(target=approve, args=(user,)) for user in reviewers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)

    assert sorted(outcomes) == sorted(["approved", ErrorKind.CONFLICT])
    assert ReviewLogEntry.objects.filter(action="approve").count() == 1
    assert Verdict.objects.get(claim=claim).state == Verdict.State.APPROVED
    assert review_log_problems() == []


def test_source_is_shared_by_evidence_citing_the_same_url(fact_checker):
    claim = drafted_claim(fact_checker)
    evidence_add(
        actor=fact_checker, claim=claim, url="HTTPS://News.Example.org/iran-drones#comments",
        quote="another quote", stance="context",
    )
    assert Source.objects.count() == 1
