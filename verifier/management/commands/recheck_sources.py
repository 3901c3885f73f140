"""manage.py recheck_sources: the link-rot re-check that Celery beat runs, on demand."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from sources.models import Snapshot
from sources.services import (
    HostBusy,
    TransientFailure,
    enqueue_fetch,
    source_request_fetch,
    sources_due_for_recheck,
    sources_recheck_due,
)
from verifier.services.sources import source_fetch_and_apply


class Command(BaseCommand):
    help = (
        "Re-check the sources whose link-rot check is due: queue their fetches for the worker, "
        "or fetch them here with --sync."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--all", action="store_true", help="Re-check every source with a finished fetch, due or not."
        )
        parser.add_argument(
            "--sync",
            action="store_true",
            help="Fetch in this process, one source after another, instead of queueing for a worker.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["sync"]:
            count = sources_recheck_due(include_not_due=options["all"])
            self.stdout.write(f"Queued {count} source(s) for re-checking on the fetch queue.")
            return
        due = sources_due_for_recheck(include_not_due=options["all"]).order_by("pk")
        count = 0
        for source in due.only("pk", "url"):
            with transaction.atomic():
                token = source_request_fetch(source=source, queue=False)
            outcome = source_fetch_and_apply(source_id=source.pk, token=str(token))
            count += 1
            if isinstance(outcome, HostBusy):
                # Workers hold every fetch slot for this host; one of them takes it over.
                enqueue_fetch(source_id=source.pk, token=token)
                self.stdout.write(f"{source.url}: {outcome.host} is busy; queued for the worker")
                continue
            self.stdout.write(f"{source.url}: {_describe(outcome)}")
        self.stdout.write(f"Re-checked {count} source(s).")


def _describe(outcome: Snapshot | TransientFailure | None) -> str:
    if isinstance(outcome, Snapshot):
        detail = f" ({outcome.error_detail})" if outcome.error_detail else ""
        return f"{outcome.outcome}{detail}, {outcome.get_change_display().lower()}"
    if isinstance(outcome, TransientFailure):
        return f"transient failure ({outcome.reason})"
    # Another fetch of the same source took over (a worker, or a concurrent run).
    return "skipped"
