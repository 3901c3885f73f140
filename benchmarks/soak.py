"""Soak of the embedded default pair (SQLite + filesystem broker) under `make run`'s own processes.

`python -m config.supervisor` starts web, worker and beat from the Procfile with `make run`'s
defaults, in a fresh VERIFIER_VAR_DIR, and benchmarks/origin.py answers on 127.0.0.2 ... 127.0.0.51
(counting the requests per article). For --duration seconds:

- intake: --sources evidence items (one fetch each) posted through the write API during the first
  60 % of the run, in bursts of --burst items on one host, so fetches wait for a free host slot;
- readers: --readers threads reading the API as staff (claim list, one claim) and /healthz, each
  pausing --reader-pause seconds between requests;
- kills: --kills SIGKILLs of the worker spread over the intake; supervisord restarts it.

After --duration, intake, readers and kills stop and the fetches still unfinished get --drain
seconds to finish. Then it prints crashes (process exits nobody planned, unrecoverable errors,
parked messages), lost fetches (sources never finished), duplicated snapshots, origin hits per
source, the recovery time after each kill (p50/p99 over the fetches unfinished at the kill, from
the worker's restart to their snapshot) and the processes' RSS over time. It exits by itself,
stops every process it started, and exits 0 whatever the figures.

    .venv/bin/python benchmarks/soak.py [--duration 600] [--sources 2000] [--readers 20] [--kills 3]
        [--burst 20] [--reader-pause 0.5] [--drain 120] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from origin import (  # noqa: E402
    DEFAULT_SEED,
    HOSTS,
    Origin,
    article,
    article_url,
    die_with_parent,
    proc_status_kb,
    process_tree,
)

PROGRAMS = ("web", "worker", "beat")
INTAKE_SHARE = 0.6
# What the worker logs for a fetch that waited for a free host slot.
HOST_BUSY = "'host busy'"
INTAKE_THREADS = 8


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


class Service:
    """`python -m config.supervisor` and what its output says about the processes it runs."""

    def __init__(self, *, env: dict[str, str], log: Path, port: int) -> None:
        self.env, self.log_path, self.port = env, log, port
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 120.0) -> None:
        with self.log_path.open("ab") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "config.supervisor"], cwd=ROOT, env=self.env, stdout=output,
                stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=die_with_parent,
            )
        deadline = time.monotonic() + timeout
        while not self.ready():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the service did not start:\n{self.log()[-3000:]}")
            time.sleep(0.2)

    def ready(self) -> bool:
        log = self.log()
        running = all(f"success: {name} entered RUNNING state" in log for name in PROGRAMS)
        return running and "ready." in log and self.answers()

    def answers(self) -> bool:
        with socket.socket() as probe:
            probe.settimeout(0.5)
            return probe.connect_ex(("127.0.0.1", self.port)) == 0

    def log(self) -> str:
        return read(self.log_path)

    def pid(self, program: str) -> int:
        """The pid supervisord last started `program` with."""
        return int(re.findall(rf"spawned: '{program}' with pid (\d+)", self.log())[-1])

    def workers_ready(self) -> int:
        return self.log().count("ready.")

    def ready_worker(self) -> int | None:
        """The pid of the worker supervisord last started, if it is alive and has said it is ready."""
        log = self.log()
        spawned = re.findall(r"spawned: 'worker' with pid (\d+)", log)
        # Between a worker's exit and its successor's spawn, the last pid logged is the dead one.
        if log.count("ready.") < len(spawned) or log.rfind("exited: worker") > log.rfind("spawned: 'worker'"):
            return None
        pid = int(spawned[-1])
        return pid if Path(f"/proc/{pid}").exists() else None

    def stop(self) -> None:
        """Ctrl-C: supervisord stops its processes, then exits; killed if it does not."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(90)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@dataclass
class Kill:
    at: float  # wall clock
    pid: int
    unfinished: set[int]
    ready_before: int
    restarted_at: float | None = None


@dataclass
class Traffic:
    """What the intake and the readers saw."""

    posted: int = 0
    post_failures: Counter[str] = field(default_factory=Counter)
    reads: int = 0
    read_failures: Counter[str] = field(default_factory=Counter)
    claim_ids: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def request(url: str, token: str, payload: dict[str, Any] | None = None) -> tuple[int, Any]:
    data = json.dumps(payload).encode() if payload is not None else None
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    req = urllib.request.Request(url, data=data, headers=headers, method="POST" if data else "GET")
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, None


