"""Benchmark of the read API (issue 4): cached, conditional and rendered reads against a floor.

It loads N published claims (three evidence each, every source with a snapshot, an approved verdict
with its evidence fingerprint) straight into PostgreSQL with COPY, starts gunicorn (2 sync workers)
on benchmarks/floor_wsgi.py, which answers /floor with fixed bytes the size of a list page and
hands everything else to Verifier, and drives it with wrk (Debian package `wrk`; a Python load
generator otherwise) for a fixed time per endpoint. It prints requests/s, p50 and p99 for:

- floor, list page warm (from the response cache), conditional list (304), detail and ClaimReview
  feed page, on a server with the response cache on;
- list page cold, detail cold and feed cold, on a second server with API_CACHE_SECONDS=0;
- the list page at a deep cursor position once the database holds --deep-claims claims (cold),
  against the cold first page at N claims,

- two anchors on the same server (benchmarks/floor_wsgi.py): the same list page from a plain DRF nested
  ModelSerializer with prefetch_related, and hand-built with values() and orjson;
- the single-client p50 (one connection) of the cold, warm and 304 list and of both anchors,

each as a ratio to the floor and the list also to each anchor, against the targets: cold list >= 5x
the DRF anchor and >= 1.5x the hand-built one with a single-client p50 <= 10 ms, detail and feed
cold >= 0.1x the floor, warm and 304 >= 0.8x, deep-cursor p50 <= 1.3x the first page's.
Throttling is off in the servers (one client address sends everything), except for the "counted"
list rows: an anonymous rate it never reaches, so each request is counted as in a deployment.
It exits 0 whatever the figures; every process it starts is stopped on exit.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/verifier_bench_api \\
    REDIS_URL=redis://127.0.0.1:6379/8 \\
        .venv/bin/python benchmarks/api_read.py [--claims 20000] [--deep-claims 200000]
        [--duration 10] [--connections 8] [--fresh] [--skip-deep] [--counted-only]
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.processes import WebProcess  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/verifier_bench_api"
CHUNK = 20_000
CLAIMANTS = 500
TAGS = 30
QUOTE = "these drones were exported before the attack on Ukraine"
# Requests/s as a ratio to the floor's, and the cold list's to each anchor's (same page size, so the
# same ratio of claims/s); the single-client p50 of the cold list, in milliseconds.
TARGETS = {
    "list warm": 0.8, "list 304": 0.8, "list warm, counted": 0.8, "list 304, counted": 0.8,
    "detail cold": 0.1, "feed cold": 0.1,
}
ANCHOR_TARGETS = {"anchor drf": 5.0, "anchor values": 1.5}
SINGLE_CLIENT_P50_TARGET_MS = 10.0
WARM_UP_SECONDS = 1


# Loading.


def ensure_database(url: str, *, fresh: bool) -> None:
    """Creates the benchmark database if it is missing (drops it first with --fresh)."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin_url = parts._replace(path="/postgres").geturl().replace("postgres://", "postgresql://", 1)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and fresh:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


class Copier:
    """COPY rows into a model's table: the given columns per row, every other column its default."""

    def __init__(self, model: Any, given: Sequence[str]) -> None:
        from django.db import connection

        self.model = model
        template = model()
        self.columns: list[str] = []
        self.plan: list[tuple[int | None, Any]] = []
        for field in model._meta.concrete_fields:
            if getattr(field, "generated", False):
                continue
            self.columns.append(field.column)
            if field.attname in given:
                self.plan.append((given.index(field.attname), None))
            else:
                self.plan.append((None, field.get_db_prep_save(field.pre_save(template, True), connection)))

    def copy(self, rows: Iterable[Sequence[Any]]) -> int:
        from django.db import connection

        quote = connection.ops.quote_name
        sql = (
            f"COPY {quote(self.model._meta.db_table)} "
            f"({', '.join(quote(column) for column in self.columns)}) FROM STDIN"
        )
        count = 0
        plan = self.plan
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row([row[index] if index is not None else value for index, value in plan])
                count += 1
        return count


def _next_id(model: Any) -> int:
    from django.db.models import Max

    return (model.objects.aggregate(top=Max("pk"))["top"] or 0) + 1


