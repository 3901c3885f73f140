"""Benchmark of the fetch pipeline: sources through real workers, broker and database vs the floor.

A local origin (benchmarks/origin.py) answers on 127.0.0.2 ... 127.0.0.51 after 100 ms with
30-100 KB article pages. The same N sources are fetched twice:

- floor (benchmarks/floor_fetch.py): sources.fetcher.fetch in processes x threads, no framework;
- pipeline, per broker/database pair: a fresh, migrated database with one source, claim and
  evidence per article; the fetches are queued with sources.services.source_request_fetch in one
  transaction (as evidence_add does, once per source) and run by `celery worker --pool=threads`
  processes; the clock stops when every source has its snapshot.

It prints sources per second, pipeline time / floor time and the workers' peak RSS against the
targets (>= 100 sources/s, <= 1.5 x the floor, <= 300 MB per worker) and exits 0 either way.
All traffic stays on 127.0.0.0/8; every process it starts is stopped on exit or Ctrl-C.

    .venv/bin/python benchmarks/fetch_pipeline.py [--sources 1000] [--pair sqlite|postgres|both]
        [--workers 4] [--threads 4] [--profile] [--database NAME] [--redis-db N]

The default shape, 4 processes of 4 threads, is 16 fetches at once (as two `make run` workers of
the product's default of 2 processes x 4 threads) in processes of the product's default size.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from origin import (  # noqa: E402
    DEFAULT_SEED,
    CpuWindow,
    Origin,
    article,
    article_url,
    die_with_parent,
    proc_status_kb,
    process_tree,
    stop_process,
)

from tests.processes import WorkerProcess  # noqa: E402

TARGET_PER_SECOND = 100.0
TARGET_RATIO = 1.5
TARGET_RSS_MB = 300.0
# The database (dropped and recreated) and the Redis db (flushed) of the PostgreSQL + Redis run;
# --database and --redis-db (or BENCH_FETCH_DATABASE / BENCH_FETCH_REDIS_DB) keep concurrent runs
# on one machine out of each other's way.
POSTGRES_SERVER = "postgres://postgres@127.0.0.1:5432"
REDIS_SERVER = "redis://127.0.0.1:6379"
DEFAULT_DATABASE = "verifier_bench_fetch"
DEFAULT_REDIS_DB = 7
PAIRS = {
    "sqlite": "SQLite + filesystem broker",
    "postgres": "PostgreSQL + Redis",
}


def _postgres_url(database: str) -> str:
    return f"{POSTGRES_SERVER}/{database}"


def _redis_url(redis_db: int) -> str:
    return f"{REDIS_SERVER}/{redis_db}"


def _pair_env(pair: str, var_dir: Path, port: int, database: str, redis_db: int) -> dict[str, str]:
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "VERIFIER_VAR_DIR": str(var_dir),
        "SOURCES_ALLOW_PRIVATE_NETWORKS": "1",
        "SOURCES_ALLOWED_PORTS": str(port),
        "LOG_LEVEL": "INFO",
    }
    for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "FILESYSTEM_BROKER_DIR",
                 "MEDIA_ROOT", "SNAPSHOT_STORAGE_BACKEND"):
        os.environ.pop(name, None)
    if pair == "postgres":
        env.update(DATABASE_URL=_postgres_url(database), REDIS_URL=_redis_url(redis_db))
    return env


def _reset_postgres_and_redis(database: str, redis_db: int) -> None:
    import psycopg
    import redis

    with psycopg.connect(_postgres_url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database}"')
    redis.Redis.from_url(_redis_url(redis_db)).flushdb()


class Workers:
    """`celery worker --pool=threads` processes (tests.processes.WorkerProcess), each with its log
    file; optionally under py-spy."""

    def __init__(self, *, count: int, threads: int, env: dict[str, str], log_dir: Path) -> None:
        self.processes = [
            WorkerProcess(
                env, pool="threads", concurrency=threads, node_name=f"bench{index}@%h",
                log_path=log_dir / f"worker-{index}.log",
            )
            for index in range(count)
        ]
        self.profilers: list[subprocess.Popen[bytes]] = []

    def start(self, timeout: float) -> None:
        for worker in self.processes:
            worker.start(ready_timeout=timeout)

    def profile(self, out_dir: Path) -> None:
        py_spy = Path(sys.executable).parent / "py-spy"
        for index, worker in enumerate(self.processes):
            self.profilers.append(subprocess.Popen(
                [str(py_spy), "record", "--pid", str(worker.pid), "--format", "raw", "--rate", "200",
                 "--gil", "--output", str(out_dir / f"profile-{index}.txt"), "--nonblocking"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=die_with_parent,
            ))
        time.sleep(1.0)  # py-spy attaches asynchronously

    def stop_profiling(self) -> None:
        for profiler in self.profilers:
            if profiler.poll() is None:
                profiler.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
        for profiler in self.profilers:
            try:
                profiler.wait(30)
            except subprocess.TimeoutExpired:
                profiler.kill()

    def peak_rss_mb(self) -> list[float]:
        return [
            round(sum(proc_status_kb(pid, "VmHWM") for pid in process_tree(worker.pid)) / 1024, 1)
            for worker in self.processes
        ]

    def pids(self) -> set[int]:
        """Every process of every worker: the main process and its pool's children."""
        return {pid for worker in self.processes for pid in process_tree(worker.pid)}

    def host_busy_requeues(self) -> int:
        return sum(worker.log().count("'host busy'") for worker in self.processes)

    def stop(self) -> None:
        self.stop_profiling()
        for worker in self.processes:
            worker.stop()


