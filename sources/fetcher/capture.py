"""WARC/1.1 captures of a fetch: every hop's request and response exactly as they were exchanged.

The recorder sits on the fetcher's already-guarded exchange: the connection reports the bytes it
sent and the HTTP client's reads report the bytes it consumed, status line and headers included
(after TLS, before any decoding). Each hop that got a response becomes a `request` and a
`response` record with the connected address, the target URI, the time and SHA-256 block and
payload digests, after a `warcinfo` record naming the software. Records are gzipped one by one
so a reader can seek to any of them (the CDXJ index of an evidence package points into them).
"""

from __future__ import annotations

import hashlib
import io
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from typing import Any, BinaryIO

from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import datetime_to_iso_date
from warcio.warcwriter import WARCWriter

SOFTWARE = f"Verifier source fetcher (warcio {version('warcio')})"
WARC_VERSION = "WARC/1.1"
WARC_SPEC = "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/"
HEADER_END = b"\r\n\r\n"
# WARC-Truncated reasons (WARC 1.1, section 5.13).
TRUNCATED_LENGTH = "length"
TRUNCATED_TIME = "time"
TRUNCATED_DISCONNECT = "disconnect"
TRUNCATED_UNSPECIFIED = "unspecified"


@dataclass
class HopRecording:
    """The bytes of one HTTP exchange: what was sent and what the client consumed, up to a cap."""

    url: str
    ip: str
    started: datetime
    max_bytes: int
    request: bytearray = field(default_factory=bytearray)
    response: bytearray = field(default_factory=bytearray)
    complete: bool = False
    truncated: str = ""

    def sent(self, data: bytes | bytearray | memoryview) -> None:
        self.request += data

    def received(self, data: bytes | bytearray | memoryview) -> None:
        room = self.max_bytes - len(self.response)
        if len(data) > room:
            # The fetcher bounds what it reads, but not every byte it reads is kept (data after
            # the end of a gzip stream, say); the record must not outgrow the body limit.
            self.response += bytes(data[: max(room, 0)])
            self.truncated = TRUNCATED_LENGTH
            return
        self.response += data

    def finish(self, *, truncated: str = "") -> None:
        """Mark the response read to its end, or cut short for `truncated` (a WARC reason)."""
        if truncated:
            self.truncated = self.truncated or truncated
        else:
            self.complete = True


class RecordingReader:
    """Wraps the HTTP client's buffered socket reader and reports every byte it hands out."""

    def __init__(self, raw: Any, recording: HopRecording) -> None:
        self._raw = raw
        self._recording = recording

    def read(self, size: int | None = -1) -> bytes:
        data: bytes = self._raw.read(size)
        self._recording.received(data)
        return data

    def read1(self, size: int = -1) -> bytes:
        data: bytes = self._raw.read1(size)
        self._recording.received(data)
        return data

    def readline(self, limit: int = -1) -> bytes:
        data: bytes = self._raw.readline(limit)
        self._recording.received(data)
        return data

    def readinto(self, buffer: Any) -> int:
        count: int = self._raw.readinto(buffer)
        self._recording.received(memoryview(buffer)[:count])
        return count

    def peek(self, size: int = 0) -> bytes:
        # Looking ahead consumes nothing; the bytes are reported when they are read.
        peeked: bytes = self._raw.peek(size)
        return peeked

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)


@dataclass(frozen=True)
class Capture:
    """A finished WARC file (gzip per record) and its SHA-256."""

    warc: bytes = field(repr=False)
    sha256: str
    hops: int


