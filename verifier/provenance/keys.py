"""The organisation's signing key: a PEM file made once when missing, rotated on request, its
public half recorded in the database so every key that ever signed stays known."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from verifier.provenance.models import SigningKey
from verifier.provenance.signing import (
    key_id,
    private_key_from_pem,
    private_key_pem,
    public_key_b64,
    signing_key_generate,
)


def _write_key_file(path: Path, key: ec.EllipticCurvePrivateKey, *, replace: bool) -> bool:
    """Writes the key readable by its owner only; without `replace`, only if no key is there.
    Returns whether this call's key is the one now in place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=".signing-key-", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(private_key_pem(key))
        os.chmod(temporary, 0o600)
        if replace:
            os.replace(temporary, path)
            return True
        try:
            # A hard link fails if the name exists: of two processes starting at once, exactly
            # one creates the key and both then read the same file.
            os.link(temporary, path)
        except FileExistsError:
            return False
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def signing_key_load() -> ec.EllipticCurvePrivateKey:
    """The private key from VERIFIER_SIGNING_KEY, generated there first if the file is missing."""
    path = Path(settings.VERIFIER_SIGNING_KEY)
    if not path.exists():
        _write_key_file(path, signing_key_generate(), replace=False)
    return private_key_from_pem(path.read_bytes())


def signing_key_record(key: ec.EllipticCurvePrivateKey) -> SigningKey:
    """The database record of this key's public half, created on first use."""
    public = public_key_b64(key.public_key())
    record, _ = SigningKey.objects.get_or_create(key_id=key_id(public), defaults={"public_key": public})
    return record


def signing_key_rotate() -> tuple[SigningKey, SigningKey]:
    """Replaces the key file with a new key; the old public key stays known, marked retired.

    Returns (old, new)."""
    old = signing_key_record(signing_key_load())
    new_key = signing_key_generate()
    with transaction.atomic():
        SigningKey.objects.filter(pk=old.pk, retired_at__isnull=True).update(retired_at=timezone.now())
        new = signing_key_record(new_key)
        # Written last, inside the transaction: if it fails, no key is marked retired.
        _write_key_file(Path(settings.VERIFIER_SIGNING_KEY), new_key, replace=True)
    old.refresh_from_db()
    return old, new
