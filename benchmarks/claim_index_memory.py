"""Memory of claim matching in a web worker, with the claim index of N claims loaded.

1. Fills the configured database (DATABASE_URL; SQLite under VERIFIER_VAR_DIR otherwise) with N
   claims, the fixture's and claim_matching.py's synthetic look-alikes, unless it already holds
   them; indexes them with the index service and saves the index as the beat task does.
2. In a fresh process, loads what a web worker loads one step at a time and prints its memory
   after each: Django and the URLs, the encoder, the saved graph, the first sync, the first search.
3. Starts the web server as the Procfile does (gunicorn, tests/processes.py's WebProcess, 2 workers of
   4 threads), asks /api/v1/claims/similar/ the fixture's queries (varied: a search reads the parts
   of the graph near its query) and prints each worker's memory against the 300 MB target.

Memory is from /proc/<pid>/smaps_rollup: RSS (the target's measure), PSS and USS (private pages).

    VERIFIER_VAR_DIR=$PWD/var/bench .venv/bin/python benchmarks/claim_index_memory.py [--claims 100000]

It exits 0 whether or not the target is met.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

TARGET_RSS_MB = 300.0
# The Procfile's gunicorn settings: the application and the encoder preloaded in the master.
GUNICORN_CONFIG = "config/gunicorn.py"
QUERY = "Russia has acquired hundreds of drones from Iran."


def memory_mb(pid: int | str = "self") -> dict[str, float]:
    """RSS, PSS and USS of the process, in MB."""
    fields: dict[str, float] = {}
    with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as rollup:
        for line in rollup:
            name, _, rest = line.partition(":")
            if rest.strip().endswith("kB"):
                fields[name] = int(rest.split()[0]) / 1024
    return {
        "rss": fields["Rss"],
        "pss": fields["Pss"],
        "uss": fields["Private_Clean"] + fields["Private_Dirty"],
    }


def graph_rss_mb(pid: int) -> float:
    """The resident part of the process's mappings of the saved claim graph (shared file pages)."""
    from django.conf import settings

    name = Path(settings.CLAIM_INDEX_SNAPSHOT).name
    resident = 0
    in_graph = False
    with open(f"/proc/{pid}/smaps", encoding="utf-8", errors="replace") as smaps:
        for line in smaps:
            fields = line.split()
            if "-" in fields[0] and ":" not in fields[0]:
                in_graph = fields[-1].endswith(name)
            elif in_graph and fields[0] == "Rss:":
                resident += int(fields[1])
    return resident / 1024


def memory_line(memory: dict[str, float]) -> str:
    return f"RSS {memory['rss']:5.0f} MB  PSS {memory['pss']:5.0f} MB  USS {memory['uss']:5.0f} MB"


def database_fill(count: int) -> None:
    """Makes the database hold `count` indexed claims and the saved index (skipped if it does)."""
    from claim_matching import fixture_load, synthetic_claims
    from django.conf import settings

    from claims.models import Claim, Claimant, ClaimVector
    from claims.services import claims_index_due
    from claims.similarity import claim_index_snapshot_store

    published = Claim.objects.filter(status=Claim.Status.PUBLISHED)
    if published.count() == Claim.objects.count() == count == ClaimVector.objects.count():
        print(f"The database holds {count:,} indexed claims already.", flush=True)
    else:
        from django.contrib.auth.models import User
        from django.utils import timezone

        claims, _ = fixture_load()
        Claim.objects.all().delete()
        # The saved graph holds the deleted claims' vectors: start the new one from scratch.
        graph = Path(settings.CLAIM_INDEX_SNAPSHOT)
        for path in (graph, graph.with_name(f"{graph.name}.json")):
            path.unlink(missing_ok=True)
        claimant, _ = Claimant.objects.get_or_create(name="Benchmark")
        author, _ = User.objects.get_or_create(username="benchmark")
        texts = [(claim["text"], claim["language"]) for claim in claims]
        texts += synthetic_claims(claims, count - len(claims))
        now = timezone.now()
        # Published, so that the anonymous searches of the web worker see them.
        Claim.objects.bulk_create(
            [
                Claim(
                    text=text,
                    language=language,
                    claimant=claimant,
                    created_by=author,
                    status=Claim.Status.PUBLISHED,
                    published_at=now,
                )
                for text, language in texts
            ],
            batch_size=2000,
        )
        started = time.perf_counter()
        indexed = claims_index_due()
        print(f"Indexed {indexed:,} claims in {time.perf_counter() - started:.0f} s", flush=True)
    started = time.perf_counter()
    claim_index_snapshot_store()
    print(f"Index brought up to date and saved in {time.perf_counter() - started:.1f} s", flush=True)


