"""manage.py verify_snapshots [--sample N] [--repair]: hashes stored snapshot bodies."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sources.models import Snapshot
from sources.services import snapshot_body_repair, snapshots_verify


class Command(BaseCommand):
    help = (
        "Hash every stored snapshot body (or a random sample) against its recorded SHA-256 and "
        "name each mismatch; exit 1 if any remains. --repair stores the body again from a re-fetch, "
        "only when the page still hashes to the recorded value."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--sample", type=int, metavar="N", help="Check N snapshots at random.")
        parser.add_argument(
            "--repair", action="store_true", help="Re-fetch each mismatch and store it if it matches."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        sample = options["sample"]
        if sample is not None and sample < 1:
            raise CommandError("--sample must be at least 1")
        mismatches = snapshots_verify(sample=sample)
        remaining = []
        for mismatch in mismatches:
            if options["repair"] and snapshot_body_repair(
                snapshot=Snapshot.objects.get(pk=mismatch.snapshot_id)
            ):
                self.stdout.write(f"repaired {mismatch}")
                continue
            self.stdout.write(f"MISMATCH {mismatch}")
            remaining.append(mismatch)
        if remaining:
            raise CommandError(f"{len(remaining)} snapshot bodies do not match their SHA-256.")
        self.stdout.write(f"{len(mismatches) - len(remaining)} repaired; every checked body matches.")
