"""manage.py fetch_url URL [--json]: one guarded fetch with the configured limits, stored nowhere."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from sources.fetcher import FetchResult, fetch
from sources.services import fetch_limits

TEXT_PREVIEW_CHARS = 500


class Command(BaseCommand):
    help = (
        "Fetch URL once through the guarded fetcher with the configured SOURCES_* limits and print "
        "the outcome; writes nothing to the database. Exits 0 whatever the outcome: a refused URL "
        "is an answer, not an error."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("url", help="The URL to fetch.")
        parser.add_argument(
            "--json", action="store_true", help="Print one JSON object (the full fetch result)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        result = fetch(options["url"], limits=fetch_limits())
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False, default=str))
        else:
            self.stdout.write(_summary(result))


def _summary(result: FetchResult) -> str:
    lines = [f"outcome:        {result.outcome}" + (f" ({result.reason})" if result.reason else "")]
    fields = [
        ("requested url", result.requested_url),
        ("final url", result.final_url if result.final_url != result.requested_url else ""),
        ("redirects", " -> ".join(f"{hop['url']} ({hop['status']})" for hop in result.redirect_chain)),
        ("connected to", result.connected_ip or ""),
        ("http status", str(result.http_status or "")),
        ("content type", result.content_type),
        ("bytes", f"{result.bytes_received}" + (" (truncated)" if result.truncated else "")),
        ("sha256 (body)", result.content_sha256),
        ("title", result.title),
        ("author", result.author),
        ("published", result.published),
        ("elapsed", f"{result.elapsed:.2f} s"),
    ]
    lines += [f"{label + ':':<15} {value}" for label, value in fields if value]
    if result.text:
        preview = " ".join(result.text.split())
        if len(preview) > TEXT_PREVIEW_CHARS:
            preview = preview[:TEXT_PREVIEW_CHARS] + "..."
        lines += ["", preview]
    return "\n".join(lines)