def steps() -> None:
    """Prints, as JSON lines, this process's memory after each step a web worker takes."""

    def report(step: str, started: float) -> None:
        print(json.dumps({"step": step, "seconds": time.perf_counter() - started, **memory_mb()}), flush=True)

    started = time.perf_counter()
    report("Python", started)
    django.setup()
    importlib.import_module("config.urls")
    report("Django and URLs", started)
    from claims.matching import sentence_encoder

    started = time.perf_counter()
    sentence_encoder()
    report("encoder loaded", started)
    from claims import similarity

    started = time.perf_counter()
    synced = similarity._SyncedIndex(writable=False)
    report(f"saved graph loaded ({len(synced.index):,} claims)", started)
    started = time.perf_counter()
    synced.sync()
    report(f"first sync ({len(synced.index):,} claims)", started)
    similarity._process_index = synced
    from claims.models import Claim

    started = time.perf_counter()
    similarity.claims_similar(text=QUERY, visible=Claim.objects.all())
    report("first search", started)


def web_workers(workers: int, texts: list[str], *, preload: bool) -> None:
    """Starts gunicorn as the Procfile does, has it answer the texts, and prints each worker's memory."""
    from tests.processes import WebProcess

    server = WebProcess(
        {"LOG_LEVEL": "WARNING", "API_THROTTLE_ANON": "none"},
        workers=workers,
        threads=4,
        config=GUNICORN_CONFIG if preload else None,
    )
    server.start()
    try:
        master = server.pid
        children = Path(f"/proc/{master}/task/{master}/children")
        deadline = time.monotonic() + 60
        while len(children.read_text().split()) < workers and time.monotonic() < deadline:
            time.sleep(0.2)
        pids = [int(pid) for pid in children.read_text().split()]
        print(f"gunicorn master: {memory_line(memory_mb(master))}")
        for pid in pids:
            print(f"  worker {pid} started: {memory_line(memory_mb(pid))}", flush=True)

        def ask(text: str) -> int:
            query = urllib.parse.urlencode({"text": text})
            with urllib.request.urlopen(
                f"{server.base_url}/api/v1/claims/similar/?{query}", timeout=600
            ) as answer:
                return len(json.load(answer)["results"])

        started = time.perf_counter()
        # One request per worker at first, each answered by whichever worker accepts it.
        found = [ask(QUERY) for _ in pids]
        print(f"First searches answered in {time.perf_counter() - started:.1f} s ({found} similar claims)")
        for text in texts:
            ask(text)
        print(f"After {len(pids) + len(texts)} searches (load average {os.getloadavg()[0]:.1f}):")
        print(f"  gunicorn master: {memory_line(memory_mb(master))}")
        for pid in pids:
            memory = memory_mb(pid)
            verdict = "met" if memory["rss"] <= TARGET_RSS_MB else "MISSED"
            print(
                f"  worker {pid}: {memory_line(memory)}  target RSS <= {TARGET_RSS_MB:.0f} MB {verdict};"
                f" of the RSS, {graph_rss_mb(pid):.0f} MB are pages of the mapped graph file"
            )
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--claims", type=int, default=100_000, help="claims in the database (>= 160)")
    parser.add_argument(
        "--searches", type=int, default=300, help="searches (the fixture's queries) before the figure"
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (the Procfile's default: 2)")
    parser.add_argument(
        "--no-preload", action="store_true", help=f"without the Procfile's {GUNICORN_CONFIG} (no preloading)"
    )
    parser.add_argument("--steps", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.steps:
        steps()
        return
    django.setup()
    from claim_matching import fixture_load
    from django.db import connection

    print(f"Database: {connection.vendor} ({connection.settings_dict['NAME']})", flush=True)
    database_fill(arguments.claims)
    print(f"\nA process loading what a web worker loads (load average {os.getloadavg()[0]:.1f}):")
    lines = subprocess.run(
        [sys.executable, __file__, "--steps"], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    for line in lines:
        step = json.loads(line)
        print(f"  {step['step']:<40} {step['seconds']:6.1f} s  {memory_line(step)}")
    print()
    _, queries = fixture_load()
    web_workers(
        arguments.workers,
        [query.text for query in queries][: arguments.searches],
        preload=not arguments.no_preload,
    )


if __name__ == "__main__":
    main()