def _our_server(database: str) -> Callable[[int, str], bool]:
    """The Redis server, or a PostgreSQL backend serving the benchmark's database."""

    def is_ours(pid: int, name: str) -> bool:
        if name == "redis-server":
            return True
        # A backend's command line reads "postgres: user database host(port) state".
        command_line = _read(Path(f"/proc/{pid}/cmdline")).replace("\0", " ")
        return name == "postgres" and f" {database} " in command_line

    return is_ours


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def drive(*, pair: str, port: int, sources: int, workers: int, threads: int, timeout: float,
          profile_dir: Path | None, keep: bool, origin_pid: int, database: str,
          redis_db: int) -> dict[str, Any]:
    """One pipeline run in this process (Django configured for `pair`); figures as a dict."""
    var_dir = Path(tempfile.mkdtemp(prefix=f"verifier-bench-{pair}-"))
    env = _pair_env(pair, var_dir, port, database, redis_db)
    os.environ.update(env)
    if pair == "postgres":
        _reset_postgres_and_redis(database, redis_db)

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import transaction

    from claims.models import Claim, Claimant, Evidence
    from sources.fetcher import check_url
    from sources.models import Snapshot, Source
    from sources.services import fetch_limits, source_request_fetch

    call_command("migrate", verbosity=0)
    warmup = workers * threads * 2
    limits = fetch_limits()
    actor = get_user_model().objects.create_user("bench", password=None)
    claimant = Claimant.objects.create(name="Benchmark claimant")

    def seed(indexes: range) -> list[int]:
        created = Source.objects.bulk_create(
            [Source(url=check_url(article_url(i, port), limits)) for i in indexes]
        )
        claims = Claim.objects.bulk_create(
            [Claim(text=f"Claim {i}", claimant=claimant, created_by=actor) for i in indexes]
        )
        Evidence.objects.bulk_create(
            Evidence(claim=claim, source=source, quote=article(i, DEFAULT_SEED)[1],
                     stance=Evidence.Stance.SUPPORTS, author=actor)
            for i, claim, source in zip(indexes, claims, created, strict=True)
        )
        return [source.pk for source in created]

    warmup_ids = seed(range(sources, sources + warmup))
    bench_ids = seed(range(sources))

    def wait_for(ids: list[int], deadline: float) -> int:
        # A range, not the list of ids: this count runs 20 times a second beside the workers.
        assert ids == list(range(ids[0], ids[-1] + 1)), "bulk_create gave non-consecutive ids"
        finished_ids = Source.objects.filter(
            pk__gte=ids[0], pk__lte=ids[-1], status__in=[Source.Status.FETCHED, Source.Status.FAILED]
        )
        done = 0
        while time.monotonic() < deadline:
            done = finished_ids.count()
            if done == len(ids):
                break
            time.sleep(0.05)
        return done

    pool = Workers(count=workers, threads=threads, env=env, log_dir=var_dir)
    try:
        pool.start(timeout=60)
        # Imports, connections and first-call costs of every worker thread are paid before timing.
        with transaction.atomic():
            for source in Source.objects.filter(pk__in=warmup_ids).order_by("pk"):
                source_request_fetch(source=source)
        if wait_for(warmup_ids, time.monotonic() + 60) < len(warmup_ids):
            raise RuntimeError("the warm-up fetches did not finish within 60 s")
        if profile_dir is not None:
            pool.profile(profile_dir)
        # In the order the evidence arrived, so consecutive fetches go to different hosts.
        to_queue = list(Source.objects.filter(pk__in=bench_ids).order_by("pk").only("pk"))
        window = CpuWindow()
        window.start()
        started = time.monotonic()
        with transaction.atomic():
            for source in to_queue:
                source_request_fetch(source=source)
        queued = time.monotonic() - started
        done = wait_for(bench_ids, started + timeout)
        seconds = time.monotonic() - started

        worker_pids = pool.pids()
        cpu = window.stop({
            "workers": lambda pid, name: pid in worker_pids,
            "driver": lambda pid, name: pid == os.getpid(),
            "origin": lambda pid, name: pid == origin_pid,
            "db+broker": _our_server(database),
        })
        peak_rss = pool.peak_rss_mb()
        pool.stop_profiling()
    finally:
        pool.stop()
    snapshots = Snapshot.objects.filter(source_id__in=bench_ids)
    evidence = Evidence.objects.filter(source_id__in=bench_ids)
    host_busy = pool.host_busy_requeues()
    figures = {
        "pair": pair,
        "sources": sources,
        "done": done,
        "workers": workers,
        "threads": threads,
        "seconds": seconds,
        "queue_seconds": queued,
        "per_second": done / seconds,
        "peak_rss_mb": peak_rss,
        "cpu": cpu,
        "snapshots": snapshots.count(),
        "outcomes": dict(Counter(snapshots.values_list("outcome", flat=True))),
        "quotes": dict(Counter(evidence.values_list("quote_status", flat=True))),
        "host_busy_requeues": host_busy,
        "var_dir": str(var_dir) if keep or profile_dir else "",
    }
    if not (keep or profile_dir):
        shutil.rmtree(var_dir, ignore_errors=True)
    return figures


