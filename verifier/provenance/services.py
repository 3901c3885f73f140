"""Writes for provenance: signed review-log checkpoints, trusted timestamps, stored packages."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from importlib.metadata import version

from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from core.errors import DomainError
from core.queueing import task_queue
from core.storage import storage_save_whole
from sources.models import Snapshot
from verifier.provenance.keys import signing_key_load, signing_key_record
from verifier.provenance.merkle import checkpoint_message, leaf_hash, tree_head
from verifier.provenance.models import ReviewLogCheckpoint, SigningKey, TrustedTimestamp
from verifier.provenance.package import PackageSpec, package_key, package_write
from verifier.provenance.selectors import (
    evidence_package_spec,
    published_verdict,
    review_log_checkpoint_latest,
    review_log_hashes,
    signing_keys_known,
)
from verifier.provenance.signing import public_key_b64, sign_text
from verifier.provenance.tsa import TimestampUnavailable, timestamp_request

logger = logging.getLogger(__name__)

PACKAGE_SOFTWARE = f"Verifier {version('verifier')}"
PACKAGE_TASK = "verifier.tasks.build_evidence_package"
TIMESTAMP_TASK = "verifier.tasks.request_missing_trusted_timestamps"
# A token that could not be had is asked for again after this long, not on every sweep.
TIMESTAMP_RETRY_AFTER = timedelta(minutes=10)


def signing_keys_published() -> list[SigningKey]:
    """Every public key Verifier signs or has signed with, newest first; the current key is
    recorded on first use, so it is listed before it has signed anything."""
    signing_key_record(signing_key_load())
    return signing_keys_known()


def review_log_checkpoint_store() -> ReviewLogCheckpoint | None:
    """Signs and stores the head of the review log as it is now (None for an empty log); if
    nothing was appended since the latest checkpoint, that one is returned."""
    hashes = review_log_hashes()
    if not hashes:
        return None
    for position, (sequence, _) in enumerate(hashes, start=1):
        if sequence != position:
            # Signing a log with a hole would vouch for the deletion.
            raise DomainError.conflict(f"The review log has no entry #{position}; no checkpoint was signed.")
    latest = review_log_checkpoint_latest()
    if latest is not None and latest.size == len(hashes):
        return latest
    key = signing_key_load()
    head = tree_head([leaf_hash(entry_hash) for _, entry_hash in hashes])
    created = timezone.now()
    message = checkpoint_message(size=len(hashes), head=head, created=created.isoformat())
    try:
        with transaction.atomic():
            return ReviewLogCheckpoint.objects.create(
                size=len(hashes),
                head=head,
                created_at=created,
                signature=sign_text(key, message),
                key=signing_key_record(key),
            )
    except IntegrityError:
        # Another process checkpointed the same log at the same moment.
        return ReviewLogCheckpoint.objects.get(size=len(hashes))


def trusted_timestamp_request(*, digest: str, kind: str) -> TrustedTimestamp | None:
    """Gets and stores an RFC 3161 token for the SHA-256 `digest` (hex) from VERIFIER_TSA_URL.

    Never raises for the authority's sake: an outage is recorded on the row (attempts, error)
    and the token is asked for again later. None when no authority is configured."""
    if not settings.VERIFIER_TSA_URL:
        return None
    stamp, _ = TrustedTimestamp.objects.get_or_create(digest=digest, defaults={"kind": kind})
    if stamp.token:
        return stamp
    # No transaction is open here: the authority may take up to VERIFIER_TSA_TIMEOUT to answer.
    now = timezone.now()
    try:
        token = timestamp_request(
            url=settings.VERIFIER_TSA_URL,
            digest=bytes.fromhex(digest),
            timeout=settings.VERIFIER_TSA_TIMEOUT,
        )
    except TimestampUnavailable as unavailable:
        logger.warning("No timestamp for %s %s yet: %s", kind, digest, unavailable)
        TrustedTimestamp.objects.filter(pk=stamp.pk).update(
            attempts=F("attempts") + 1, last_error=str(unavailable)[:500], last_attempt_at=now
        )
    else:
        TrustedTimestamp.objects.filter(pk=stamp.pk).update(
            token=token.der,
            stamped_at=token.stamped_at,
            attempts=F("attempts") + 1,
            last_error="",
            last_attempt_at=now,
        )
    stamp.refresh_from_db()
    return stamp


def trusted_timestamps_request_missing(*, limit: int = 100, retry_now: bool = False) -> int:
    """Asks for the tokens still missing (new captures, earlier outages); stops at the first
    failure, since the authority is then most likely down. Returns how many were stamped.

    A token that could not be had is asked for again only after TIMESTAMP_RETRY_AFTER, unless
    `retry_now` (a person saw the authority is back)."""
    if not settings.VERIFIER_TSA_URL:
        return 0
    retry_before = timezone.now() - (timedelta(0) if retry_now else TIMESTAMP_RETRY_AFTER)
    waiting = list(
        TrustedTimestamp.objects.filter(token=b"")
        .filter(Q(last_attempt_at__isnull=True) | Q(last_attempt_at__lt=retry_before))
        .order_by(F("last_attempt_at").asc(nulls_first=True))
        .values_list("digest", "kind")[:limit]
    )
    unasked = (
        Snapshot.objects.exclude(warc_sha256="")
        .exclude(warc_sha256__in=TrustedTimestamp.objects.values("digest"))
        .order_by("id")
        .values_list("warc_sha256", flat=True)
        .distinct()[: max(limit - len(waiting), 0)]
    )
    waiting += [(digest, TrustedTimestamp.Kind.CAPTURE) for digest in unasked]
    stamped = 0
    for digest, kind in waiting:
        stamp = trusted_timestamp_request(digest=digest, kind=kind)
        if stamp is None or not stamp.token:
            break
        stamped += 1
    return stamped


def trusted_timestamps_retry_enqueue() -> bool:
    """Queues the sweep of missing tokens at once, each asked for again whenever it last failed."""
    return task_queue(name=TIMESTAMP_TASK, args=(True,), swept_by="the next beat sweep")


@dataclass(frozen=True)
class StoredPackage:
    """A package in storage: `name` to open it, `key` the content hash of its inputs, `built`
    whether this call built it (else an earlier build was found and no WARC was read)."""

    name: str
    key: str
    built: bool


def evidence_package_key(spec: PackageSpec) -> str:
    """The content hash of `spec`'s package as Verifier signs it now (see package_key): equal keys
    mean equal bytes, so it names the stored file and serves as its ETag."""
    return _package_key(spec, signing_key_load())


def _package_key(spec: PackageSpec, key: ec.EllipticCurvePrivateKey) -> str:
    return package_key(spec, public_key=public_key_b64(key.public_key()), software=PACKAGE_SOFTWARE)


def evidence_package_store(*, spec: PackageSpec, stamp_now: bool = True) -> StoredPackage:
    """The signed package of `spec` in storage, found by the content hash of its inputs or built,
    stored and its signed hash timestamped (when an authority is configured): at once, or with
    `stamp_now` False (a reader is waiting) by the next sweep of missing tokens."""
    key = signing_key_load()
    signing_key_record(key)
    content_key = _package_key(spec, key)
    name = f"packages/{content_key[:2]}/{content_key}.wacz"
    if default_storage.exists(name):
        return StoredPackage(name=name, key=content_key, built=False)
    stored, written = storage_save_whole(
        name, lambda scratch: package_write(spec, scratch, key=key, software=PACKAGE_SOFTWARE)
    )
    if stored != name:
        # Another worker built the same package at the same moment; keep a single copy.
        default_storage.delete(stored)
    signed_digest = written.datapackage_hash.removeprefix("sha256:")
    if stamp_now:
        trusted_timestamp_request(digest=signed_digest, kind=TrustedTimestamp.Kind.PACKAGE)
    elif settings.VERIFIER_TSA_URL:
        TrustedTimestamp.objects.get_or_create(
            digest=signed_digest, defaults={"kind": TrustedTimestamp.Kind.PACKAGE}
        )
    return StoredPackage(name=name, key=content_key, built=True)


def evidence_package_build(*, claim_id: int, version: int) -> StoredPackage | None:
    """The stored package of the claim's published `version`, built if it is not stored yet;
    None when that version is not (or no longer) published."""
    verdict = published_verdict(claim_id=claim_id, version=version)
    if verdict is None:
        return None
    return evidence_package_store(spec=evidence_package_spec(verdict))


def evidence_package_enqueue(*, claim_id: int, version: int) -> bool:
    """Queues the build of a newly published version's package, so its first download is served
    from storage. If the broker is down, that first download builds it."""
    return task_queue(name=PACKAGE_TASK, args=(claim_id, version), swept_by="the first download")