def intake_plan(sources: int, burst: int) -> list[list[int]]:
    """Article indexes in bursts, each burst on a single host."""
    bursts = []
    for host in range(len(HOSTS)):
        on_host = list(range(host, sources, len(HOSTS)))
        bursts += [on_host[start : start + burst] for start in range(0, len(on_host), burst)]
    return bursts


def run_intake(*, base: str, token: str, port: int, plan: list[list[int]], window: float,
               traffic: Traffic, stop: threading.Event) -> None:
    started = time.monotonic()
    for number, burst in enumerate(plan):
        wait = started + window * number / len(plan) - time.monotonic()
        if stop.wait(max(0.0, wait)):
            return
        status, claim = request(
            f"{base}/api/v1/claims/", token, {"text": f"Soak claim {number}", "claimant": "Soak claimant"}
        )
        if status != 201:
            traffic.post_failures[f"claim {status}"] += 1
            continue
        with traffic.lock:
            traffic.claim_ids.append(claim["id"])

        def post_evidence(index: int, claim_id: int = claim["id"]) -> None:
            status, _ = request(
                f"{base}/api/v1/claims/{claim_id}/evidence/", token,
                {"url": article_url(index, port), "quote": article(index, DEFAULT_SEED)[1],
                 "stance": "supports"},
            )
            with traffic.lock:
                if status == 201:
                    traffic.posted += 1
                else:
                    traffic.post_failures[f"evidence {status}"] += 1

        # At once, as several fact-checkers citing the same site would.
        with ThreadPoolExecutor(max_workers=INTAKE_THREADS) as pool:
            list(pool.map(post_evidence, burst))


def run_reader(*, base: str, token: str, pause: float, traffic: Traffic, stop: threading.Event) -> None:
    rng = random.Random()
    while not stop.wait(pause):
        with traffic.lock:
            claim_id = rng.choice(traffic.claim_ids) if traffic.claim_ids else None
        path = rng.choice(["/api/v1/claims/?status=draft&page_size=20", "/healthz"]
                          + ([f"/api/v1/claims/{claim_id}/"] if claim_id else []))
        try:
            status, _ = request(base + path, token)
        except OSError as error:
            status, failure = 0, type(error).__name__
        else:
            failure = f"{status}" if status >= 500 else ""
        with traffic.lock:
            traffic.reads += 1
            if failure:
                traffic.read_failures[failure] += 1


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (gunicorn's workers)."""
    return round(sum(proc_status_kb(member, "VmRSS") for member in process_tree(pid)) / 1024, 1)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def soak(args: argparse.Namespace) -> str:
    var_dir = Path(tempfile.mkdtemp(prefix="verifier-soak-"))
    hits_file = var_dir / "origin-hits.json"
    web_port = free_port()
    with Origin(pages=min(args.sources, 1000), hits_file=hits_file) as origin:
        for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "FILESYSTEM_BROKER_DIR",
                     "MEDIA_ROOT", "SNAPSHOT_STORAGE_BACKEND"):
            os.environ.pop(name, None)
        os.environ.update({
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "VERIFIER_VAR_DIR": str(var_dir),
            "SOURCES_ALLOW_PRIVATE_NETWORKS": "1",
            "SOURCES_ALLOWED_PORTS": str(origin.port),
            # The readers and the intake share one token; the soak measures faults, not throttling.
            "API_THROTTLE_ANON": "none",
            "API_THROTTLE_USER": "none",
            "WEB_BIND": f"127.0.0.1:{web_port}",
            # One worker process (supervisord's program "worker"), the one the kills aim at.
            "WORKER_PROCESSES": "1",
        })
        import django

        django.setup()
        from django.contrib.auth.models import Group, User
        from django.core.management import call_command
        from rest_framework.authtoken.models import Token

        from core.roles import FACT_CHECKERS

        call_command("migrate", verbosity=0)
        user = User.objects.create_user("soak", is_staff=True)
        user.groups.add(Group.objects.get(name=FACT_CHECKERS))
        token = Token.objects.create(user=user).key

        service = Service(env=dict(os.environ), log=var_dir / "service.log", port=web_port)
        stop = threading.Event()
        threads: list[threading.Thread] = []
        try:
            report = drive(args, service=service, token=token, port=origin.port, stop=stop,
                           threads=threads)
        finally:
            stop.set()
            for thread in threads:
                thread.join(60)
            service.stop()
    report += figures_after(args, service=service, hits_file=hits_file)
    if args.keep:
        report += f"\nfiles: {var_dir}"
    else:
        shutil.rmtree(var_dir, ignore_errors=True)
    return report


