"""The append-only, hash-chained review log: writing an entry and checking the chain."""

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.utils import timezone

from claims.models import Claim
from verifier.models import ReviewLogEntry, Verdict

GENESIS_HASH = "0" * 64
# Any constant works; it only has to be the same for every writer of the log.
_POSTGRES_LOG_LOCK_KEY = 727_001


def _lock_log_tail() -> None:
    # Serialises appends so each one sees the true tail. SQLite needs nothing: its IMMEDIATE
    # transactions already admit one writer at a time.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_POSTGRES_LOG_LOCK_KEY])


def review_log_append(
    *,
    claim: Claim,
    verdict: Verdict | None,
    actor: User,
    action: str,
    from_state: str,
    to_state: str,
    comment: str = "",
) -> ReviewLogEntry:
    """Appends one entry chained to the previous one; must run inside the transition's transaction."""
    with transaction.atomic():
        _lock_log_tail()
        tail = ReviewLogEntry.objects.order_by("-sequence").only("sequence", "entry_hash").first()
        entry = ReviewLogEntry(
            sequence=(tail.sequence + 1) if tail else 1,
            claim=claim,
            verdict=verdict,
            actor=actor,
            action=action,
            from_state=from_state,
            to_state=to_state,
            comment=comment,
            created_at=timezone.now(),
            previous_hash=tail.entry_hash if tail else GENESIS_HASH,
        )
        entry.entry_hash = entry.compute_hash()
        entry.save()
    return entry


def review_log_problems() -> list[str]:
    """Every break in the chain: a missing, edited or reordered entry."""
    problems = []
    expected_sequence = 1
    previous_hash = GENESIS_HASH
    for entry in ReviewLogEntry.objects.order_by("sequence").iterator(chunk_size=2000):
        if entry.sequence != expected_sequence:
            problems.append(
                f"entry #{entry.sequence}: expected #{expected_sequence}; an entry was deleted"
            )
        if entry.previous_hash != previous_hash:
            problems.append(f"entry #{entry.sequence}: does not chain to the entry before it")
        if entry.compute_hash() != entry.entry_hash:
            problems.append(f"entry #{entry.sequence}: content does not match its hash (edited)")
        expected_sequence = entry.sequence + 1
        previous_hash = entry.entry_hash
    return problems
