"""Source flags (SPEC §8): each change or disappearance of a source a published claim cites is its
own entry, compared with the snapshot the published verdict was approved on. An entry stays open
until a fact-checker dismisses it ("checked, verdict still valid", with a comment that goes to the
review log) or a correction of the claim is approved.

The claim's `source_flag` (the reasons of its open entries) and `source_flagged_at` (the newest
one's time) summarise the entries and are written with them, in their transaction, so the lists,
filters and exports read the claim's own row.
"""

from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from claims.models import Claim
from core.content_version import public_content_changed
from core.errors import DomainError
from core.roles import require_fact_checker
from sources.models import Snapshot, Source
from verifier.models import Notification, ReviewLogEntry, SourceFlag, Verdict, WebhookEndpoint
from verifier.services.notifications import notifications_send
from verifier.services.review_log import review_log_append
from verifier.services.webhooks import webhook_events_for_claim

_KIND_OF_CHANGE: dict[str, str] = {
    Snapshot.Change.CHANGED: SourceFlag.Kind.CHANGED,
    Snapshot.Change.GONE: SourceFlag.Kind.GONE,
}


def source_flag_reason(*, url: str, kind: str, snapshot_id: int, detected_at: datetime) -> str:
    """What the entry says to the people concerned, the admin and the API."""
    what = "changed" if kind == SourceFlag.Kind.CHANGED else "disappeared"
    return f"Source {url} {what} (snapshot {snapshot_id}, {detected_at:%Y-%m-%d})."


def source_flags_raise(*, source: Source, snapshot: Snapshot) -> list[SourceFlag]:
    """An open entry on every published claim citing the source, for a snapshot that found it
    changed or gone; each entry is announced to the webhooks and to the people concerned. Runs in
    the transaction that records the snapshot."""
    kind = _KIND_OF_CHANGE.get(snapshot.change)
    if kind is None:
        return []
    citing = Claim.objects.filter(status=Claim.Status.PUBLISHED, evidence__source=source)
    citing_ids = set(citing.values_list("pk", flat=True))
    raised = []
    # Locked in id order, as every writer of a claim's flags locks it, so two snapshots of two
    # sources of one claim cannot interleave their summaries.
    for claim in Claim.objects.filter(pk__in=citing_ids).select_for_update().order_by("pk"):
        verdict = _published_verdict(claim)
        flag, created = SourceFlag.objects.get_or_create(
            claim=claim,
            new_snapshot=snapshot,
            defaults={
                "source": source,
                "kind": kind,
                "approved_snapshot_id": _approved_snapshot_id(verdict, source),
                "detected_at": snapshot.fetched_at,
            },
        )
        if not created:
            continue
        raised.append(flag)
        _claim_flag_summary_write(claim)
        reason = source_flag_reason(
            url=source.url, kind=kind, snapshot_id=snapshot.pk, detected_at=snapshot.fetched_at
        )
        webhook_events_for_claim(claim=claim, event=WebhookEndpoint.Event.FLAG)
        notifications_send(
            event=Notification.Event.SOURCE_FLAGGED, claim=claim, actor=None, verdict=verdict, comment=reason
        )
    if raised:
        public_content_changed()
    return raised


def _published_verdict(claim: Claim) -> Verdict | None:
    approved = claim.verdicts.filter(state=Verdict.State.APPROVED).select_related("author", "reviewer")
    return approved.order_by("-version").first()


def _approved_snapshot_id(verdict: Verdict | None, source: Source) -> int | None:
    # The fingerprint names each cited evidence's URL, which is its source's normalised URL.
    if verdict is None:
        return None
    for entry in verdict.fingerprint():
        if entry["url"] == source.url and entry.get("snapshot") is not None:
            return entry.get("snapshot")
    return None


@transaction.atomic
def source_flag_dismiss(*, actor: User, flag: SourceFlag, comment: str) -> SourceFlag:
    """Closes an open entry as "checked, verdict still valid", with the fact-checker's comment in
    the review log; the claim is unflagged when no entry is left open."""
    require_fact_checker(actor)
    comment = comment.strip()
    if not comment:
        raise DomainError.invalid("Say what you checked and why the verdict still holds.", field="comment")
    claim = Claim.objects.select_for_update().get(pk=flag.claim_id)
    dismissed = SourceFlag.objects.filter(pk=flag.pk, state=SourceFlag.State.OPEN).update(
        state=SourceFlag.State.DISMISSED, resolved_by=actor, resolved_at=timezone.now(), comment=comment
    )
    if dismissed != 1:
        raise DomainError.conflict("This flag is no longer open; someone else dealt with it first.")
    flag.refresh_from_db()
    reason = source_flag_reason(
        url=flag.source.url, kind=flag.kind, snapshot_id=flag.new_snapshot_id, detected_at=flag.detected_at
    )
    review_log_append(
        claim=claim,
        verdict=_published_verdict(claim),
        actor=actor,
        action=ReviewLogEntry.Action.DISMISS_FLAG,
        from_state=SourceFlag.State.OPEN,
        to_state=SourceFlag.State.DISMISSED,
        comment=f"{reason} Checked, verdict still valid: {comment}",
    )
    _claim_flag_summary_write(claim)
    # The public page's "under review" notice and the API's `flag` change.
    public_content_changed()
    return flag


def source_flags_resolve(*, claim: Claim, correction: Verdict, actor: User) -> int:
    """Closes every open entry of the claim as corrected by `correction`, just approved: it was
    checked against the sources as they are now. How many were open."""
    resolved = SourceFlag.objects.filter(claim=claim, state=SourceFlag.State.OPEN).update(
        state=SourceFlag.State.CORRECTED, resolved_by=actor, resolved_at=timezone.now(), correction=correction
    )
    if resolved:
        _claim_flag_summary_write(claim)
    return resolved


def source_flag_correction_link(*, flag: SourceFlag, correction: Verdict) -> None:
    """Records that `correction` (a draft) was started from the open entry."""
    linked = SourceFlag.objects.filter(pk=flag.pk, state=SourceFlag.State.OPEN).update(correction=correction)
    if linked != 1:
        raise DomainError.conflict("This flag is no longer open; someone else dealt with it first.")


def _claim_flag_summary_write(claim: Claim) -> None:
    """Writes the claim's summary of its open entries; the caller holds the claim's row lock."""
    open_flags = (
        SourceFlag.objects.filter(claim=claim, state=SourceFlag.State.OPEN)
        .order_by("detected_at", "pk")
        .values_list("source__url", "kind", "new_snapshot_id", "detected_at")
    )
    reasons = []
    newest = None
    for url, kind, snapshot_id, detected_at in open_flags:
        reasons.append(
            source_flag_reason(url=url, kind=kind, snapshot_id=snapshot_id, detected_at=detected_at)
        )
        newest = detected_at
    Claim.objects.filter(pk=claim.pk).update(
        source_flag=" ".join(reasons), source_flagged_at=newest, updated_at=timezone.now()
    )
