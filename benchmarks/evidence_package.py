"""Benchmark of evidence packages: building, serving from storage, and what WARC captures cost.

A local origin serves article pages of about 1 MB of HTML each (`--size-mb`); each is fetched by
the guarded fetcher (WARC capture included) and recorded as a snapshot through
sources.services.snapshot_record into a fresh SQLite database and file storage under a
temporary directory. Then, for a claim citing `--sources` of them (10 by default):

- cold: verifier.provenance.services.evidence_package_store with no stored package: the package
  key, every WARC copied into the zip while hashed and indexed, every quote placed in its text,
  the signature, and the package saved to storage (best of 3, the stored package removed
  between runs);
- cached: the same call once the package is stored: found by the content hash of its inputs, no
  WARC or text read (median of 20);
- HTTP: the claim published through the workflow and its package downloaded through the whole
  Django stack (GET /api/v1/claims/{id}/evidence-package/): the first download builds it, the
  next 20 are served from storage, the file streamed in full;
- memory: the peak of Python allocations (tracemalloc) while writing the package, for the claim
  and for a claim citing three times as many captures: streaming keeps it flat;
- storage: per snapshot, the bytes of the WARC capture stored beside the raw body.

It prints the figures against the targets (cold <= 2 s, cached <= 50 ms, memory independent of
capture size) and exits 0 either way. All traffic stays on 127.0.0.1.

    .venv/bin/python benchmarks/evidence_package.py [--sources 10] [--size-mb 1]
"""

from __future__ import annotations

import argparse
import functools
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import tracemalloc
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_COLD_SECONDS = 2.0
TARGET_CACHED_SECONDS = 0.050
MEMORY_SCALE = 3


def article(number: int, size: int) -> bytes:
    """An article page of about `size` bytes of prose-like words, the same for the same number."""
    generator = random.Random(number)
    words = ["".join(generator.choices("abcdefghijklmnopqrstuvwxyz", k=generator.randint(2, 9)))
             for _ in range(4000)]
    paragraphs, length = [], 0
    while length < size:
        paragraph = "<p>" + " ".join(generator.choices(words, k=120)) + ".</p>\n"
        paragraphs.append(paragraph)
        length += len(paragraph)
    return (
        f"<!doctype html><html><head><title>Source {number}</title></head><body><article>"
        f"<h1>Source {number}</h1>{''.join(paragraphs)}</article></body></html>"
    ).encode()


class Origin:
    """Serves /source-N on 127.0.0.1 from pages built once."""

    def __init__(self, pages: dict[str, bytes]) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = pages.get(self.path)
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def setup_django(var_dir: Path, port: int) -> None:
    for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "MEDIA_ROOT",
                 "SNAPSHOT_STORAGE_BACKEND", "VERIFIER_SIGNING_KEY", "VERIFIER_TSA_URL"):
        os.environ.pop(name, None)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        VERIFIER_VAR_DIR=str(var_dir),
        SOURCES_ALLOW_PRIVATE_NETWORKS="1",
        SOURCES_ALLOWED_PORTS=str(port),
        LOG_LEVEL="WARNING",
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def record_snapshots(count: int, port: int) -> list[Any]:
    """Fetches /source-1 ... /source-count and records each as a snapshot, as a worker does."""
    from sources.fetcher import fetch
    from sources.models import Source
    from sources.services import fetch_limits, snapshot_record, source_request_fetch

    snapshots = []
    for number in range(1, count + 1):
        source = Source.objects.create(url=f"http://127.0.0.1:{port}/source-{number}")
        token = source_request_fetch(source=source, queue=False)
        result = fetch(source.url, limits=fetch_limits())
        if not result.ok:
            raise SystemExit(f"fetching {source.url} failed: {result.outcome} {result.reason}")
        snapshots.append(snapshot_record(source=source, token=str(token), result=result))
    return snapshots