def load_published_claims(target: int) -> float:
    """Adds published claims until `target` are published, older than those already there."""
    from django.contrib.auth import get_user_model
    from django.core.management.color import no_style
    from django.db import connection, transaction
    from django.db.models import Min
    from django.utils import timezone
    from psycopg.types.json import Jsonb

    from claims.models import Claim, Claimant, Evidence, Tag
    from sources.models import Snapshot, Source
    from verifier.models import Rating, Verdict

    have = Claim.objects.filter(status=Claim.Status.PUBLISHED).count()
    if have >= target:
        return 0.0
    started = time.monotonic()
    user, _ = get_user_model().objects.get_or_create(username="bench-loader", defaults={"is_staff": True})
    Claimant.objects.bulk_create(
        [
            Claimant(name=f"Claimant {n:03}", url=f"https://en.wikipedia.org/wiki/Claimant_{n}")
            for n in range(CLAIMANTS)
        ],
        ignore_conflicts=True,
    )
    Tag.objects.bulk_create(
        [Tag(name=f"topic {n}", slug=f"topic-{n}") for n in range(TAGS)], ignore_conflicts=True
    )
    claimants = list(Claimant.objects.filter(name__startswith="Claimant ").values_list("pk", flat=True))
    tags = list(Tag.objects.filter(slug__startswith="topic-").values_list("pk", flat=True))
    ratings = list(Rating.objects.filter(value__isnull=False).values_list("pk", flat=True))
    oldest = Claim.objects.aggregate(oldest=Min("published_at"))["oldest"] or timezone.now()

    claim_copier = Copier(
        Claim,
        ["id", "text", "claimant_id", "claim_date", "appearance_url", "status", "created_by_id",
         "created_at", "updated_at", "published_at"],
    )
    source_copier = Copier(
        Source,
        ["id", "url", "status", "outcome", "fetch_requested_at", "last_fetched_at", "next_check_at",
         "created_at", "latest_snapshot_id"],
    )
    snapshot_copier = Copier(
        Snapshot,
        ["id", "source_id", "fetch_token", "fetched_at", "requested_url", "final_url", "http_status",
         "content_type", "charset", "bytes_received", "body_bytes", "content_sha256", "text_sha256",
         "title", "text", "outcome", "change"],
    )
    evidence_copier = Copier(
        Evidence,
        ["id", "claim_id", "source_id", "quote", "stance", "note", "author_id", "created_at",
         "quote_status", "quote_checked_snapshot_id", "quote_checked_at"],
    )
    verdict_copier = Copier(
        Verdict,
        ["id", "claim_id", "version", "rating_id", "summary", "explanation", "author_id", "reviewer_id",
         "state", "created_at", "updated_at", "submitted_at", "approved_at", "evidence_fingerprint"],
    )
    tag_copier = Copier(Claim.tags.through, ["id", "claim_id", "tag_id"])
    ids = {
        model: _next_id(model) for model in (Claim, Source, Snapshot, Evidence, Verdict, Claim.tags.through)
    }
    explanation = (
        "Drones were seen over Kyiv months after the date given; the export records cited show "
        "deliveries continuing after February. " * 3
    ).strip()
    now = timezone.now()
    for first in range(0, target - have, CHUNK):
        count = min(CHUNK, target - have - first)
        claims, sources, snapshots, evidence, verdicts, claim_tags = [], [], [], [], [], []
        for offset in range(count):
            number = have + first + offset
            claim_id = ids[Claim] + first + offset
            published = oldest - timedelta(minutes=first + offset + 1)
            claims.append((
                claim_id,
                f"Claim {number}: Iran says the drones were exported before the invasion of Ukraine "
                f"and were never used against civilians (statement {number % 97}).",
                claimants[number % len(claimants)], date(2022, 10, 1 + number % 28),
                f"https://news.example.org/statements/{number}", Claim.Status.PUBLISHED, user.pk,
                published - timedelta(days=1), now, published,
            ))
            claim_tags.append((ids[Claim.tags.through] + first + offset, claim_id, tags[number % len(tags)]))
            fingerprint = []
            for cited in range(3):
                row = 3 * (first + offset) + cited
                source_id, snapshot_id, evidence_id = (
                    ids[Source] + row, ids[Snapshot] + row, ids[Evidence] + row
                )
                url = f"https://news.example.org/articles/{number}-{cited}"
                sha = hashlib.sha256(url.encode()).hexdigest()
                fetched = published - timedelta(hours=2)
                sources.append((
                    source_id, url, Source.Status.FETCHED, "fetched", fetched, fetched,
                    fetched + timedelta(days=7), fetched, snapshot_id,
                ))
                snapshots.append((
                    snapshot_id, source_id, uuid.uuid4(), fetched, url, url, 200, "text/html", "utf-8",
                    4096, 4096, sha, sha, f"Iran admits sending drones ({number}-{cited})",
                    f"Iran said {QUOTE} in February.", "fetched", "first",
                ))
                evidence.append((
                    evidence_id, claim_id, source_id, QUOTE, "supports" if cited else "refutes", "",
                    user.pk, fetched, "found", snapshot_id, fetched,
                ))
                fingerprint.append({
                    "evidence": evidence_id, "url": url, "quote_status": "found", "snapshot": snapshot_id,
                    "content_sha256": sha,
                })
            verdicts.append((
                ids[Verdict] + first + offset, claim_id, 1, ratings[number % len(ratings)],
                "Iran admits supplying drones but disputes the timing.", explanation, user.pk, user.pk,
                Verdict.State.APPROVED, published - timedelta(hours=1), published,
                published - timedelta(minutes=30), published, Jsonb(fingerprint),
            ))
        with transaction.atomic():
            claim_copier.copy(claims)
            tag_copier.copy(claim_tags)
            source_copier.copy(sources)
            snapshot_copier.copy(snapshots)
            evidence_copier.copy(evidence)
            verdict_copier.copy(verdicts)
        print(f"  loaded {have + first + count:,} published claims", flush=True)
    with connection.cursor() as cursor:
        for statement in connection.ops.sequence_reset_sql(
            no_style(), [Claim, Source, Snapshot, Evidence, Verdict, Claim.tags.through]
        ):
            cursor.execute(statement)
        cursor.execute("ANALYZE")
    return time.monotonic() - started


