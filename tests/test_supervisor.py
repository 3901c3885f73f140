"""`make run`'s supervisor: the Procfile's processes, one that dies is restarted while the others
keep serving, and the restart is in the log."""

import os
import re
import signal
import sys
import urllib.request
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.supervisor import procfile_processes, program_copies, supervisord_config
from tests.processes import ROOT, ServiceProcess, free_port, port_open, wait_for

PROGRAMS = ("web", "worker", "beat")
# The processes supervisord runs: two workers, as `make run` does (WORKER_PROCESSES).
PROCESSES = ("web", "worker-0", "worker-1", "beat")


class Supervisor(ServiceProcess):
    """`python -m config.supervisor` as `make run` starts it: the embedded pair under tmp_path."""

    name = "supervisord"

    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        super().__init__(
            {
                "VERIFIER_VAR_DIR": str(tmp_path / "var"),
                "DATABASE_URL": f"sqlite:///{tmp_path / 'verifier.sqlite3'}",
                "REDIS_URL": "",
                "CELERY_BROKER_URL": "filesystem://",
                "FILESYSTEM_BROKER_DIR": str(tmp_path / "broker"),
                "WEB_BIND": f"127.0.0.1:{self.port}",
                "WEB_WORKERS": "1",
                "WEB_THREADS": "2",
                "WORKER_CONCURRENCY": "2",
                "WORKER_PROCESSES": "2",
            }
        )

    def command(self) -> list[str]:
        return [sys.executable, "-m", "config.supervisor"]

    def is_ready(self) -> bool:
        log = self.log()
        running = all(f"success: {name} entered RUNNING state" in log for name in PROCESSES)
        return running and "ready." in log and port_open(self.port)

    def pids(self, program: str) -> list[int]:
        """Every pid supervisord has started `program` with, in order."""
        return [int(pid) for pid in re.findall(rf"spawned: '{program}' with pid (\d+)", self.log())]

    def healthz(self) -> int:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=10) as response:
            return response.status


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A child that died but was not yet reaped still answers: look at its state.
    return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"


@pytest.mark.worker
def test_a_killed_worker_is_restarted_while_the_web_keeps_serving(tmp_path):
    supervisor = Supervisor(tmp_path)
    try:
        supervisor.start(ready_timeout=90)
        [first_worker] = supervisor.pids("worker-0")
        [other_worker] = supervisor.pids("worker-1")
        [web] = supervisor.pids("web")

        os.kill(first_worker, signal.SIGKILL)

        wait_for(
            lambda: len(supervisor.pids("worker-0")) == 2
            and supervisor.log().count("success: worker-0 entered RUNNING state") == 2,
            timeout=60, what=f"a new worker\n{supervisor.log()[-3000:]}",
        )
        assert supervisor.healthz() == 200
        second_worker = supervisor.pids("worker-0")[1]
        assert second_worker != first_worker and alive(second_worker)
        assert supervisor.pids("web") == [web] and alive(web)
        assert supervisor.pids("worker-1") == [other_worker] and alive(other_worker)
        assert "exited: worker-0 (terminated by SIGKILL; not expected)" in supervisor.log()
        # Each worker is its own Celery node: two of one name would answer each other's commands.
        assert "worker-0@" in supervisor.log() and "worker-1@" in supervisor.log()
        started = {name: supervisor.pids(name)[-1] for name in PROCESSES}

        # Ctrl-C: supervisord stops every process it started, then exits.
        assert supervisor.process is not None
        supervisor.process.send_signal(signal.SIGINT)
        assert supervisor.process.wait(timeout=60) == 0
    finally:
        supervisor.stop()

    assert [name for name, pid in started.items() if alive(pid)] == []
    assert all(f"stopped: {name}" in supervisor.log() for name in PROCESSES)


def test_the_configuration_runs_each_procfile_command_through_a_shell(tmp_path):
    procfile = tmp_path / "Procfile"
    procfile.write_text(
        "# comment\n\n"
        "web: gunicorn config.wsgi --bind ${WEB_BIND:-127.0.0.1:8000}\n"
        "beat: celery beat -s 100%\n"
    )

    processes = procfile_processes(procfile=procfile)
    config = supervisord_config(processes=processes, var_dir=tmp_path)

    assert list(processes) == ["web", "beat"]
    assert (
        "command=/bin/sh -c 'exec gunicorn config.wsgi --bind ${WEB_BIND:-127.0.0.1:8000}'" in config
    )
    assert "command=/bin/sh -c 'exec celery beat -s 100%%'" in config
    assert config.count("autorestart=true") == 2


def test_a_malformed_procfile_line_is_refused_with_its_line_number(tmp_path):
    procfile = tmp_path / "Procfile"
    procfile.write_text("web: gunicorn config.wsgi\nworker celery -A config worker\n")

    with pytest.raises(ImproperlyConfigured, match=r"Procfile:2 is not 'name: command'"):
        procfile_processes(procfile=procfile)


def test_the_project_procfile_defines_web_worker_and_beat():
    assert list(procfile_processes(procfile=ROOT / "Procfile")) == list(PROGRAMS)


def test_a_program_runs_as_many_processes_as_its_variable_says(tmp_path):
    processes = procfile_processes(procfile=ROOT / "Procfile")

    config = supervisord_config(
        processes=processes, var_dir=tmp_path, copies=program_copies({"WORKER_PROCESSES": "3"})
    )

    worker = config.split("[program:worker]", 1)[1].split("[program:", 1)[0]
    assert "numprocs=3" in worker and "process_name=%(program_name)s-%(process_num)s" in worker
    assert config.count("numprocs=") == 1
    # Unset: one process, named after its program.
    assert "numprocs" not in supervisord_config(
        processes=processes, var_dir=tmp_path, copies=program_copies({})
    )


@pytest.mark.parametrize("value", ["0", "two", "-1"])
def test_a_process_count_that_is_not_a_whole_number_is_refused(value):
    with pytest.raises(ImproperlyConfigured, match="WORKER_PROCESSES must be a whole number"):
        program_copies({"WORKER_PROCESSES": value})
