"""manage.py seed_demo: the seed article's claims and the demo users, for local use."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from verifier.demo import demo_seed


class Command(BaseCommand):
    help = (
        "Load the seed article's claims, evidence and demo users (factchecker, reviewer) with one "
        "claim published through the workflow. Safe to rerun: existing claims are left alone; the "
        "demo users get new passwords, printed here."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        report = demo_seed()
        for claim in report.created:
            self.stdout.write(f"  created [{claim.status}] {claim}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Seed article: {len(report.created)} claims created, {report.existing} already present."
            )
        )
        self.stdout.write("")
        self.stdout.write(self.style.WARNING("Demo logins, for local use only (new passwords on every run):"))
        for user in report.users:
            self.stdout.write(f"  {user.username:<12} {user.password}   ({user.group})")
        self.stdout.write(f"  Sign in at {settings.PUBLIC_BASE_URL}/admin/")