# Serving and measuring.


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        conn.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""), headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


@dataclass
class Figure:
    name: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    # The machine's 1-minute load average as the measurement ended: the figures of one run are
    # comparable only while it stays level (other work on a shared machine moves them all).
    load: float = 0.0


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text.strip()).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def measure(
    name: str,
    url: str,
    *,
    duration: int,
    connections: int,
    headers: dict[str, str] | None = None,
    expect: int = 200,
) -> Figure:
    status, _, _ = get(url, headers)
    if status != expect:
        raise RuntimeError(f"{name}: {url} answered {status}, expected {expect}")
    # Untimed: each worker's first requests load what a first request loads (modules imported on
    # first use, a new database connection, compiled queries), which would land in the first
    # endpoint measured on a server and not in the others.
    _load_of(name, url, duration=WARM_UP_SECONDS, connections=connections, headers=headers or {})
    figure = _load_of(name, url, duration=duration, connections=connections, headers=headers or {})
    figure.load = os.getloadavg()[0]
    return figure


def _load_of(
    name: str, url: str, *, duration: int, connections: int, headers: dict[str, str]
) -> Figure:
    if shutil.which("wrk"):
        # wrk refuses fewer connections than threads: one client is one thread.
        command = ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{duration}s", "--latency"]
        for key, value in headers.items():
            command += ["-H", f"{key}: {value}"]
        output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
        errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
        socket_errors = re.search(
            r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
        )
        return Figure(
            name,
            float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
            _ms(re.search(r"\s50%\s+(\S+)", output).group(1)),  # type: ignore[union-attr]
            _ms(re.search(r"\s99%\s+(\S+)", output).group(1)),  # type: ignore[union-attr]
            (int(errors.group(1)) if errors else 0)
            + (sum(int(n) for n in socket_errors.groups()) if socket_errors else 0),
        )
    return _python_load(name, url, duration=duration, connections=connections, headers=headers)


def _python_load(
    name: str, url: str, *, duration: int, connections: int, headers: dict[str, str]
) -> Figure:
    """A threaded load generator for machines without wrk: one connection per thread, no pipelining."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + duration

    def worker() -> None:
        mine: list[float] = []
        while time.monotonic() < stop:
            started = time.perf_counter()
            try:
                status, _, _ = get(url, headers)
                ok = status < 400
            except OSError:
                ok = False
            mine.append(time.perf_counter() - started)
            if not ok:
                with lock:
                    errors[0] += 1
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cuts = statistics.quantiles(latencies, n=100)
    return Figure(name, len(latencies) / duration, cuts[49] * 1000, cuts[98] * 1000, errors[0])


def deep_cursor(offset: int) -> str:
    """The cursor of the list page that starts after the claim at `offset` in the list's order."""
    from claims.models import Claim
    from verifier.api.pagination import Position

    row = (
        Claim.objects.filter(status=Claim.Status.PUBLISHED)
        .order_by("-published_at", "-id")
        .values_list("published_at", "pk")[offset]
    )
    moment, pk = row
    assert moment is not None
    return Position(field="published_at", moment=moment, pk=pk).encode()


