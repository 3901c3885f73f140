"""manage.py verify_review_log: checks the hash chain of the review log."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from verifier.models import ReviewLogEntry
from verifier.services.review_log import review_log_problems


class Command(BaseCommand):
    help = "Check that no review log entry was edited, deleted or reordered; exit 1 if one was."

    def handle(self, *args: Any, **options: Any) -> None:
        problems = review_log_problems()
        if problems:
            for problem in problems:
                self.stderr.write(problem)
            raise CommandError(f"The review log chain is broken: {len(problems)} problem(s).")
        count = ReviewLogEntry.objects.count()
        self.stdout.write(self.style.SUCCESS(f"OK: the review log chain of {count} entries is intact."))
