"""The embedded Celery broker: kombu's filesystem transport, made safe for several processes.

kombu's own transport writes a message in place (open, lock, write) and moves a message out of the
queue folder without taking that lock, so a consumer listing the folder in between reads an empty
or half-written file, raises JSONDecodeError and the worker exits (kombu#1551). The exchange tables
in the control folder are rewritten in place in the same way. Here every file is written under a
temporary name that consumers skip, flushed, and renamed into place, so it appears whole or not at
all; a consumer claims a message by renaming it out of the queue folder, so exactly one consumer
gets it; and a message that still cannot be read (a disk that filled up, a hand-edited file) is
parked in the bad folder with a warning instead of stopping the worker.

A claimed message stays on disk, in the claimed folder under a name that says which process claimed
it and when, until that process acknowledges it (deleted) or rejects it (moved back into the queue).
A consumer that is stopped moves its unacknowledged messages back itself; those of a consumer that
was killed — prefetched, running, or held in memory until their countdown is due — are moved back by
any live consumer: at once when the claimer was on this host and its process is gone, otherwise once
the claim is older than the visibility timeout, as Redis does.

`config.celery` registers this transport for `filesystem://` URLs; `queue_folder_problem` and
`parked_message_count` are what /healthz reports.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from queue import Empty
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.exceptions import ConnectionError as BrokerConnectionError
from kombu.transport import filesystem, virtual
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

logger = logging.getLogger(__name__)

Table = list[filesystem.exchange_queue_t]

# Files being written: no queue's "<name>.<queue>.msg" pattern matches them, so consumers,
# queue sizes and purges skip them.
TEMPORARY_PREFIX = "."
TEMPORARY_SUFFIX = ".tmp"
# Below this much free space the queue folder is reported as full: a message is a few kB, but the
# same disk usually holds the SQLite database and the snapshot bodies too.
MIN_FREE_BYTES = 16 * 1024 * 1024
# A claimed file is named "<message file>@<host>@<pid>@<process start>@<claimed at, ms>"; none of
# the parts before the host contains this character.
CLAIM_SEPARATOR = "@"
# How often a consumer looks for messages to restore: one listing of the claimed folder.
RESTORE_CHECK_SECONDS = 1.0
# Without a visibility timeout in the options (kombu's own default for Redis).
DEFAULT_VISIBILITY_TIMEOUT = 3600


def write_atomically(path: Path, data: bytes) -> None:
    """Writes `data` to `path` so that a reader sees either the whole file or no file."""
    temporary = path.with_name(f"{TEMPORARY_PREFIX}{path.name}.{uuid.uuid4().hex}{TEMPORARY_SUFFIX}")
    try:
        with temporary.open("xb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise


def folder_options(broker_folder: Path) -> dict[str, str]:
    """The transport options that keep every folder of the broker under `broker_folder` (created
    here), all on one disk so that the renames stay atomic."""
    folders = {
        "data_folder_in": "queue",
        "data_folder_out": "queue",
        # Consumers claim a message by renaming it into this folder, where it stays until acked.
        "processed_folder": "claimed",
        # Exchange bindings; kombu's default is "control" in the current directory.
        "control_folder": "control",
        "bad_folder": "bad",
    }
    for name in set(folders.values()):
        (broker_folder / name).mkdir(parents=True, exist_ok=True)
    return {option: str(broker_folder / name) for option, name in folders.items()}


def _folders(transport_options: dict[str, Any]) -> tuple[Path, Path, Path]:
    """The queue folder messages are written to, the folder consumers claim them into, and the
    folder unreadable messages are parked in."""
    queue = Path(transport_options.get("data_folder_out", "data_out"))
    claimed = Path(transport_options.get("processed_folder", "processed"))
    bad = Path(transport_options.get("bad_folder") or queue.parent / "bad")
    return queue, claimed, bad


def queue_folder_problem(*, transport_options: dict[str, Any]) -> str | None:
    """Why messages cannot be queued and claimed right now, or None when they can.

    Writes a small file into the queue folder and renames it into the claim folder, as a publisher
    and a consumer would, then checks the free space left.
    """
    queue, claimed, _bad = _folders(transport_options)
    probe = queue / f"{TEMPORARY_PREFIX}healthz-{uuid.uuid4().hex}{TEMPORARY_SUFFIX}"
    try:
        write_atomically(probe, b"{}")
        os.replace(probe, claimed / probe.name)
        (claimed / probe.name).unlink()
        free = shutil.disk_usage(queue).free
    except OSError as error:
        with contextlib.suppress(OSError):
            probe.unlink()
        code = errno.errorcode.get(error.errno or 0, "error")
        return f"cannot write and claim a message in the queue folder: {error.strerror or error} ({code})"
    if free < MIN_FREE_BYTES:
        return f"the queue folder's disk is nearly full: {free // 1024} kB free"
    return None


@dataclass(frozen=True)
class Claimer:
    """The consumer process that claimed a message: its host, pid and start time (which tells a
    reused pid from the original process)."""

    host: str
    pid: int
    started: str

    @classmethod
    def this_process(cls) -> Claimer:
        pid = os.getpid()
        return cls(host=_host_name(), pid=pid, started=_process_start(pid) or "")

    def is_provably_dead(self) -> bool:
        """True only when this host can tell: the process is gone, or its pid was reused."""
        if self.host != _host_name():
            return False
        started = _process_start(self.pid)
        return started is None or (bool(self.started) and bool(started) and started != self.started)


def _host_name() -> str:
    return "".join(c if c.isalnum() or c in "-." else "-" for c in socket.gethostname()) or "localhost"


def _process_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat), "" when
    the process exists but this system has no /proc, None when there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        if Path("/proc/self/stat").exists():
            return None
    except OSError:
        pass
    else:
        # The command name in parentheses may contain spaces; the fields after it do not.
        return stat.rpartition(")")[2].split()[19]
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return ""


def claimed_name(message_name: str, claimer: Claimer, claimed_at: float) -> str:
    return CLAIM_SEPARATOR.join(
        (message_name, claimer.host, str(claimer.pid), claimer.started, str(round(claimed_at * 1000)))
    )


def parse_claimed_name(name: str) -> tuple[str, Claimer, float] | None:
    """The message file name, claimer and claim time (epoch seconds) in a claimed file's name, or
    None for a file that is not a claim (a health probe, a leftover of an older version)."""
    parts = name.rsplit(CLAIM_SEPARATOR, 4)
    if len(parts) != 5 or name.startswith(TEMPORARY_PREFIX):
        return None
    message_name, host, pid, started, claimed_at = parts
    if not (pid.isdigit() and claimed_at.isdigit()):
        return None
    return message_name, Claimer(host=host, pid=int(pid), started=started), int(claimed_at) / 1000


def restore_unacked_messages(*, transport_options: dict[str, Any], now: float | None = None) -> int:
    """Moves back into the queue folder every claimed message that will never be acknowledged: its
    claimer's process is gone (this host), or it was claimed longer than the visibility timeout
    ago. Returns how many; a message restored by another consumer at the same time is skipped."""
    queue, claimed, _bad = _folders(transport_options)
    visibility_timeout = transport_options.get("visibility_timeout", DEFAULT_VISIBILITY_TIMEOUT)
    now = time.time() if now is None else now
    try:
        names = os.listdir(claimed)
    except OSError:
        return 0
    restored = 0
    for name in names:
        parsed = parse_claimed_name(name)
        if parsed is None:
            continue
        message_name, claimer, claimed_at = parsed
        if now - claimed_at <= visibility_timeout and not claimer.is_provably_dead():
            continue
        try:
            os.rename(claimed / name, queue / message_name)
        except FileNotFoundError:
            continue  # acknowledged or restored meanwhile
        except OSError as error:
            logger.error("Could not restore the unacknowledged broker message %s: %s", name, error)
            continue
        restored += 1
        logger.warning(
            "Restored broker message %s, claimed by pid %s on %s %.0f s ago and never acknowledged",
            message_name, claimer.pid, claimer.host, now - claimed_at,
        )
    return restored


def parked_message_count(*, transport_options: dict[str, Any]) -> int:
    """How many unreadable messages wait in the bad folder for someone to look at them."""
    _queue, _claimed, bad = _folders(transport_options)
    try:
        return sum(1 for entry in os.scandir(bad) if entry.is_file())
    except FileNotFoundError:
        return 0


class QoS(virtual.QoS):
    """Deletes a message's claimed file when it is acknowledged or rejected without requeueing; a
    requeued one is moved back by the channel's _restore."""

    def ack(self, delivery_tag: str) -> None:
        self.channel.release_claim(delivery_tag)
        super().ack(delivery_tag)

    def reject(self, delivery_tag: str, requeue: bool = False) -> None:
        if not requeue:
            self.channel.release_claim(delivery_tag)
        super().reject(delivery_tag, requeue=requeue)