def server_env(
    base: dict[str, str], *, cache_seconds: int, floor_bytes: int, var_dir: str, anon_rate: str = "none"
) -> dict[str, str]:
    return {
        **base,
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "VERIFIER_VAR_DIR": var_dir,
        "API_CACHE_SECONDS": str(cache_seconds),
        "API_THROTTLE_ANON": anon_rate,
        "API_THROTTLE_USER": "none",
        "FLOOR_BYTES": str(floor_bytes),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
    }


def report(
    figures: dict[str, Figure], floor: Figure, single_p50_ms: dict[str, float] | None = None
) -> None:
    """Each figure as req/s, latency and ratio to the floor; Verifier's list also as a ratio to each
    anchor measured, and the p50 of one client alone where it was measured."""
    anchors = {name: figures[name] for name in ANCHOR_TARGETS if name in figures}
    single_p50_ms = single_p50_ms or {}
    columns = "".join(f"{'x ' + name.removeprefix('anchor '):>10}" for name in anchors)
    print(
        f"\n{'endpoint':<24}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'x floor':>10}{columns}"
        f"{'1-client':>10}{'load':>6}  target, errors"
    )
    for name, figure in figures.items():
        ratio = figure.requests_per_second / floor.requests_per_second
        checks = []
        if name in TARGETS:
            checks.append(_check(f"floor >= {TARGETS[name]:.2f}", ratio >= TARGETS[name]))
        anchor_ratios = ""
        for anchor_name, anchor in anchors.items():
            if name.startswith("list"):
                anchor_ratio = figure.requests_per_second / anchor.requests_per_second
                anchor_ratios += f"{anchor_ratio:>10.2f}"
                if name == "list cold":
                    target = ANCHOR_TARGETS[anchor_name]
                    checks.append(_check(f"{anchor_name} >= {target:.1f}", anchor_ratio >= target))
            else:
                anchor_ratios += f"{'':>10}"
        single = single_p50_ms.get(name)
        if name == "list cold" and single is not None:
            checks.append(_check(f"1-client p50 <= {SINGLE_CLIENT_P50_TARGET_MS:.0f} ms",
                                 single <= SINGLE_CLIENT_P50_TARGET_MS))
        print(
            f"{name:<24}{figure.requests_per_second:>10.0f}{figure.p50_ms:>10.2f}{figure.p99_ms:>10.2f}"
            f"{ratio:>10.2f}{anchor_ratios}{'' if single is None else f'{single:.2f}':>10}"
            f"{figure.load:>6.1f}  "
            f"{'; '.join(checks)}{'; ' if checks else ''}{figure.errors} errors"
        )


