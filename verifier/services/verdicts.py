"""The verdict workflow of SPEC §3: draft, submit, approve (four-eyes), request changes, correct."""

from functools import partial
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from claims.models import Claim, Evidence
from core.content_version import public_content_changed
from core.errors import DomainError
from core.roles import require_fact_checker, require_reviewer
from core.text_bounds import EXPLANATION_MAX, SUMMARY_MAX, require_text_within
from sources.models import Snapshot
from verifier.models import FingerprintEntry, Notification, Rating, ReviewLogEntry, Verdict, WebhookEndpoint
from verifier.provenance.services import evidence_package_enqueue, review_log_checkpoint_store
from verifier.selectors.verdicts import (
    VerdictContributors,
    claim_open_verdict,
    verdicts_contributors,
)
from verifier.services.notifications import notifications_send
from verifier.services.review_log import review_log_append
from verifier.services.webhooks import webhook_events_for_claim


def _claim_status_for(claim: Claim, verdict_state: str) -> str:
    # A published claim stays public while its correction is drafted and reviewed.
    if claim.published_at is not None:
        return Claim.Status.PUBLISHED
    status_by_state: dict[str, str] = {
        Verdict.State.DRAFT: Claim.Status.DRAFT,
        Verdict.State.IN_REVIEW: Claim.Status.IN_REVIEW,
        Verdict.State.APPROVED: Claim.Status.PUBLISHED,
    }
    return status_by_state[verdict_state]


def _transition(
    *, verdict: Verdict, actor: User, from_state: str, to_state: str, **changes: Any
) -> None:
    """Moves the verdict only if it is still in `from_state`: of two racing callers, one wins."""
    changed = Verdict.objects.filter(pk=verdict.pk, state=from_state).update(
        state=to_state, updated_at=timezone.now(), **changes
    )
    if changed != 1:
        raise DomainError.conflict(
            f"The verdict is no longer {from_state.replace('_', ' ')}; someone else acted first."
        )
    verdict.refresh_from_db()
    # A conditional UPDATE bypasses save(), so the field history is written explicitly.
    Verdict.history.bulk_history_create([verdict], update=True, default_user=actor)


@transaction.atomic
def verdict_save_draft(
    *,
    actor: User,
    claim: Claim,
    rating: Rating | None,
    summary: str,
    explanation: str = "",
) -> Verdict:
    """The claim's draft verdict with these contents; on a published claim, a new version."""
    require_fact_checker(actor)
    claim = Claim.objects.select_for_update().get(pk=claim.pk)
    verdict = claim_open_verdict(claim)
    if verdict is not None and verdict.state == Verdict.State.IN_REVIEW:
        raise DomainError.conflict(
            "The verdict is in review; a reviewer must request changes before it can be edited."
        )
    if verdict is None:
        latest = claim.verdicts.order_by("-version").first()
        verdict = Verdict(claim=claim, version=(latest.version + 1) if latest else 1, author=actor)
        action = ReviewLogEntry.Action.CORRECT if latest else ReviewLogEntry.Action.DRAFT
        is_new = True
    else:
        is_new = False
    require_text_within(summary, limit=SUMMARY_MAX, field="summary")
    require_text_within(explanation, limit=EXPLANATION_MAX, field="explanation")
    verdict.rating = rating
    verdict.summary = summary.strip()
    verdict.explanation = explanation.strip()
    # The field history names who wrote each change, which the four-eyes rule reads, also when
    # no request is there to name them.
    verdict._history_user = actor  # type: ignore[attr-defined]
    verdict.save()
    if is_new:
        review_log_append(
            claim=claim, verdict=verdict, actor=actor, action=action,
            from_state="", to_state=verdict.state,
        )
    return verdict


def claim_submit_refusal(*, claim: Claim, verdict: Verdict) -> str | None:
    """What the draft verdict still lacks before it can be submitted, or None if nothing."""
    missing = []
    if verdict.rating_id is None:
        missing.append("a rating")
    if not verdict.summary:
        missing.append("a summary")
    if not claim.evidence.exists():
        missing.append("at least one piece of evidence")
    if missing:
        return f"Before submitting, the verdict needs {', '.join(missing)}."
    return None


@transaction.atomic
def claim_submit(*, actor: User, claim: Claim, comment: str = "") -> Verdict:
    """Sends the claim's draft verdict to review, with the fact-checker's optional note for the
    reviewer (in the review log)."""
    require_fact_checker(actor)
    claim = Claim.objects.select_for_update().get(pk=claim.pk)
    verdict = claim_open_verdict(claim)
    if verdict is None or verdict.state != Verdict.State.DRAFT:
        raise DomainError.conflict("There is no draft verdict to submit.")
    refusal = claim_submit_refusal(claim=claim, verdict=verdict)
    if refusal is not None:
        raise DomainError.invalid(refusal)
    _transition(
        verdict=verdict,
        actor=actor,
        from_state=Verdict.State.DRAFT,
        to_state=Verdict.State.IN_REVIEW,
        submitted_at=timezone.now(),
    )
    _set_claim_status(claim, actor, _claim_status_for(claim, verdict.state))
    review_log_append(
        claim=claim, verdict=verdict, actor=actor, action=ReviewLogEntry.Action.SUBMIT,
        from_state=Verdict.State.DRAFT, to_state=Verdict.State.IN_REVIEW, comment=comment.strip(),
    )
    notifications_send(
        event=Notification.Event.SUBMITTED, claim=claim, actor=actor, verdict=verdict,
        comment=comment.strip(),
    )
    return verdict