def _run_json(command: list[str], timeout: float) -> dict[str, Any]:
    """Run a benchmark part in its own process and return the JSON on its last output line."""
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True,
                               preexec_fn=die_with_parent)
    try:
        output, _ = process.communicate(timeout=timeout)
    finally:
        stop_process(process)
    lines = output.strip().splitlines()
    if process.returncode != 0 or not lines:
        raise RuntimeError(f"{' '.join(command[1:3])} failed (exit {process.returncode})")
    return json.loads(lines[-1])


def summarize_profile(paths: list[Path], top: int = 12) -> str:
    """Where the workers held the GIL, from py-spy's raw samples: this project's functions
    (inclusive) and the functions running at the moment of the sample (self)."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for path in paths:
        for line in _read(path).splitlines():
            stack, _, count_text = line.rpartition(" ")
            if not stack or not count_text.isdigit():
                continue
            count = int(count_text)
            frames = stack.split(";")
            total += count
            own[_frame_name(frames[-1])] += count
            ours = {_frame_name(frame) for frame in frames if _is_project_frame(frame)}
            for name in ours:
                inclusive[name] += count
    if not total:
        return "  (no samples)"
    lines = [f"  {total} samples; this project's functions, inclusive:"]
    lines += [f"    {100 * n / total:5.1f}%  {name}" for name, n in inclusive.most_common(top)]
    lines.append("  running at the time of the sample (self):")
    lines += [f"    {100 * n / total:5.1f}%  {name}" for name, n in own.most_common(top)]
    return "\n".join(lines)


_PACKAGES = {path.name for path in ROOT.iterdir() if (path / "__init__.py").exists()}


def _is_project_frame(frame: str) -> bool:
    """py-spy names files relative to sys.path: ours start with one of the project's packages."""
    return frame.partition(" (")[2].split("/", 1)[0] in _PACKAGES