def drive(args: argparse.Namespace, *, service: Service, token: str, port: int, stop: threading.Event,
          threads: list[threading.Thread]) -> str:
    from django.utils import timezone

    from sources.models import Source

    service.start()
    base = f"http://127.0.0.1:{service.port}"
    traffic = Traffic()
    window = args.duration * INTAKE_SHARE
    started = time.monotonic()
    threads.append(threading.Thread(target=run_intake, kwargs=dict(
        base=base, token=token, port=port, plan=intake_plan(args.sources, args.burst), window=window,
        traffic=traffic, stop=stop)))
    threads += [
        threading.Thread(target=run_reader, kwargs=dict(
            base=base, token=token, pause=args.reader_pause, traffic=traffic, stop=stop))
        for _ in range(args.readers)
    ]
    for thread in threads:
        thread.start()

    # Each kill waits until the worker (restarted after the last one) is ready and fetching, so
    # every kill interrupts fetches.
    kill_times = [started + window * (n + 1) / (args.kills + 1) for n in range(args.kills)]
    sample_every = max(2.0, args.duration / 20)
    next_sample = started
    rss_rows: list[str] = []
    drain_rows: list[str] = []
    kills: list[Kill] = []
    unfinished = Source.objects.exclude(status__in=[Source.Status.FETCHED, Source.Status.FAILED])
    fetching = Source.objects.filter(status=Source.Status.FETCHING)
    # Fetches a killed worker left "fetching" stay so: only those started since count as work.
    ready_since = timezone.now()
    while True:
        now = time.monotonic()
        if now >= next_sample:
            pids = {name: service.pid(name) for name in PROGRAMS}
            assert service.process is not None
            rss_rows.append(
                f"{now - started:7.0f} s {rss_mb(pids['web']):9.1f} {rss_mb(pids['worker']):9.1f} "
                f"{rss_mb(pids['beat']):9.1f} {proc_status_kb(service.process.pid, 'VmRSS') / 1024:11.1f}"
            )
            next_sample += sample_every
        worker = service.ready_worker()
        if (kill_times and now >= kill_times[0] and worker is not None
                and fetching.filter(fetch_started_at__gte=ready_since).exists()):
            kill_times.pop(0)
            kill = Kill(at=time.time(), pid=worker, unfinished=set(unfinished.values_list("pk", flat=True)),
                        ready_before=service.workers_ready())
            os.kill(kill.pid, signal.SIGKILL)
            kills.append(kill)
        for kill in kills:
            if kill.restarted_at is None and service.workers_ready() > kill.ready_before:
                kill.restarted_at = time.time()
                ready_since = timezone.now()
        intake_done = not threads[0].is_alive()
        everything_done = intake_done and not kill_times and not unfinished.exists()
        # The readers go on for the whole --duration, even when every fetch is done, so that the
        # RSS figures cover it.
        if now - started >= args.duration + (0 if everything_done else args.drain):
            break
        if now - started >= args.duration and not stop.is_set():
            # The run is over: no more intake, reads or kills; what is still unfinished gets
            # --drain seconds to finish before it counts as lost.
            stop.set()
            kill_times.clear()
            drain_rows.append(
                f"unfinished at the end of the run ({now - started:.0f} s): {unfinished.count()}"
            )
        time.sleep(0.5)
    seconds = time.monotonic() - started
    if stop.is_set():
        drain_rows.append(f"unfinished after the drain ({seconds:.0f} s): {unfinished.count()}")
    return report_during(args, seconds=seconds, traffic=traffic, kills=kills, rss_rows=rss_rows + drain_rows)