def _set_claim_status(
    claim: Claim, actor: User, status: str, **changes: Any
) -> None:
    Claim.objects.filter(pk=claim.pk).update(status=status, updated_at=timezone.now(), **changes)
    claim.refresh_from_db()
    Claim.history.bulk_history_create([claim], update=True, default_user=actor)
    if status == Claim.Status.PUBLISHED:
        # Its record, or at least its updated_at, changed in public.
        public_content_changed()


def evidence_fingerprint(claim: Claim) -> list[FingerprintEntry]:
    """Each cited evidence with the snapshot it was checked against and that snapshot's SHA-256."""
    fingerprint = []
    evidence_rows = Evidence.objects.filter(claim=claim).select_related(
        "source", "quote_checked_snapshot"
    )
    for evidence in evidence_rows.order_by("id"):
        snapshot = evidence.quote_checked_snapshot or (
            evidence.source.snapshots.filter(outcome=Snapshot.Outcome.FETCHED).first()
        )
        fingerprint.append(
            FingerprintEntry(
                evidence=evidence.pk,
                url=evidence.source.url,
                quote_status=evidence.quote_status,
                snapshot=snapshot.pk if snapshot else None,
                content_sha256=snapshot.content_sha256 if snapshot else "",
            )
        )
    return fingerprint


def verdict_four_eyes_refusal(
    *, actor: User, verdict: Verdict, contributors: VerdictContributors | None = None
) -> str | None:
    """Why the four-eyes rule stops `actor` from approving `verdict`, or None if it does not:
    nobody, superusers included, approves a version they wrote any part of or submitted.
    `contributors`: the version's, when the caller read them for many verdicts at once."""
    if contributors is None:
        contributors = verdicts_contributors(verdicts=[verdict])[verdict.pk]
    if actor.pk in contributors.writer_ids:
        return "Four-eyes rule: you wrote this verdict, so another reviewer must approve it."
    if actor.pk in contributors.submitter_ids:
        return "Four-eyes rule: you submitted this verdict, so another reviewer must approve it."
    if actor.pk in contributors.evidence_editor_ids:
        return (
            "Four-eyes rule: you changed the evidence of this verdict, "
            "so another reviewer must approve it."
        )
    return None


@transaction.atomic
def verdict_approve(*, actor: User, claim: Claim, comment: str = "") -> Verdict:
    """Approves the verdict in review and publishes it; never by its author (four-eyes)."""
    require_reviewer(actor)
    verdict = claim_open_verdict(claim)
    if verdict is None or verdict.state != Verdict.State.IN_REVIEW:
        raise DomainError.conflict("There is no verdict in review to approve.")
    refusal = verdict_four_eyes_refusal(actor=actor, verdict=verdict)
    if refusal is not None:
        raise DomainError.forbidden(refusal)
    now = timezone.now()
    _transition(
        verdict=verdict,
        actor=actor,
        from_state=Verdict.State.IN_REVIEW,
        to_state=Verdict.State.APPROVED,
        reviewer=actor,
        approved_at=now,
        evidence_fingerprint=evidence_fingerprint(claim),
    )
    claim.refresh_from_db()
    event = WebhookEndpoint.Event.CORRECTION if claim.published_at else WebhookEndpoint.Event.PUBLISH
    _set_claim_status(
        claim,
        actor,
        Claim.Status.PUBLISHED,
        published_at=claim.published_at or now,
        # A new approved verdict was checked against the current sources.
        source_flag="",
        source_flagged_at=None,
    )
    review_log_append(
        claim=claim, verdict=verdict, actor=actor, action=ReviewLogEntry.Action.APPROVE,
        from_state=Verdict.State.IN_REVIEW, to_state=Verdict.State.APPROVED,
        comment=comment,
    )
    # Signed with the approval, so a reader's copy of the log head already covers this verdict.
    review_log_checkpoint_store()
    transaction.on_commit(partial(evidence_package_enqueue, claim_id=claim.pk, version=verdict.version))
    webhook_events_for_claim(claim=claim, event=event)
    notifications_send(event=Notification.Event.APPROVED, claim=claim, actor=actor, verdict=verdict)
    return verdict


@transaction.atomic
def claim_request_changes(*, actor: User, claim: Claim, comment: str) -> Verdict:
    """Sends the verdict in review back to its author with the reviewer's comment."""
    require_reviewer(actor)
    comment = comment.strip()
    if not comment:
        raise DomainError.invalid("Say what needs to change.", field="comment")
    verdict = claim_open_verdict(claim)
    if verdict is None or verdict.state != Verdict.State.IN_REVIEW:
        raise DomainError.conflict("There is no verdict in review to send back.")
    _transition(
        verdict=verdict, actor=actor, from_state=Verdict.State.IN_REVIEW, to_state=Verdict.State.DRAFT
    )
    claim.refresh_from_db()
    _set_claim_status(claim, actor, _claim_status_for(claim, Verdict.State.DRAFT))
    review_log_append(
        claim=claim, verdict=verdict, actor=actor, action=ReviewLogEntry.Action.REQUEST_CHANGES,
        from_state=Verdict.State.IN_REVIEW, to_state=Verdict.State.DRAFT, comment=comment,
    )
    notifications_send(
        event=Notification.Event.CHANGES_REQUESTED, claim=claim, actor=actor, verdict=verdict, comment=comment
    )
    return verdict