def spec_for(snapshots: list[Any]) -> Any:
    """The package inputs of a claim citing these snapshots, one quote from the middle of each."""
    from django.core.files.storage import default_storage

    from verifier.provenance.package import PackageCapture, PackageEvidence, PackageSpec

    evidence, captures, fingerprint = [], [], []
    for number, snapshot in enumerate(snapshots, start=1):
        words = snapshot.text.split()
        quote = " ".join(words[len(words) // 2 : len(words) // 2 + 15])
        evidence.append(PackageEvidence(
            evidence=number, url=snapshot.requested_url, stance="supports", quote=quote, note="",
            quote_status="found", snapshot=snapshot.pk,
        ))
        fingerprint.append({"evidence": number, "url": snapshot.requested_url, "quote_status": "found",
                            "snapshot": snapshot.pk, "content_sha256": snapshot.content_sha256})
        captures.append(PackageCapture(
            snapshot=snapshot.pk, url=snapshot.requested_url, fetched_at=snapshot.fetched_at,
            title=snapshot.title, text_sha256=snapshot.text_sha256,
            warc_sha256=snapshot.warc_sha256, warc_bytes=snapshot.warc_bytes,
            load_text=functools.partial(str, snapshot.text),
            open_warc=functools.partial(default_storage.open, snapshot.warc.name, "rb"),
        ))
    return PackageSpec(
        title=f"Benchmark claim citing {len(snapshots)} sources",
        created=datetime(2024, 5, 2, 10, 0, tzinfo=UTC),
        claim={"id": 1, "text": "A claim citing many sources"},
        verdict={"version": 1, "rating": "False"},
        claim_review={"@type": "ClaimReview"},
        fingerprint=fingerprint,
        evidence=evidence,
        captures=captures,
        review_log=[],
        checkpoint=None,
    )


def published_claim_citing(snapshots: list[Any]) -> int:
    """A claim citing these snapshots' sources, published through the workflow services (a
    fact-checker drafts, a reviewer approves); returns its id."""
    from django.contrib.auth.models import Group, User

    from core.roles import FACT_CHECKERS, REVIEWERS
    from verifier.models import Rating
    from verifier.services.claims import claim_create
    from verifier.services.evidence import evidence_add
    from verifier.services.verdicts import claim_submit, verdict_approve, verdict_save_draft

    author = User.objects.create_user("bench-author", is_staff=True)
    author.groups.add(Group.objects.get(name=FACT_CHECKERS))
    approver = User.objects.create_user("bench-reviewer", is_staff=True)
    approver.groups.add(Group.objects.get(name=REVIEWERS))
    claim = claim_create(actor=author, text="A claim citing many sources", claimant_name="Benchmark")
    for snapshot in snapshots:
        words = snapshot.text.split()
        quote = " ".join(words[len(words) // 2 : len(words) // 2 + 15])
        evidence_add(actor=author, claim=claim, url=snapshot.requested_url, quote=quote, stance="supports")
    verdict_save_draft(actor=author, claim=claim, rating=Rating.objects.first(), summary="Checked.")
    claim_submit(actor=author, claim=claim)
    verdict_approve(actor=approver, claim=claim)
    return claim.pk


def download_times(claim_id: int) -> tuple[float, list[tuple[float, float]]]:
    """GET /api/v1/claims/{id}/evidence-package/ through the whole Django stack: the first
    download (built at request time, the broker's build task not having run), then 20 more, each
    as (until the response starts, until the whole file is streamed)."""
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    url = f"/api/v1/claims/{claim_id}/evidence-package/"
    times = []
    for _ in range(21):
        began = time.perf_counter()
        response = client.get(url)
        assert response.status_code == 200, response.content
        started = time.perf_counter() - began
        for _chunk in response:
            pass
        times.append((started, time.perf_counter() - began))
    return times[0][1], times[1:]


def peak_write_memory(spec: Any) -> int:
    """Peak Python allocations while writing the package of `spec` to a temporary file."""
    from verifier.provenance.keys import signing_key_load
    from verifier.provenance.package import package_write

    key = signing_key_load()
    with tempfile.TemporaryFile() as out:
        tracemalloc.start()
        package_write(spec, out, key=key, software="benchmark")
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", type=int, default=10)
    parser.add_argument("--size-mb", type=float, default=1.0)
    options = parser.parse_args()
    size = int(options.size_mb * 1024 * 1024)
    total = options.sources * MEMORY_SCALE
    pages = {f"/source-{number}": article(number, size) for number in range(1, total + 1)}
    origin = Origin(pages)
    with tempfile.TemporaryDirectory(prefix="bench-package-") as var_dir:
        setup_django(Path(var_dir), origin.port)
        from django.core.files.storage import default_storage

        from verifier.provenance.services import evidence_package_store

        started = time.perf_counter()
        snapshots = record_snapshots(total, origin.port)
        print(f"setup: {total} pages of {size / 1e6:.2f} MB fetched, captured and recorded "
              f"in {time.perf_counter() - started:.1f} s")
        cited = snapshots[: options.sources]
        spec = spec_for(cited)

        cold = []
        for _ in range(3):
            began = time.perf_counter()
            stored = evidence_package_store(spec=spec)
            cold.append(time.perf_counter() - began)
            assert stored.built
            package_bytes = default_storage.size(stored.name)
            default_storage.delete(stored.name)
        evidence_package_store(spec=spec)
        cached = []
        for _ in range(20):
            began = time.perf_counter()
            found = evidence_package_store(spec=spec)
            cached.append(time.perf_counter() - began)
            assert not found.built
        claim_id = published_claim_citing(cited)
        first_download, downloads = download_times(claim_id)
        small_peak = peak_write_memory(spec)
        large_peak = peak_write_memory(spec_for(snapshots))

        bodies = sum(snapshot.body_bytes for snapshot in cited)
        warcs = sum(snapshot.warc_bytes for snapshot in cited)
        captured = sum(snapshot.warc_bytes for snapshot in snapshots)
        print(f"package: {options.sources} sources, {package_bytes / 1e6:.2f} MB "
              f"(WARCs {warcs / 1e6:.2f} MB)")
        verdict = "ok" if min(cold) <= TARGET_COLD_SECONDS else "MISSED"
        print(f"cold build + store: best {min(cold) * 1000:.0f} ms of {len(cold)} "
              f"(target <= {TARGET_COLD_SECONDS * 1000:.0f} ms) {verdict}")
        median = statistics.median(cached)
        verdict = "ok" if median <= TARGET_CACHED_SECONDS else "MISSED"
        print(f"cached (found by content hash): median {median * 1000:.1f} ms of {len(cached)} "
              f"(target <= {TARGET_CACHED_SECONDS * 1000:.0f} ms) {verdict}")
        first_byte = statistics.median(started for started, _ in downloads)
        whole = statistics.median(streamed for _, streamed in downloads)
        verdict = "ok" if first_byte <= TARGET_CACHED_SECONDS else "MISSED"
        print(f"HTTP download, first (built at request): {first_download * 1000:.0f} ms; from storage, "
              f"median of {len(downloads)}: response started in {first_byte * 1000:.1f} ms "
              f"(target <= {TARGET_CACHED_SECONDS * 1000:.0f} ms) {verdict}, whole file streamed in "
              f"{whole * 1000:.0f} ms")
        print(f"peak memory writing the package: {small_peak / 1e6:.1f} MB for "
              f"{warcs / 1e6:.1f} MB of captures; {large_peak / 1e6:.1f} MB for "
              f"{total} sources ({captured / 1e6:.1f} MB of captures)")
        per_snapshot = warcs / len(cited)
        print(f"storage: the WARC capture adds {per_snapshot / 1e3:.0f} KB per snapshot, "
              f"{warcs / bodies:.0%} of the raw body it wraps ({bodies / len(cited) / 1e3:.0f} KB), "
              f"stored once per distinct capture")
    origin.close()


if __name__ == "__main__":
    main()
