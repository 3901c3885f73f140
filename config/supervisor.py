"""`make run`'s process manager: the Procfile's processes under supervisord, which restarts one
that dies (and logs it) while the others keep serving.

The Procfile stays the one definition of the process commands; this writes a supervisord
configuration from it into VERIFIER_VAR_DIR and runs supervisord in the foreground, with every
process's output on the terminal. Ctrl-C (or SIGTERM) stops them all.

    python -m config.supervisor [--procfile Procfile]
"""

import argparse
import os
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from config.settings import BASE_DIR, VAR_DIR

# How each process is run, the same for all of them.
PROGRAM_SETTINGS = {
    "directory": str(BASE_DIR),
    "autostart": "true",
    # Whatever the exit status: a web server or worker that stops on its own is a fault.
    "autorestart": "true",
    # A process that dies within a second of starting is retried a few times, then left FATAL
    # (logged) rather than restarted in a tight loop.
    "startsecs": "1",
    "startretries": "5",
    # gunicorn and a prefork worker have children: signal the whole group, and give running
    # requests and fetches time to finish before they are killed.
    "stopasgroup": "true",
    "killasgroup": "true",
    "stopwaitsecs": "20",
    "redirect_stderr": "true",
    "stdout_logfile": "/dev/stdout",
    "stdout_logfile_maxbytes": "0",
}


def procfile_processes(*, procfile: Path) -> dict[str, str]:
    """The processes of a Procfile, name to shell command, in file order."""
    processes: dict[str, str] = {}
    for number, line in enumerate(procfile.read_text().splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, separator, command = line.partition(":")
        if not separator or not name.strip().isidentifier() or not command.strip():
            raise ImproperlyConfigured(f"{procfile}:{number} is not 'name: command': {line!r}")
        processes[name.strip()] = command.strip()
    return processes


def _value(text: str) -> str:
    # supervisord expands %(name)s in its values.
    return text.replace("%", "%%")


# Programs run as several processes, and the variable that says how many (1 when unset).
COPIES_VARIABLES = {"worker": "WORKER_PROCESSES"}


def program_copies(environ: Mapping[str, str]) -> dict[str, int]:
    """How many processes of each program to run, from the environment."""
    copies = {}
    for name, variable in COPIES_VARIABLES.items():
        value = environ.get(variable, "").strip() or "1"
        if not value.isdigit() or int(value) < 1:
            raise ImproperlyConfigured(f"{variable} must be a whole number of at least 1, not {value!r}.")
        copies[name] = int(value)
    return copies


def supervisord_config(
    *, processes: dict[str, str], var_dir: Path, copies: Mapping[str, int] | None = None
) -> str:
    """A supervisord configuration running `processes` in the foreground, `copies[name]` processes
    of a program (each with its own SUPERVISOR_PROCESS_NAME, `worker-0`, `worker-1`, ...)."""
    sections = [
        "; Written by config/supervisor.py from the Procfile at every start; edit those instead.",
        "[supervisord]",
        "nodaemon=true",
        f"logfile={_value(str(var_dir / 'supervisord.log'))}",
        "logfile_maxbytes=10MB",
        "logfile_backups=2",
        f"pidfile={_value(str(var_dir / 'supervisord.pid'))}",
        f"childlogdir={_value(str(var_dir))}",
    ]
    for name, command in processes.items():
        # Through a shell, as every Procfile runner does, so ${VAR:-default} works; exec, so the
        # process supervisord watches (and signals) is the command itself.
        shell_command = shlex.join(["/bin/sh", "-c", f"exec {command}"])
        sections += ["", f"[program:{name}]", f"command={_value(shell_command)}"]
        sections += [f"{key}={_value(value)}" for key, value in PROGRAM_SETTINGS.items()]
        count = (copies or {}).get(name, 1)
        if count > 1:
            sections += [f"numprocs={count}", "process_name=%(program_name)s-%(process_num)s"]
    return "\n".join(sections) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--procfile", type=Path, default=BASE_DIR / "Procfile")
    args = parser.parse_args()
    config = VAR_DIR / "supervisord.conf"
    processes = procfile_processes(procfile=args.procfile)
    copies = program_copies(os.environ)
    config.write_text(supervisord_config(processes=processes, var_dir=VAR_DIR, copies=copies))
    # The Procfile names gunicorn and celery: the ones installed beside this Python.
    bin_dir = str(Path(sys.executable).parent)
    os.environ["PATH"] = os.pathsep.join([bin_dir, os.environ.get("PATH", "")])
    os.execv(sys.executable, [sys.executable, "-m", "supervisor.supervisord", "--configuration", str(config)])


if __name__ == "__main__":
    main()