class Channel(filesystem.Channel):
    """Atomic writes, claims by rename kept until acked, unreadable messages parked."""

    QoS = QoS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Delivery tag -> claimed file. Filled by the consuming thread, emptied by acks from any
        # thread: single dict operations, atomic in CPython.
        self._claims: dict[str, Path] = {}
        self._next_restore_check = 0.0

    # kombu's filesystem and virtual channels name the message argument differently.
    def _put(self, queue: str, payload: dict[str, Any], **kwargs: Any) -> None:  # type: ignore[override]
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        path = Path(self.data_folder_out) / name
        try:
            write_atomically(path, str_to_bytes(dumps(payload)))
        except OSError as error:
            raise ChannelError(f"Cannot add message {name!r} to {self.data_folder_out}: {error}") from error

    def _get(self, queue: str, timeout: float | None = None) -> dict[str, Any]:
        if monotonic() >= self._next_restore_check:
            self._next_restore_check = monotonic() + RESTORE_CHECK_SECONDS
            restore_unacked_messages(transport_options=self.transport_options)
        wanted = f"{queue}.msg"
        try:
            names = sorted(os.listdir(self.data_folder_in))
        except OSError as error:
            # A connection error, so the worker reconnects with backoff rather than exiting.
            raise BrokerConnectionError(f"Cannot list the queue folder: {error}") from error
        for name in names:
            if name.partition(".")[2] != wanted:
                continue
            claimed = Path(self.processed_folder) / claimed_name(name, Claimer.this_process(), time.time())
            try:
                os.rename(Path(self.data_folder_in) / name, claimed)
            except FileNotFoundError:
                if not os.path.isdir(self.processed_folder):
                    raise BrokerConnectionError(
                        f"The claim folder {self.processed_folder} is missing"
                    ) from None
                continue  # another consumer claimed it first
            except OSError as error:
                raise BrokerConnectionError(f"Cannot claim message {name!r}: {error}") from error
            payload = self._read_claimed(claimed)
            if payload is not None:
                self._claims[payload["properties"]["delivery_tag"]] = claimed
                return payload
        raise Empty()

    def _size(self, queue: str) -> int:
        try:
            return super()._size(queue)
        except OSError as error:
            # Raised while a reconnecting worker declares its queues: reconnect again, do not exit.
            raise BrokerConnectionError(f"Cannot list the queue folder: {error}") from error

    def release_claim(self, delivery_tag: str) -> None:
        """Deletes the claimed file of an acknowledged message."""
        claimed = self._claims.pop(delivery_tag, None)
        if claimed is not None:
            with contextlib.suppress(FileNotFoundError):  # restored after the visibility timeout
                claimed.unlink()

    def _restore(self, message: virtual.Message) -> None:
        """Moves a requeued or unacknowledged message back into the queue folder, under its first
        name so that it keeps its place. On failure it stays claimed, and the first consumer to
        look after this process has exited restores it."""
        claimed = self._claims.pop(message.delivery_tag, None)
        if claimed is None:
            super()._restore(message)
            return
        parsed = parse_claimed_name(claimed.name)
        assert parsed is not None, claimed
        try:
            os.rename(claimed, Path(self.data_folder_in) / parsed[0])
        except FileNotFoundError:
            pass  # restored by another consumer after the visibility timeout
        except OSError as error:
            logger.error("Could not move the broker message %s back to the queue: %s", claimed, error)

    def _read_claimed(self, claimed: Path) -> dict[str, Any] | None:
        """The message in a claimed file, or None after parking a file that holds no message."""
        try:
            payload = loads(bytes_to_str(claimed.read_bytes()))
            # What kombu does with the payload next; a failure there would stop the worker.
            self.Message(payload, channel=self)
        except Exception as error:  # any failure to read or decode means the file holds no message
            self._park(claimed, error)
            return None
        return payload

    def _park(self, claimed: Path, error: Exception) -> None:
        bad = Path(self.bad_folder)
        try:
            bad.mkdir(parents=True, exist_ok=True)
            parsed = parse_claimed_name(claimed.name)
            os.replace(claimed, bad / (parsed[0] if parsed else claimed.name))
        except OSError as park_error:
            logger.error("Could not park the unreadable broker message %s: %s", claimed, park_error)
            return
        logger.warning(
            "Parked unreadable broker message %s in %s (%s: %s)",
            claimed.name, bad, type(error).__name__, error,
        )

    @property
    def bad_folder(self) -> Path:
        return _folders(self.transport_options)[2]

    def get_table(self, exchange: str) -> Table:
        try:
            table = loads(bytes_to_str(self._exchange_file(exchange).read_bytes()))
        except FileNotFoundError:
            return []
        except OSError as error:
            raise ChannelError(f"Cannot read the bindings of exchange {exchange!r}: {error}") from error
        return [filesystem.exchange_queue_t(*binding) for binding in table]

    def _queue_bind(self, exchange: str, routing_key: str, pattern: str, queue: str) -> None:
        binding = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")

        def bind(table: Table) -> Table:
            return table if binding in table else [binding, *table]

        self._update_table(exchange, bind)

    def _delete(self, queue: str, exchange: str, routing_key: str, pattern: str, *args: Any,
                **kwargs: Any) -> None:
        # The virtual channel's part (forget the queue), not kombu's filesystem one, which rewrites
        # the exchange file in place where a reader without the lock could see it half-written.
        super(filesystem.Channel, self)._delete(queue, exchange, routing_key, pattern, *args, **kwargs)
        binding = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        self._update_table(exchange, lambda table: [entry for entry in table if entry != binding])

    def _update_table(self, exchange: str, change: Callable[[Table], Table]) -> None:
        """Read-modify-write of an exchange's bindings under a lock file; readers need no lock
        because the table is replaced whole."""
        file = self._exchange_file(exchange)
        self.control_folder.mkdir(parents=True, exist_ok=True)
        try:
            with open(file.with_name(f"{file.name}.lock"), "ab") as lock_file:
                filesystem.lock(lock_file, filesystem.LOCK_EX)
                try:
                    table = self.get_table(exchange)
                    changed = change(table)
                    if changed != table:
                        write_atomically(file, str_to_bytes(dumps(changed)))
                finally:
                    filesystem.unlock(lock_file)
        except OSError as error:
            raise ChannelError(f"Cannot update the bindings of exchange {exchange!r}: {error}") from error


class Transport(filesystem.Transport):
    """kombu's filesystem transport with the Channel above."""

    Channel = Channel
    # Without these, kombu treats every channel error as recoverable and retries a publish that
    # failed on a full disk with the closed channel, hiding the cause behind an AttributeError.
    # A failed write is reported as it is; only a queue folder that cannot be read is reconnected.
    recoverable_connection_errors = (BrokerConnectionError,)
    recoverable_channel_errors = ()
