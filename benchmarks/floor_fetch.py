"""The floor for benchmarks/fetch_pipeline.py: the same fetches with no framework around them.

Each source is fetched with sources.fetcher.fetch (guard, download, decode, extraction, SHA-256),
under the same limits, the same per-host limit and the same concurrency as the pipeline's
workers (`--processes` x `--threads`), but without Django, Celery, a broker or a database.
Run on its own it starts its own origin: python benchmarks/floor_fetch.py --sources 1000.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from origin import HOSTS, CpuWindow, Origin, article_url, cpu_seconds, proc_status_kb

from sources.fetcher import FetchLimits, fetch

MAX_FETCHES_PER_HOST = 2  # the default of SOURCES_MAX_FETCHES_PER_HOST


def limits_for(port: int) -> FetchLimits:
    """The limits the workers use (config.settings defaults) with the origin's port allowed."""
    return FetchLimits(allow_private_networks=True, allowed_ports=frozenset({port}))


def _fetch_all(urls: list[str], limits: FetchLimits, threads: int) -> Counter[str]:
    host_slots: dict[str, threading.BoundedSemaphore] = {}
    slots_lock = threading.Lock()

    def one(url: str) -> str:
        host = url.split("/")[2].split(":")[0]
        with slots_lock:
            slot = host_slots.setdefault(host, threading.BoundedSemaphore(MAX_FETCHES_PER_HOST))
        with slot:
            return str(fetch(url, limits=limits).outcome)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return Counter(pool.map(one, urls))


def _process_main(
    urls: list[str],
    warmup: list[str],
    port: int,
    threads: int,
    ready: multiprocessing.Queue,
    start: multiprocessing.Event,  # type: ignore[valid-type]
    results: multiprocessing.Queue,
) -> None:
    limits = limits_for(port)
    _fetch_all(warmup, limits, threads)
    ready.put(True)
    start.wait()  # type: ignore[attr-defined]
    outcomes = _fetch_all(urls, limits, threads)
    results.put(
        {
            "finished": time.monotonic(),
            "outcomes": dict(outcomes),
            "peak_rss_kb": proc_status_kb(multiprocessing.current_process().pid or 0, "VmHWM"),
            "cpu_seconds": cpu_seconds(multiprocessing.current_process().pid or 0),
        }
    )


def run_floor(
    *, port: int, sources: int, processes: int, threads: int, timeout: float, origin_pid: int = 0
) -> dict:
    """Fetch articles 0..sources-1 from the origin on `port`; figures as a dict."""
    # Hosts are split between processes so the per-host limit can be kept inside each process.
    urls = [[article_url(i, port) for i in range(sources) if i % len(HOSTS) % processes == p]
            for p in range(processes)]
    warmup = [[article_url(sources + p * threads + i, port) for i in range(threads)]
              for p in range(processes)]
    context = multiprocessing.get_context("spawn")
    ready, results, start = context.Queue(), context.Queue(), context.Event()
    workers = [
        context.Process(
            target=_process_main,
            args=(urls[p], warmup[p], port, threads, ready, start, results),
            daemon=True,
        )
        for p in range(processes)
    ]
    try:
        for worker in workers:
            worker.start()
        for _ in workers:
            ready.get(timeout=timeout)
        window = CpuWindow()
        window.start()
        started = time.monotonic()
        start.set()
        reports = [results.get(timeout=timeout) for _ in workers]
        floor_pids = {worker.pid for worker in workers}
        cpu = window.stop({
            "floor": lambda pid, name: pid in floor_pids,
            "origin": lambda pid, name: pid == origin_pid,
        })
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
            worker.join(5)
    seconds = max(report["finished"] for report in reports) - started
    outcomes: Counter[str] = Counter()
    for report in reports:
        outcomes.update(report["outcomes"])
    return {
        "sources": sources,
        "processes": processes,
        "threads": threads,
        "seconds": seconds,
        "per_second": sources / seconds,
        "outcomes": dict(outcomes),
        "peak_rss_mb": [round(report["peak_rss_kb"] / 1024, 1) for report in reports],
        "cpu_seconds": round(sum(report["cpu_seconds"] for report in reports), 1),
        "cpu": cpu,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=1000)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4, help="threads per process")
    parser.add_argument("--port", type=int, default=0, help="a running origin (default: start one)")
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--origin-pid", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    figures: dict
    if args.port:
        figures = run_floor(port=args.port, sources=args.sources, processes=args.processes,
                            threads=args.threads, timeout=args.timeout, origin_pid=args.origin_pid)
    else:
        with Origin(pages=args.sources + args.threads * args.processes) as origin:
            figures = run_floor(port=origin.port, sources=args.sources, processes=args.processes,
                                threads=args.threads, timeout=args.timeout, origin_pid=origin.pid)
    if args.json:
        print(json.dumps(figures))
    else:
        print(
            f"floor: {figures['sources']} sources in {figures['seconds']:.2f} s = "
            f"{figures['per_second']:.1f}/s ({figures['processes']} x {figures['threads']} threads), "
            f"outcomes {figures['outcomes']}, peak RSS {figures['peak_rss_mb']} MB, "
            f"CPU {figures['cpu']}"
        )


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # every process started is stopped by the `finally` blocks
        sys.exit(130)
