"""What a recorded snapshot means for the claims citing its source (SPEC §4): every quote is
checked against it, the claims' updated_at moves so incremental pulls see it, and published
claims whose source changed or disappeared are flagged and announced to the webhooks and to the
people concerned."""

from django.utils import timezone

from claims.models import Claim
from claims.services import evidence_check_quote
from core.content_version import public_content_changed
from sources.models import Snapshot, Source
from sources.services import HostBusy, TransientFailure, source_fetch
from verifier.models import Notification, WebhookEndpoint
from verifier.services.notifications import notifications_send
from verifier.services.webhooks import webhook_events_for_claim


def source_fetch_and_apply(
    *, source_id: int, token: str, record_transient: bool = True
) -> Snapshot | TransientFailure | HostBusy | None:
    """sources.services.source_fetch, with the new snapshot applied to the claims citing the source
    in the transaction that records it: what the fetch task and `recheck_sources --sync` run."""
    return source_fetch(
        source_id=source_id,
        token=token,
        record_transient=record_transient,
        on_recorded=snapshot_apply_to_claims,
    )


def snapshot_apply_to_claims(*, snapshot: Snapshot) -> None:
    """Checks every quote citing the snapshot's source against it, moves the updated_at of the
    claims whose evidence now reads differently, and flags the published ones if the source
    changed or disappeared."""
    source = snapshot.source
    shown_changed: set[int] = set()
    checked = source.evidence.select_related("quote_checked_snapshot").defer("quote_checked_snapshot__text")
    for evidence in checked:
        shown = (evidence.quote_checked_snapshot_id, evidence.quote_status)
        evidence_check_quote(evidence=evidence, snapshot=snapshot)
        if (evidence.quote_checked_snapshot_id, evidence.quote_status) != shown:
            shown_changed.add(evidence.claim_id)
    # Incremental pulls (updated_since) must see a claim whose evidence shows another snapshot or
    # quote status; a re-check that found the same page moves no claim.
    Claim.objects.filter(pk__in=shown_changed).update(updated_at=snapshot.fetched_at)
    if snapshot.change in (Snapshot.Change.CHANGED, Snapshot.Change.GONE):
        claims_flag_for_source_change(source=source, snapshot=snapshot)


def claims_flag_for_source_change(*, source: Source, snapshot: Snapshot) -> int:
    """Flags published claims citing the source (they stay published) and tells the webhooks."""
    what = "changed" if snapshot.change == Snapshot.Change.CHANGED else "disappeared"
    reason = f"Source {source.url} {what} (snapshot {snapshot.pk}, {snapshot.fetched_at:%Y-%m-%d})."
    flagged = list(Claim.objects.filter(status=Claim.Status.PUBLISHED, evidence__source=source).distinct())
    Claim.objects.filter(pk__in=[claim.pk for claim in flagged]).update(
        source_flag=reason, source_flagged_at=snapshot.fetched_at, updated_at=timezone.now()
    )
    if flagged:
        public_content_changed()
    for claim in flagged:
        webhook_events_for_claim(claim=claim, event=WebhookEndpoint.Event.FLAG)
        notifications_send(event=Notification.Event.SOURCE_FLAGGED, claim=claim, actor=None, comment=reason)
    return len(flagged)
