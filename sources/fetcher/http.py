"""One HTTP exchange pinned to a checked IP: deadlines, TLS, bounded reading and decompression."""

from __future__ import annotations

import contextlib
import errno
import functools
import heapq
import http.client
import itertools
import os
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from urllib3 import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.response import BaseHTTPResponse
from urllib3.util import Timeout

from .capture import HopRecording, RecordingReader
from .result import FetchError, FetchLimits, Outcome
from .urls import ParsedUrl

READ_CHUNK = 64 * 1024
GZIP_MAGIC = b"\x1f\x8b"
ACCEPT = "text/html,application/xhtml+xml,text/plain;q=0.9,application/pdf;q=0.8,*/*;q=0.1"
ACCEPTED_ENCODINGS = "gzip, deflate"


class Deadline:
    """The total time budget of one fetch; when it runs out its connections are shut down."""

    def __init__(self, seconds: float) -> None:
        self.expires = time.monotonic() + seconds
        self._lock = threading.Lock()
        # Duplicates of the connected sockets: TLS wrapping detaches the original socket object,
        # while a duplicate descriptor stays valid and shutting it down ends the connection.
        self._handles: list[socket.socket] = []
        self._armed = False
        self.fired = False
        self.done = False

    def remaining(self) -> float:
        return self.expires - time.monotonic()

    @property
    def expired(self) -> bool:
        return self.fired or self.remaining() <= 0

    def watch(self, sock: socket.socket) -> None:
        handle = sock.dup()
        with self._lock:
            if self.done:
                handle.close()
                return
            self._handles.append(handle)
            fire_now = self.fired
            arm = not (self._armed or fire_now)
            self._armed = True
        if fire_now:
            _shutdown(handle)
        if arm:
            _REAPER.add(self)

    def fire(self) -> None:
        with self._lock:
            if self.done:
                return
            self.fired = True
            for handle in self._handles:
                _shutdown(handle)

    def socket_timeout(self, per_operation: float) -> float:
        """The timeout for the next socket operation: never beyond the total budget."""
        return max(min(per_operation, self.remaining()), 0.001)

    def release(self) -> None:
        """Forget the current connections (their duplicates would keep them open)."""
        with self._lock:
            handles, self._handles = self._handles, []
        for handle in handles:
            handle.close()

    def close(self) -> None:
        with self._lock:
            self.done = True
        self.release()


def _shutdown(handle: socket.socket) -> None:
    with contextlib.suppress(OSError):
        handle.shutdown(socket.SHUT_RDWR)


class _Reaper:
    """One daemon thread for all fetches in a process; fires deadlines that ran out.

    A per-socket timeout alone cannot bound a server that sends one byte just before each
    timeout, in the headers as well as the body, so something must cut the socket from outside.
    """

    def __init__(self) -> None:
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Deadline]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def add(self, deadline: Deadline) -> None:
        with self._cond:
            heapq.heappush(self._heap, (deadline.expires, next(self._order), deadline))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="fetch-deadlines", daemon=True
                )
                self._thread.start()
            self._cond.notify()

    def _run(self) -> None:
        while True:
            due: list[Deadline] = []
            with self._cond:
                while not due:
                    now = time.monotonic()
                    while self._heap and (self._heap[0][2].done or self._heap[0][0] <= now):
                        _, _, deadline = heapq.heappop(self._heap)
                        if not deadline.done:
                            due.append(deadline)
                    if not due:
                        self._cond.wait(self._heap[0][0] - now if self._heap else None)
            for deadline in due:
                deadline.fire()


_REAPER = _Reaper()


class _RecordingResponse(http.client.HTTPResponse):
    """http.client's response, its reads reported to the hop's recording as they happen."""

    def __init__(self, sock: socket.socket, *args: Any, recording: HopRecording, **kwargs: Any):
        super().__init__(sock, *args, **kwargs)
        self.fp = RecordingReader(self.fp, recording)  # type: ignore[assignment]


class _RecordedConnectionMixin:
    """Reports the bytes a connection sends and receives to a HopRecording, when given one."""

    _recording: HopRecording | None

    def _record(self, recording: HopRecording | None) -> None:
        self._recording = recording
        if recording is not None:
            # http.client builds the response through this attribute; the instance's own value
            # hands the hop's recording to its reader.
            vars(self)["response_class"] = functools.partial(
                _RecordingResponse, recording=recording
            )

    def send(self, data: Any) -> None:
        if self._recording is not None and isinstance(data, bytes | bytearray | memoryview):
            self._recording.sent(data)
        super().send(data)  # type: ignore[misc]


