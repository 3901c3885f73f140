"""manage.py rebuild_claim_index [--due]: store every claim's sentence vector afresh."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from claims.services import claims_index_due, claims_index_rebuild
from claims.similarity import claim_index_snapshot_store


class Command(BaseCommand):
    help = (
        "Encode every claim's text and store its vector, which each web and worker process adds to "
        "its index before its next search, and save the index for processes to start from, built "
        "from the stored vectors alone (deleted claims dropped). With --due, only the claims never "
        "indexed or saved since, added to the saved index."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--due", action="store_true", help="Only the claims never indexed or changed since."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        indexed = claims_index_due() if options["due"] else claims_index_rebuild()
        self.stdout.write(f"Indexed {indexed} claim{'' if indexed == 1 else 's'}.")
        # A full rebuild also drops the deleted claims the saved graph still holds.
        held = claim_index_snapshot_store(afresh=not options["due"])
        self.stdout.write(f"Saved the index of {held} claims for processes to start from.")
