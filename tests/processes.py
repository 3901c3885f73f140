"""Real service processes (Celery worker, web server, Redis) for end-to-end and fault tests, and
for the benchmarks, which start theirs with the same classes."""

import contextlib
import errno
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

from config.celery import app

ROOT = Path(__file__).resolve().parent.parent
QUEUES = ("fetch", "default")


def database_url_of_this_run() -> str:
    """The URL of the database the test run uses, for a process started outside it."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def purge_queues() -> None:
    """Drops messages a previous run left in the broker, so this worker sees only ours."""
    with app.connection_for_write() as conn:
        channel = conn.default_channel
        for queue in QUEUES:
            try:
                channel.queue_purge(queue)
            except Exception:  # the queue may not exist yet
                continue
    # And those a killed worker had claimed, which the next worker would otherwise restore.
    claimed_folder = app.conf.broker_transport_options.get("processed_folder")
    if claimed_folder and os.path.isdir(claimed_folder):
        for name in os.listdir(claimed_folder):
            Path(claimed_folder, name).unlink(missing_ok=True)


def process_env(extra_env: dict[str, str]) -> dict[str, str]:
    """The environment of a service process that shares this test run's database and storage."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url_of_this_run(),
        "VERIFIER_VAR_DIR": str(settings.VAR_DIR),
        "FILESYSTEM_BROKER_DIR": str(settings.FILESYSTEM_BROKER_DIR),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        **extra_env,
    }


class ServiceProcess:
    """A child process in its own process group, with its output in a log file."""

    name = "process"

    def __init__(self, extra_env: dict[str, str] | None = None, *, log_path: Path | None = None) -> None:
        self.extra_env = extra_env or {}
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = log_path or Path(tempfile.mkstemp(prefix=f"{self.name}-", suffix=".log")[1])
        self.log_path.touch()  # a restart reads only what follows the size it has now

    def command(self) -> list[str]:
        raise NotImplementedError

    def is_ready(self) -> bool:
        raise NotImplementedError

    def start(self, *, ready_timeout: float = 60.0) -> "ServiceProcess":
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command(), cwd=ROOT, env=process_env(self.extra_env), stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if self.is_ready():
                return self
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.log()}")
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.name} not ready after {ready_timeout} s:\n{self.log()}")

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError(f"{self.name} was never started")
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """Kills the process group at once, as a crash or an OOM kill would."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        self._kill_stragglers()

    def _kill_stragglers(self) -> None:
        """Kills what is left of the process group once its leader has exited (a gunicorn worker
        or a pool child still shutting down), so that no process of this test still holds a
        database connection when the next test, or the test database's teardown, begins."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)


class WorkerProcess(ServiceProcess):
    name = "celery-worker"

    def __init__(
        self,
        extra_env: dict[str, str] | None = None,
        pool: str = "threads",
        concurrency: int = 2,
        *,
        node_name: str | None = None,
        prefetch_multiplier: int | None = None,
        log_path: Path | None = None,
    ) -> None:
        super().__init__(extra_env, log_path=log_path)
        self.pool = pool
        self.concurrency = concurrency
        self.prefetch_multiplier = prefetch_multiplier
        # Several workers on one host need names of their own (celery's -n).
        self.node_name = node_name
        self._log_offset = 0

    def start(self, *, ready_timeout: float = 60.0) -> "WorkerProcess":
        self._log_offset = self.log_path.stat().st_size
        super().start(ready_timeout=ready_timeout)
        return self

    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "celery", "-A", "config", "worker",
            "-Q", ",".join(QUEUES), f"--pool={self.pool}", f"--concurrency={self.concurrency}",
            "--without-heartbeat", "--without-mingle", "--without-gossip", "-l", "INFO",
            *(["-n", self.node_name] if self.node_name else []),
            *([f"--prefetch-multiplier={self.prefetch_multiplier}"] if self.prefetch_multiplier else []),
        ]

    def is_ready(self) -> bool:
        return "ready." in self.log()[self._log_offset :]


class WebProcess(ServiceProcess):
    """The WSGI application under gunicorn, as `make run` and docker-compose serve it."""

    name = "gunicorn"

    def __init__(
        self,
        extra_env: dict[str, str] | None = None,
        *,
        application: str = "config.wsgi",
        workers: int = 1,
        threads: int = 4,
        config: str | None = None,
    ) -> None:
        super().__init__(extra_env)
        self.application = application
        self.workers = workers
        self.threads = threads
        # The Procfile's settings file (config/gunicorn.py: the app preloaded in the master), if given.
        self.config = config
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "gunicorn", self.application, "--bind", f"127.0.0.1:{self.port}",
            "--workers", str(self.workers), "--threads", str(self.threads), "--timeout", "60",
            *(["--config", self.config] if self.config else []),
        ]

    def is_ready(self) -> bool:
        return port_open(self.port)


class RedisProcess(ServiceProcess):
    """A private Redis server that a test may stop and start again on the same port."""

    name = "redis"

    def __init__(self) -> None:
        super().__init__()
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"

    @staticmethod
    def available() -> bool:
        return shutil.which("redis-server") is not None

    def command(self) -> list[str]:
        return [
            "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no",
        ]

    def is_ready(self) -> bool:
        return port_open(self.port)


def fill_disk(folder: Path) -> Path:
    """Fills the disk under `folder` to the last byte with one file; deleting it frees the space."""
    filler = folder / "filler"
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(descriptor, b"\0" * 4096)
    except OSError as error:
        if error.errno != errno.ENOSPC:
            raise
    finally:
        os.close(descriptor)
    return filler


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def wait_for(predicate, *, timeout: float = 60.0, interval: float = 0.25, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
