"""What a recorded snapshot means for the claims citing its source (SPEC §4): every quote is
checked against it, the claims' updated_at moves so incremental pulls see it, and published
claims whose source changed or disappeared get a flag entry each (verifier.services.flags), announced
to the webhooks and to the people concerned."""

from datetime import datetime

from django.db.models import QuerySet

from claims.models import Claim
from claims.services import source_evidence_check_quotes
from core.compiled_rows import ShapedUpdate
from core.content_version import public_content_changed
from sources.models import Snapshot
from sources.services import HostBusy, TransientFailure, source_fetch
from verifier.services.flags import source_flags_raise


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


_CLAIM_UPDATES = ShapedUpdate()


def _touched(claim_id: int, moment: datetime) -> tuple[QuerySet[Claim], dict[str, object]]:
    return Claim.objects.filter(pk=claim_id), {"updated_at": moment}


def snapshot_apply_to_claims(*, snapshot: Snapshot) -> None:
    """Checks every quote citing the snapshot's source against it, moves the updated_at of the
    claims whose evidence now reads differently, and flags the published ones if the source
    changed or disappeared."""
    checked = source_evidence_check_quotes(snapshot=snapshot)
    # Incremental pulls (updated_since) must see a claim whose evidence shows another snapshot or
    # quote status; a re-check that found the same page moves no claim.
    if len(checked.shown_changed) == 1:
        # The usual case, one claim citing the source: an UPDATE compiled once per process.
        _CLAIM_UPDATES.update("touched", _touched, *checked.shown_changed, snapshot.fetched_at)
    elif checked.shown_changed:
        Claim.objects.filter(pk__in=checked.shown_changed).update(updated_at=snapshot.fetched_at)
    # The public record of a claim citing the source may read differently (a quote status, the
    # source's settled status); a re-check that found the same page supersedes nothing.
    reads_differently = snapshot.change != Snapshot.Change.SAME or bool(checked.shown_changed)
    if reads_differently and checked.cited_by_published:
        public_content_changed()
    source_flags_raise(source=snapshot.source, snapshot=snapshot)