class CaptureRecorder:
    """Collects the hops of one fetch and writes them as one WARC file."""

    def __init__(self, *, max_bytes: int, user_agent: str = "", software: str = SOFTWARE) -> None:
        self.max_bytes = max_bytes
        self.software = software
        self.user_agent = user_agent
        self.hops: list[HopRecording] = []

    def hop(self, *, url: str, ip: str) -> HopRecording:
        recording = HopRecording(
            url=url, ip=ip, started=datetime.now(UTC), max_bytes=self.max_bytes
        )
        self.hops.append(recording)
        return recording

    @property
    def current(self) -> HopRecording | None:
        return self.hops[-1] if self.hops else None

    def build(self) -> Capture | None:
        """The WARC of every hop that got a response; None when none did."""
        answered = [hop for hop in self.hops if hop.request and hop.response]
        if not answered:
            return None
        out = io.BytesIO()
        writer = WARCWriter(out, gzip=True, warc_version=WARC_VERSION)
        writer.write_record(self._warcinfo(answered[0].started))
        for hop in answered:
            response_id = _record_id()
            writer.write_record(_response_record(hop, response_id))
            writer.write_record(_request_record(hop, concurrent_to=response_id))
        data = out.getvalue()
        return Capture(warc=data, sha256=hashlib.sha256(data).hexdigest(), hops=len(answered))

    def _warcinfo(self, when: datetime) -> ArcWarcRecord:
        fields = [("software", self.software), ("format", "WARC File Format 1.1")]
        fields.append(("conformsTo", WARC_SPEC))
        if self.user_agent:
            fields.append(("http-header-user-agent", self.user_agent))
        block = "".join(f"{name}: {value}\r\n" for name, value in fields).encode("utf-8")
        headers = [
            ("WARC-Type", "warcinfo"),
            ("WARC-Record-ID", _record_id()),
            ("WARC-Date", _warc_date(when)),
            ("WARC-Block-Digest", _sha256(block)),
        ]
        return _record("warcinfo", headers, block, "application/warc-fields")


def _response_record(hop: HopRecording, record_id: str) -> ArcWarcRecord:
    block = bytes(hop.response)
    headers = _hop_headers(hop, "response", record_id, block)
    truncated = hop.truncated or ("" if hop.complete else TRUNCATED_UNSPECIFIED)
    if truncated:
        headers.append(("WARC-Truncated", truncated))
    return _record("response", headers, block, "application/http; msgtype=response")


def _request_record(hop: HopRecording, *, concurrent_to: str) -> ArcWarcRecord:
    block = bytes(hop.request)
    headers = _hop_headers(hop, "request", _record_id(), block)
    headers.append(("WARC-Concurrent-To", concurrent_to))
    return _record("request", headers, block, "application/http; msgtype=request")


def _hop_headers(
    hop: HopRecording, record_type: str, record_id: str, block: bytes
) -> list[tuple[str, str]]:
    return [
        ("WARC-Type", record_type),
        ("WARC-Record-ID", record_id),
        ("WARC-Date", _warc_date(hop.started)),
        ("WARC-Target-URI", hop.url),
        ("WARC-IP-Address", hop.ip),
        ("WARC-Block-Digest", _sha256(block)),
        ("WARC-Payload-Digest", _sha256(http_payload(block))),
    ]


def _record(
    record_type: str, headers: list[tuple[str, str]], block: bytes, content_type: str
) -> ArcWarcRecord:
    # No parsed HTTP headers are handed to warcio: it would write them back re-serialised, and
    # the record must hold the bytes exactly as exchanged. The digests are set, so warcio keeps
    # them instead of computing its own.
    warc_headers = StatusAndHeaders("", headers, protocol=WARC_VERSION)
    stream: BinaryIO = io.BytesIO(block)
    record = ArcWarcRecord("warc", record_type, warc_headers, stream, None, content_type, len(block))
    record.payload_length = len(block)
    return record


def http_payload(block: bytes) -> bytes:
    """The bytes after the HTTP header block, which is what warcio's digest check hashes as the
    payload (`warcio check` can then verify every record of a capture)."""
    end = block.find(HEADER_END)
    return block[end + len(HEADER_END) :] if end >= 0 else b""


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _record_id() -> str:
    return f"<urn:uuid:{uuid.uuid4()}>"


def _warc_date(when: datetime) -> str:
    return str(datetime_to_iso_date(when.astimezone(UTC).replace(tzinfo=None), use_micros=True))
