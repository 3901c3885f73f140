"""manage.py verify_review_log [--checkpoint FILE]: checks the hash chain of the review log and,
given a checkpoint saved earlier, that the log still holds unchanged everything it covered."""

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from verifier.models import ReviewLogEntry
from verifier.provenance.checkpoints import review_log_checkpoint_problems
from verifier.services.review_log import review_log_problems


class Command(BaseCommand):
    help = (
        "Check that no review log entry was edited, deleted or reordered; with --checkpoint, also "
        "that every entry a signed checkpoint covered is still there unchanged (so deleting the "
        "newest entries is caught too). Exit 1 naming each problem."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--checkpoint",
            type=Path,
            help="A checkpoint JSON saved earlier (GET /api/v1/review-log/checkpoint/).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        problems = review_log_problems()
        if options["checkpoint"] is not None:
            problems += review_log_checkpoint_problems(_read_checkpoint(options["checkpoint"]))
        if problems:
            for problem in problems:
                self.stderr.write(problem)
            raise CommandError(f"The review log does not check out: {len(problems)} problem(s).")
        count = ReviewLogEntry.objects.count()
        covered = " and matches the checkpoint" if options["checkpoint"] is not None else ""
        self.stdout.write(
            self.style.SUCCESS(f"OK: the review log chain of {count} entries is intact{covered}.")
        )


def _read_checkpoint(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise CommandError(f"Cannot read the checkpoint {path}: {error}") from None
    if not isinstance(document, dict):
        raise CommandError(f"{path} is not a checkpoint (a JSON object).")
    return document
