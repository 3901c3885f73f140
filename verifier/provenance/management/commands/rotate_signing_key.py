"""manage.py rotate_signing_key: a new signing key; the old public key stays known."""

from typing import Any

from django.core.management.base import BaseCommand

from verifier.provenance.keys import signing_key_rotate


class Command(BaseCommand):
    help = (
        "Replace the signing key (VERIFIER_SIGNING_KEY) with a new ECDSA P-256 key. The old public "
        "key is kept, marked retired, so packages and checkpoints it signed still verify. The "
        "private key is never printed."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        old, new = signing_key_rotate()
        self.stdout.write(f"Retired key {old.key_id}")
        self.stdout.write(self.style.SUCCESS(f"Signing with new key {new.key_id}"))