def _frame_name(frame: str) -> str:
    """'func (/path/to/package/module.py:12)' -> 'func (package/module.py)'."""
    name, _, where = frame.partition(" (")
    parts = where.rstrip(")").rsplit(":", 1)[0].split("/")
    return f"{name} ({'/'.join(parts[-2:])})" if parts[-1] else name


def _cpu(cpu: dict[str, float]) -> str:
    """'workers 30.1, driver 1.2, ..., other 0.3 (machine busy 1.9 cores)'."""
    parts = ", ".join(
        f"{name} {value}" for name, value in cpu.items() if name not in ("busy_cores", "steal")
    )
    return (
        f"{parts} (machine busy {cpu['busy_cores']} of {os.cpu_count()} cores, "
        f"hypervisor steal {cpu.get('steal', 0)} s)"
    )


def _mark(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def report(floor: dict[str, Any], runs: list[dict[str, Any]]) -> str:
    rows = [
        f"floor: {floor['sources']} sources in {floor['seconds']:.2f} s = "
        f"{floor['per_second']:.1f}/s with {floor['processes']} processes x {floor['threads']} "
        f"threads, outcomes {floor['outcomes']}, peak RSS {floor['peak_rss_mb']} MB, "
        f"CPU s {_cpu(floor['cpu'])}",
        "",
        f"{'pair':<28}{'done':>11}{'seconds':>9}{'sources/s':>16}{'vs floor':>15}"
        f"{'peak RSS per worker (MB)':>34}",
    ]
    for run in runs:
        ratio = run["seconds"] / floor["seconds"]
        rate_ok = run["per_second"] >= TARGET_PER_SECOND and run["done"] == run["sources"]
        rss = run["peak_rss_mb"]
        rows.append(
            f"{PAIRS[run['pair']]:<28}{run['done']:>5}/{run['sources']:<5}{run['seconds']:>9.2f}"
            f"{run['per_second']:>9.1f} {_mark(rate_ok):>6}{ratio:>8.2f}x {_mark(ratio <= TARGET_RATIO):>6}"
            f"{', '.join(f'{mb:.0f}' for mb in rss):>27} {_mark(max(rss) <= TARGET_RSS_MB):>6}"
        )
    rows.append(
        f"targets: >= {TARGET_PER_SECOND:g} sources/s, <= {TARGET_RATIO:g}x the floor, "
        f"<= {TARGET_RSS_MB:g} MB per worker"
    )
    for run in runs:
        rows.append(
            f"{run['pair']}: {run['workers']} workers x {run['threads']} threads, queued in "
            f"{run['queue_seconds']:.2f} s, CPU s {_cpu(run['cpu'])}, "
            f"{run['snapshots']} snapshots, outcomes {run['outcomes']}, quotes {run['quotes']}, "
            f"host-busy requeues {run['host_busy_requeues']}"
            + (f", files in {run['var_dir']}" if run["var_dir"] else "")
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sources", type=int, default=1000)
    parser.add_argument("--pair", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--workers", type=int, default=4, help="worker processes")
    parser.add_argument(
        "--threads", type=int, default=4, help="--concurrency of each worker (WORKER_CONCURRENCY's default)"
    )
    parser.add_argument("--timeout", type=float, default=300.0, help="limit per timed run, seconds")
    parser.add_argument("--profile", action="store_true",
                        help="sample the workers with py-spy during the timed run")
    parser.add_argument("--keep", action="store_true", help="keep each run's var directory")
    parser.add_argument(
        "--database", default=os.environ.get("BENCH_FETCH_DATABASE", DEFAULT_DATABASE),
        help="PostgreSQL database of the postgres run, dropped and recreated (BENCH_FETCH_DATABASE)",
    )
    parser.add_argument(
        "--redis-db", type=int, default=int(os.environ.get("BENCH_FETCH_REDIS_DB", DEFAULT_REDIS_DB)),
        help="Redis db of the postgres run, flushed (BENCH_FETCH_REDIS_DB)",
    )
    parser.add_argument("--drive", choices=list(PAIRS), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--origin-pid", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--profile-dir", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    # SIGTERM unwinds like Ctrl-C, so every `finally` stops the processes it started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    if args.drive:
        figures = drive(
            pair=args.drive, port=args.port, sources=args.sources, workers=args.workers,
            threads=args.threads, timeout=args.timeout, keep=args.keep, origin_pid=args.origin_pid,
            profile_dir=Path(args.profile_dir) if args.profile_dir else None,
            database=args.database, redis_db=args.redis_db,
        )
        print(json.dumps(figures))
        return

    if args.profile and not (Path(sys.executable).parent / "py-spy").exists():
        parser.error("--profile needs py-spy: .venv/bin/pip install py-spy")
    pairs = list(PAIRS) if args.pair == "both" else [args.pair]
    warmup = args.workers * args.threads * 2
    part_timeout = args.timeout + 180
    runs = []
    with Origin(pages=args.sources + warmup) as origin:
        print(f"origin on 127.0.0.2-51:{origin.port}; floor ...", file=sys.stderr, flush=True)
        floor = _run_json(
            [sys.executable, str(ROOT / "benchmarks" / "floor_fetch.py"), "--json",
             "--port", str(origin.port), "--origin-pid", str(origin.pid),
             "--sources", str(args.sources), "--processes", str(args.workers), "--threads", str(args.threads),
             "--timeout", str(args.timeout)],
            part_timeout,
        )
        for pair in pairs:
            print(f"pipeline with {PAIRS[pair]} ...", file=sys.stderr, flush=True)
            profile_dir = None
            if args.profile:
                profile_dir = Path(tempfile.mkdtemp(prefix=f"verifier-profile-{pair}-"))
            command = [
                sys.executable, str(Path(__file__).resolve()), "--drive", pair,
                "--port", str(origin.port), "--origin-pid", str(origin.pid),
                "--sources", str(args.sources), "--workers", str(args.workers),
                "--threads", str(args.threads), "--timeout", str(args.timeout),
                "--database", args.database, "--redis-db", str(args.redis_db),
            ]
            if args.keep:
                command.append("--keep")
            if profile_dir is not None:
                command += ["--profile-dir", str(profile_dir)]
            run = _run_json(command, part_timeout)
            if profile_dir is not None:
                run["profile"] = summarize_profile(sorted(profile_dir.glob("profile-*.txt")))
            runs.append(run)
    print(report(floor, runs))
    for run in runs:
        if "profile" in run:
            print(f"\nprofile of the {PAIRS[run['pair']]} workers (py-spy, on-CPU samples):")
            print(run["profile"])


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # every process started is stopped by the `finally` blocks
        sys.exit(130)
