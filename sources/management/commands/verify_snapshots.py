"""manage.py verify_snapshots [--sample N] [--repair]: hashes stored snapshot bodies and WARC captures."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sources.models import Snapshot
from sources.services import snapshot_body_repair, snapshot_capture_repair, snapshots_verify


class Command(BaseCommand):
    help = (
        "Hash every stored snapshot body and WARC capture (or those of a random sample) against "
        "their recorded SHA-256 and name each mismatch; exit 1 if any remains. --repair stores the "
        "file again from a re-fetch, only when what is fetched now hashes to the recorded value."
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
        repair = {"body": snapshot_body_repair, "capture": snapshot_capture_repair}
        for mismatch in mismatches:
            if options["repair"] and repair[mismatch.kind](
                snapshot=Snapshot.objects.get(pk=mismatch.snapshot_id)
            ):
                self.stdout.write(f"repaired {mismatch}")
                continue
            self.stdout.write(f"MISMATCH {mismatch}")
            remaining.append(mismatch)
        if remaining:
            bodies = sum(1 for mismatch in remaining if mismatch.kind == "body")
            raise CommandError(
                f"{bodies} snapshot bodies and {len(remaining) - bodies} WARC captures do not match "
                "their SHA-256."
            )
        self.stdout.write(
            f"{len(mismatches) - len(remaining)} repaired; every checked body and capture matches."
        )