def report_during(args: argparse.Namespace, *, seconds: float, traffic: Traffic, kills: list[Kill],
                  rss_rows: list[str]) -> str:
    from django.db.models import Min

    from sources.models import Snapshot

    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    rows = [
        f"soak of SQLite + filesystem broker under config.supervisor: {seconds:.0f} s "
        f"(--duration {args.duration:g}), {args.sources} sources over {len(HOSTS)} hosts in bursts "
        f"of {args.burst}, {args.readers} readers, {args.kills} worker kills",
        f"machine: {os.cpu_count()} cores, load average at the end {load} (other work on the machine "
        "slows start-ups and fetches)",
        f"intake: {traffic.posted} evidence posted, failures {dict(traffic.post_failures) or 'none'}",
        f"readers: {traffic.reads} requests, failures (5xx or no answer) "
        f"{dict(traffic.read_failures) or 'none'}",
    ]
    if len(kills) < args.kills:
        rows.append(f"kills: {len(kills)} of {args.kills} (the worker was never ready and fetching again)")
    for number, kill in enumerate(kills, start=1):
        if kill.restarted_at is None:
            rows.append(f"kill {number}: worker {kill.pid}; no restart seen")
            continue
        done_at = {
            row["source_id"]: row["first"].timestamp()
            for row in Snapshot.objects.filter(source_id__in=kill.unfinished)
            .values("source_id").annotate(first=Min("fetched_at"))
        }
        recovery = [max(0.0, done_at[pk] - kill.restarted_at) for pk in kill.unfinished if pk in done_at]
        figures = (
            f"p50 {statistics.median(recovery):.1f} s, p99 {percentile(recovery, 0.99):.1f} s"
            if recovery else "none finished"
        )
        rows.append(
            f"kill {number}: worker {kill.pid} at {datetime.fromtimestamp(kill.at):%H:%M:%S}, restarted "
            f"{kill.restarted_at - kill.at:.1f} s later; {len(kill.unfinished)} fetches unfinished at the "
            f"kill, {len(recovery)} done since: recovery after the restart {figures}"
        )
    rows += ["", "RSS (MB)  elapsed       web    worker      beat  supervisord", *rss_rows]
    return "\n".join(rows)


def figures_after(args: argparse.Namespace, *, service: Service, hits_file: Path) -> str:
    from django.db.models import Count

    from sources.models import Snapshot, Source

    log = service.log()
    unexpected = re.findall(r"exited: (\w+) \(([^)]*not expected[^)]*)\)", log)
    planned = sum(1 for name, why in unexpected if name == "worker" and "SIGKILL" in why)
    crashes = [f"{name} ({why})" for name, why in unexpected if not (name == "worker" and "SIGKILL" in why)]
    crashes += [f"{line.strip()}" for line in log.splitlines() if "Unrecoverable error" in line]
    per_source = Counter(
        Source.objects.annotate(snapshot_count=Count("snapshots")).values_list("snapshot_count", flat=True)
    )
    lost = Source.objects.exclude(status__in=[Source.Status.FETCHED, Source.Status.FAILED])
    hits = {int(index): count for index, count in json.loads(read(hits_file) or "{}").items()}
    articles = [int(url.rsplit("/", 1)[1]) for url in Source.objects.values_list("url", flat=True)]
    sources = len(articles)
    hit_counts = Counter(hits.get(index, 0) for index in articles)
    outcomes = Counter(Snapshot.objects.values_list("outcome", flat=True))
    return "\n".join([
        "",
        f"crashes (unplanned exits, unrecoverable errors): {len(crashes)}"
        + "".join(f"\n  {crash}" for crash in crashes[:10]),
        f"planned worker kills seen: {planned}; messages parked as unreadable: "
        f"{log.count('Parked unreadable broker message')}",
        f"sources: {sources}; lost (never finished): {lost.count()} "
        f"{dict(Counter(lost.values_list('status', flat=True)))}",
        f"snapshots: {sum(outcomes.values())} {dict(outcomes)}; duplicated (sources with more than one): "
        f"{sum(n for snapshots, n in per_source.items() if snapshots > 1)}",
        f"origin hits per source: {sum(hits.get(index, 0) for index in articles) / max(1, sources):.2f} "
        f"(sources by hits: {dict(sorted(hit_counts.items()))})",
        f"host-busy requeues: {log.count(HOST_BUSY)}",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=600.0, help="seconds (default 600)")
    parser.add_argument("--sources", type=int, default=2000)
    parser.add_argument("--readers", type=int, default=20)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--burst", type=int, default=20, help="evidence items posted at once, one host")
    parser.add_argument("--reader-pause", type=float, default=0.5, help="seconds between a reader's requests")
    parser.add_argument("--drain", type=float, default=120.0,
                        help="seconds after --duration for unfinished fetches to finish before being lost")
    parser.add_argument("--keep", action="store_true", help="keep the run's var directory and logs")
    args = parser.parse_args()
    # SIGTERM unwinds like Ctrl-C, so every `finally` stops the processes it started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print(soak(args))


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # every process started is stopped by the `finally` blocks
        sys.exit(130)
