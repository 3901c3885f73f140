"""Evidence on a claim under the workflow's rules: added while no verdict is in review (on a
published claim, only with a correction drafted), edited and removed only before the claim is
published."""

from django.contrib.auth.models import User
from django.db import transaction

from claims.models import Claim, Evidence
from claims.services import evidence_check_against_latest
from core.errors import DomainError
from core.roles import require_fact_checker
from core.text_bounds import NOTE_MAX, QUOTE_MAX, require_text_within
from sources.models import Source
from sources.services import source_for_url, source_request_fetch
from verifier.models import Verdict
from verifier.selectors.verdicts import claim_open_verdict


def evidence_change_refusal(claim: Claim) -> str | None:
    """Why the claim's evidence cannot be added to now, or None if it can."""
    open_verdict = claim_open_verdict(claim)
    if open_verdict is not None and open_verdict.state == Verdict.State.IN_REVIEW:
        return "The claim is in review; a reviewer must request changes before evidence changes."
    if claim.status == Claim.Status.PUBLISHED and open_verdict is None:
        return "The claim is published; draft a corrected verdict before changing its evidence."
    return None


def evidence_remove_refusal(claim: Claim) -> str | None:
    """Why evidence cannot be removed from the claim now, or None if it can."""
    refusal = evidence_change_refusal(claim)
    if refusal is None and claim.published_at is not None:
        # The published verdict's fingerprint points at this row; it stays as part of the record.
        refusal = "Evidence of a published claim cannot be removed."
    return refusal


def evidence_edit_refusal(claim: Claim) -> str | None:
    """Why the claim's evidence cannot be edited now (quote, stance, note), or None if it can."""
    refusal = evidence_change_refusal(claim)
    if refusal is None and claim.published_at is not None:
        # What a published verdict cites stays as it was read; a correction adds new evidence.
        refusal = (
            "Evidence of a published claim cannot be edited; add corrected evidence to a correction."
        )
    return refusal


def _require_evidence_editable(claim: Claim) -> None:
    refusal = evidence_change_refusal(claim)
    if refusal is not None:
        raise DomainError.conflict(refusal)


@transaction.atomic
def evidence_add(
    *,
    actor: User,
    claim: Claim,
    url: str,
    quote: str,
    stance: str,
    note: str = "",
) -> Evidence:
    """Evidence citing `url`; its source is created or reused and fetched after commit."""
    require_fact_checker(actor)
    claim = Claim.objects.select_for_update().get(pk=claim.pk)
    _require_evidence_editable(claim)
    quote, note = _valid_contents(quote=quote, stance=stance, note=note)
    source = source_for_url(url)
    evidence = Evidence(claim=claim, source=source, quote=quote, stance=stance, note=note, author=actor)
    # The field history names who added it, also when no request is there to name them.
    evidence._history_user = actor  # type: ignore[attr-defined]
    evidence.save()
    if source.status in (Source.Status.PENDING, Source.Status.FETCHING):
        if source.fetch_token is None:
            source_request_fetch(source=source)
    elif not evidence_check_against_latest(evidence=evidence):
        source_request_fetch(source=source)
    return evidence


@transaction.atomic
def evidence_update(
    *, actor: User, evidence: Evidence, quote: str, stance: str, note: str = ""
) -> Evidence:
    """The evidence with this quote, stance and note, each change in its field history; a changed
    quote is checked at once against the latest text of its source (no new fetch)."""
    require_fact_checker(actor)
    claim = Claim.objects.select_for_update().get(pk=evidence.claim_id)
    refusal = evidence_edit_refusal(claim)
    if refusal is not None:
        raise DomainError.conflict(refusal)
    quote, note = _valid_contents(quote=quote, stance=stance, note=note)
    evidence = (
        Evidence.objects.select_related("source", "quote_checked_snapshot")
        .defer("quote_checked_snapshot__text")
        .get(pk=evidence.pk)
    )
    if (quote, stance, note) == (evidence.quote, evidence.stance, evidence.note):
        return evidence
    quote_changed = quote != evidence.quote
    evidence.quote, evidence.stance, evidence.note = quote, stance, note
    # The field history names who changed what; the four-eyes rule reads it.
    evidence._history_user = actor  # type: ignore[attr-defined]
    evidence.save(update_fields=["quote", "stance", "note"])
    if quote_changed:
        _quote_recheck(evidence)
    return evidence


def _quote_recheck(evidence: Evidence) -> None:
    """Checks an edited quote against what is already known of its source: the latest text, if
    there is one; else it waits for the fetch under way (or already failed: nothing to check)."""
    if evidence_check_against_latest(evidence=evidence):
        return
    if evidence.source.status in (Source.Status.PENDING, Source.Status.FETCHING):
        Evidence.objects.filter(pk=evidence.pk).update(
            quote_status=Evidence.QuoteStatus.PENDING, quote_checked_snapshot=None
        )
        evidence.quote_status, evidence.quote_checked_snapshot = Evidence.QuoteStatus.PENDING, None


def _valid_contents(*, quote: str, stance: str, note: str) -> tuple[str, str]:
    if stance not in Evidence.Stance.values:
        raise DomainError.invalid(
            f"Stance must be one of {', '.join(Evidence.Stance.values)}.", field="stance"
        )
    quote = quote.strip()
    if not quote:
        raise DomainError.invalid("Evidence needs the exact quote from the source.", field="quote")
    require_text_within(quote, limit=QUOTE_MAX, field="quote")
    require_text_within(note, limit=NOTE_MAX, field="note")
    return quote, note


@transaction.atomic
def evidence_remove(*, actor: User, evidence: Evidence) -> None:
    """Removes evidence from a claim that has never been published."""
    require_fact_checker(actor)
    claim = Claim.objects.select_for_update().get(pk=evidence.claim_id)
    refusal = evidence_remove_refusal(claim)
    if refusal is not None:
        raise DomainError.conflict(refusal)
    # Who removed it counts for the four-eyes rule, also when no request is there to name them.
    evidence._history_user = actor  # type: ignore[attr-defined]
    evidence.delete()