def _check(target: str, met: bool) -> str:
    return f"{target} {'ok' if met else 'MISSED'}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--claims", type=int, default=20_000)
    parser.add_argument("--deep-claims", type=int, default=200_000)
    parser.add_argument("--duration", type=int, default=10, help="seconds per endpoint")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--fresh", action="store_true", help="drop and recreate the benchmark database")
    parser.add_argument("--skip-deep", action="store_true")
    parser.add_argument(
        "--counted-only",
        action="store_true",
        help="only the floor and the warm and 304 list, without and with a rate limit (while developing)",
    )
    args = parser.parse_args(argv)

    database_url = os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    if not database_url.startswith(("postgres://", "postgresql://")):
        parser.error("the benchmark loads with PostgreSQL's COPY: DATABASE_URL must be a postgres:// URL")
    var_dir = tempfile.mkdtemp(prefix="verifier-bench-api-")
    os.environ.update(
        {"DJANGO_SETTINGS_MODULE": "config.settings", "VERIFIER_VAR_DIR": var_dir, "LOG_LEVEL": "WARNING"}
    )
    started = time.monotonic()
    ensure_database(database_url, fresh=args.fresh)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from claims.models import Claim

    call_command("migrate", verbosity=0)
    print(f"Loading {args.claims:,} published claims into {connection.settings_dict['NAME']} ...", flush=True)
    print(f"  {load_published_claims(args.claims):.1f} s")
    newest = Claim.objects.filter(status=Claim.Status.PUBLISHED).order_by("-published_at", "-id").first()
    assert newest is not None
    list_body = Client(SERVER_NAME="127.0.0.1").get("/api/v1/claims/").content
    floor_bytes = len(list_body)
    print(f"List page: {floor_bytes:,} bytes; wrk: {'yes' if shutil.which('wrk') else 'no (Python load)'}; "
          f"{os.cpu_count()} CPUs; {args.connections} connections, {args.duration} s per endpoint")

    base_env = dict(os.environ)

    @contextmanager
    def serve(cache_seconds: int, anon_rate: str = "none") -> Iterator[WebProcess]:
        """gunicorn with 2 sync workers on floor_wsgi, stopped when the block ends."""
        env = server_env(
            base_env, cache_seconds=cache_seconds, floor_bytes=floor_bytes, var_dir=var_dir,
            anon_rate=anon_rate,
        )
        server = WebProcess(env, application="benchmarks.floor_wsgi:application", workers=2, threads=1)
        server.start()
        try:
            yield server
        finally:
            server.stop()

    figures: dict[str, Figure] = {}
    run = {"duration": args.duration, "connections": args.connections}
    with serve(600) as srv:
        floor = measure("floor", srv.base_url + "/floor", **run)
        figures["floor"] = floor
        _, headers, _ = get(srv.base_url + "/api/v1/claims/")
        figures["list warm"] = measure("list warm", srv.base_url + "/api/v1/claims/", **run)
        figures["list 304"] = measure(
            "list 304", srv.base_url + "/api/v1/claims/", headers={"If-None-Match": headers["ETag"]},
            expect=304, **run,
        )
        if not args.counted_only:
            detail = f"{srv.base_url}/api/v1/claims/{newest.pk}/"
            figures["detail warm"] = measure("detail warm", detail, **run)
            figures["feed warm"] = measure("feed warm", srv.base_url + "/api/v1/claimreview/", **run)
    # As deployed: every anonymous request counted against the rate limit (one it never reaches).
    with serve(600, anon_rate=f"{10**9}/minute") as srv:
        _, headers, _ = get(srv.base_url + "/api/v1/claims/")
        figures["list warm, counted"] = measure("list warm, counted", srv.base_url + "/api/v1/claims/", **run)
        figures["list 304, counted"] = measure(
            "list 304, counted", srv.base_url + "/api/v1/claims/", headers={"If-None-Match": headers["ETag"]},
            expect=304, **run,
        )
    if args.counted_only:
        report(figures, floor)
        return 0
    with serve(0) as srv:
        figures["list cold"] = measure("list cold", srv.base_url + "/api/v1/claims/", **run)
        figures["detail cold"] = measure("detail cold", f"{srv.base_url}/api/v1/claims/{newest.pk}/", **run)
        figures["feed cold"] = measure("feed cold", srv.base_url + "/api/v1/claimreview/", **run)
        figures["anchor drf"] = measure("anchor drf", srv.base_url + "/anchor/drf", **run)
        figures["anchor values"] = measure("anchor values", srv.base_url + "/anchor/values", **run)
        alone = {"duration": max(2, args.duration // 2), "connections": 1}
        single_p50_ms = {
            name: measure(name, srv.base_url + path, **alone).p50_ms
            for name, path in (
                ("list cold", "/api/v1/claims/"),
                ("anchor drf", "/anchor/drf"),
                ("anchor values", "/anchor/values"),
            )
        }
    with serve(600) as srv:
        _, headers, _ = get(srv.base_url + "/api/v1/claims/")
        single_p50_ms["list warm"] = measure("list warm", srv.base_url + "/api/v1/claims/", **alone).p50_ms
        single_p50_ms["list 304"] = measure(
            "list 304", srv.base_url + "/api/v1/claims/", headers={"If-None-Match": headers["ETag"]},
            expect=304, **alone,
        ).p50_ms
    report(figures, floor, single_p50_ms)

    if not args.skip_deep and args.deep_claims > args.claims:
        print(f"\nLoading up to {args.deep_claims:,} published claims ...", flush=True)
        print(f"  {load_published_claims(args.deep_claims):.1f} s")
        cursor = deep_cursor(args.deep_claims - 1_000)
        with serve(0) as srv:
            size = f"@{args.deep_claims // 1000}k"
            first_page = measure(f"list cold {size}", srv.base_url + "/api/v1/claims/", **run)
            deep = measure(
                f"list cold @{args.deep_claims // 1000}k, cursor at {args.deep_claims - 1_000:,}",
                f"{srv.base_url}/api/v1/claims/?cursor={cursor}",
                **run,
            )
        report({first_page.name: first_page, deep.name: deep}, floor)
        ratio = deep.p50_ms / figures["list cold"].p50_ms
        print(
            f"\nDeep cursor p50 / first page p50 at {args.claims // 1000}k: {ratio:.2f} "
            f"(target <= 1.30: {'ok' if ratio <= 1.3 else 'MISSED'})"
        )
    print(f"\nTotal {time.monotonic() - started:.0f} s")
    shutil.rmtree(var_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