class _WatchedHTTPConnection(_RecordedConnectionMixin, HTTPConnection):
    def __init__(
        self, *args: Any, deadline: Deadline, recording: HopRecording | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._deadline = deadline
        self._record(recording)

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        self._deadline.watch(sock)
        return sock


class _WatchedHTTPSConnection(_RecordedConnectionMixin, HTTPSConnection):
    def __init__(
        self, *args: Any, deadline: Deadline, recording: HopRecording | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._deadline = deadline
        self._record(recording)

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        self._deadline.watch(sock)
        return sock


class _PinnedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _PinnedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


@lru_cache(maxsize=1)
def tls_context() -> ssl.SSLContext:
    """The shared client TLS context: system CA store, TLS 1.2+, host name checked by urllib3."""
    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    # urllib3 matches the certificate against assert_hostname (the URL's host, not the IP we
    # connect to); turning this off here keeps the shared context from being mutated per request.
    context.check_hostname = False
    context.verify_mode = ssl.CERT_REQUIRED
    context.hostname_checks_common_name = False
    return context


@dataclass
class Exchange:
    """An open response and the pool that owns its connection."""

    pool: HTTPConnectionPool
    response: BaseHTTPResponse
    deadline: Deadline

    def close(self) -> None:
        try:
            self.response.close()
            self.pool.close()
        finally:
            self.deadline.release()


def open_exchange(
    target: ParsedUrl,
    ip: str,
    limits: FetchLimits,
    deadline: Deadline,
    *,
    method: str = "GET",
    body: bytes | None = None,
    extra_headers: Mapping[str, str] | None = None,
    recording: HopRecording | None = None,
) -> Exchange:
    """Send the request for target to exactly ip and return once the response headers are in."""
    remaining = deadline.remaining()
    if remaining <= 0:
        raise FetchError(Outcome.TIMEOUT, total_timeout_reason(limits), transient=True)
    timeout = Timeout(
        connect=min(limits.timeout_connect, remaining), read=min(limits.timeout_read, remaining)
    )
    pool: HTTPConnectionPool
    if target.scheme == "https":
        pool = _PinnedHTTPSPool(
            ip,
            target.port,
            timeout=timeout,
            maxsize=1,
            retries=False,
            assert_hostname=target.host,
            server_hostname=target.host,
            ssl_context=tls_context(),
            deadline=deadline,
            recording=recording,
        )
    else:
        pool = _PinnedHTTPPool(
            ip,
            target.port,
            timeout=timeout,
            maxsize=1,
            retries=False,
            deadline=deadline,
            recording=recording,
        )
    headers = {
        "Host": target.host_header,
        "User-Agent": limits.user_agent,
        "Accept": ACCEPT,
        "Accept-Encoding": ACCEPTED_ENCODINGS,
        "Connection": "close",
        **(extra_headers or {}),
    }
    try:
        response = pool.urlopen(
            method,
            target.path_query,
            body=body,
            headers=headers,
            retries=False,
            redirect=False,
            assert_same_host=False,
            timeout=timeout,
            preload_content=False,
            decode_content=False,
            release_conn=False,
        )
    except BaseException:
        pool.close()
        deadline.release()
        raise
    return Exchange(pool, response, deadline)


def total_timeout_reason(limits: FetchLimits) -> str:
    return f"the total time limit of {limits.timeout_total:g} s was exceeded"


def classify_network_error(
    exc: BaseException, ip: str, limits: FetchLimits, deadline: Deadline
) -> FetchError:
    """Turn a urllib3 / socket / TLS exception into an outcome with a readable reason."""
    if isinstance(exc, FetchError):
        return exc
    if deadline.expired:
        return FetchError(Outcome.TIMEOUT, total_timeout_reason(limits), transient=True)
    if isinstance(exc, MaxRetryError) and exc.reason is not None:
        exc = exc.reason
    if (
        isinstance(exc, ProtocolError)
        and len(exc.args) > 1
        and isinstance(exc.args[1], BaseException)
    ):
        exc = exc.args[1]
    if isinstance(exc, SSLError | ssl.SSLError | ssl.CertificateError):
        detail = exc.__cause__ or exc.__context__ or exc
        return FetchError(Outcome.TLS_ERROR, f"TLS failed: {_short(detail)}")
    if isinstance(exc, NewConnectionError):
        cause = exc.__cause__
        if isinstance(cause, OSError) and cause.errno == errno.ECONNREFUSED:
            return FetchError(
                Outcome.CONNECTION_ERROR, f"connection to {ip} was refused", transient=True
            )
        return FetchError(
            Outcome.CONNECTION_ERROR,
            f"could not connect to {ip}: {_short(cause or exc)}",
            transient=True,
        )
    if isinstance(exc, ConnectTimeoutError):
        return FetchError(
            Outcome.TIMEOUT,
            f"connecting to {ip} took longer than {limits.timeout_connect:g} s",
            transient=True,
        )
    if isinstance(exc, ReadTimeoutError | TimeoutError | socket.timeout):
        return FetchError(
            Outcome.TIMEOUT,
            f"the server sent nothing for {limits.timeout_read:g} s",
            transient=True,
        )
    if isinstance(exc, ConnectionResetError):
        return FetchError(Outcome.CONNECTION_ERROR, "the connection was reset", transient=True)
    if isinstance(exc, http.client.HTTPException | HTTPError | OSError):
        return FetchError(
            Outcome.CONNECTION_ERROR, f"the connection failed: {_short(exc)}", transient=True
        )
    return FetchError(Outcome.CONNECTION_ERROR, f"unexpected {type(exc).__name__}: {_short(exc)}")


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def content_coding(header: str | None) -> str:
    """Return the one content coding to undo: 'identity', 'gzip' or 'deflate'."""
    tokens = [token.strip().lower() for token in (header or "").split(",")]
    codings = [token for token in tokens if token and token != "identity"]
    if not codings:
        return "identity"
    if len(codings) > 1:
        shown = ", ".join(codings[:4])[:60]
        raise FetchError(Outcome.DECODING_ERROR, f"stacked content encodings are refused ({shown})")
    coding = "gzip" if codings[0] == "x-gzip" else codings[0]
    if coding not in ("gzip", "deflate"):
        raise FetchError(
            Outcome.DECODING_ERROR, f"content encoding {coding[:40]!r} is not supported"
        )
    return coding


class _Inflater:
    """zlib decompression that never produces more than it is asked for."""

    def __init__(self, coding: str) -> None:
        self._coding = coding
        self._stream: Any = None
        self._ignore_rest = False
        self._held = b""

    def _new_stream(self, data: bytes) -> Any:
        if self._coding == "gzip":
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        # "deflate" should be zlib-wrapped but many servers send a raw deflate stream.
        wrapped = len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
        return zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)

    def feed(self, data: bytes, limit: int) -> list[bytes]:
        pieces: list[bytes] = []
        produced = 0
        data, self._held = self._held + data, b""
        while data and produced < limit and not self._ignore_rest:
            if self._stream is None or self._stream.eof:
                if self._stream is not None and self._coding == "gzip" and data == GZIP_MAGIC[:1]:
                    # The next member's magic number may be split between two reads.
                    self._held = data
                    break
                # A new gzip member may follow; anything else after the end is padding.
                if self._stream is not None and not (self._coding == "gzip" and data.startswith(GZIP_MAGIC)):
                    self._ignore_rest = True
                    break
                self._stream = self._new_stream(data)
            try:
                piece = self._stream.decompress(data, limit - produced)
            except zlib.error as exc:
                raise FetchError(
                    Outcome.DECODING_ERROR, f"the {self._coding} body is corrupt ({exc})"
                ) from None
            if piece:
                pieces.append(piece)
                produced += len(piece)
            data = self._stream.unconsumed_tail or self._stream.unused_data
        return pieces

    @property
    def ended(self) -> bool:
        """The compressed stream is over: whatever the server sends next is not part of the body.
        (After a gzip member that is known only once the next bytes are not another member.)"""
        if self._ignore_rest:
            return True
        return self._coding != "gzip" and self._stream is not None and self._stream.eof

    def finish(self) -> None:
        if self._stream is not None and not self._stream.eof:
            raise FetchError(Outcome.DECODING_ERROR, f"the {self._coding} body is truncated")


@dataclass
class Body:
    data: bytes
    bytes_received: int
    truncated: bool


def read_body(
    response: BaseHTTPResponse, coding: str, limits: FetchLimits, deadline: Deadline
) -> Body:
    """Read and decode the body, keeping at most max_bytes decoded bytes in memory and reading at
    most max_bytes plus one chunk from the wire."""
    inflater = _Inflater(coding) if coding != "identity" else None
    # Deflate adds at most 5 bytes per 64 KiB stored block, so a compressed body that decodes
    # within the cap never needs more than this; a stream of empty gzip members would.
    wire_cap = limits.max_bytes + READ_CHUNK
    sock: socket.socket | None = getattr(response.connection, "sock", None)
    pieces: list[bytes] = []
    size = 0
    received = 0
    truncated = False
    while True:
        if deadline.expired:
            raise FetchError(Outcome.TIMEOUT, total_timeout_reason(limits), transient=True)
        if sock is not None:
            sock.settimeout(deadline.socket_timeout(limits.timeout_read))
        chunk = response.read1(READ_CHUNK, decode_content=False)
        if not chunk:
            break
        received += len(chunk)
        if received > wire_cap:
            raise FetchError(
                Outcome.TOO_LARGE,
                f"more than {wire_cap} bytes were sent for a body still under the limit of "
                f"{limits.max_bytes} bytes once decoded",
            )
        room = limits.max_bytes - size
        decoded = inflater.feed(chunk, room + 1) if inflater else [chunk]
        for piece in decoded:
            if len(piece) > room:
                pieces.append(piece[:room])
                size += room
                truncated = True
                break
            pieces.append(piece)
            size += len(piece)
            room -= len(piece)
        if truncated or (inflater is not None and inflater.ended):
            # Past the end of a compressed stream comes padding at best: it is not read on.
            break
    if inflater and not truncated:
        inflater.finish()
    return Body(b"".join(pieces), received, truncated)
