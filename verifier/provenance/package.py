"""Signed WACZ 1.1.1 evidence packages, built from plain inputs and streamed.

A package holds the WARC capture of every cited snapshot (`archive/`), a CDXJ index of them
(`indexes/`), one page per snapshot with its extracted text (`pages/pages.jsonl`),
`verifier/fact-check.json` (claim, verdict, ClaimReview, evidence with the offsets of each quote
in the archived text, the fingerprint, the claim's review-log entries with inclusion proofs and
the checkpoint they lead to) and any RFC 3161 tokens of the captures, then `datapackage.json`
listing every file with its SHA-256 and `datapackage-digest.json` with the anonymous signature
of WACZ Signing and Verification 0.1.0.

Memory does not grow with the captures: each WARC is copied into the zip in chunks while it is
hashed and indexed. The same inputs give the same bytes: entries are written in a fixed order
with the creation time as their date, nothing is compressed (zlib output may differ between
versions), JSON is written with sorted keys and the signature is deterministic.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any, BinaryIO

from cryptography.hazmat.primitives.asymmetric import ec
from surt import surt
from warcio.archiveiterator import ArchiveIterator
from warcio.timeutils import iso_date_to_timestamp

from sources.highlight import quote_spans
from verifier.provenance.signing import public_key_b64, sign_text

WACZ_VERSION = "1.1.1"
FACT_CHECK_FORMAT = "verifier-fact-check/1"
FACT_CHECK_PATH = "verifier/fact-check.json"
PAGES_PATH = "pages/pages.jsonl"
INDEX_PATH = "indexes/index.cdxj"
DATAPACKAGE_PATH = "datapackage.json"
DIGEST_PATH = "datapackage-digest.json"
MEDIA_TYPE = "application/wacz"
COPY_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class PackageCapture:
    """One cited snapshot: its WARC capture and its extracted text (the text quotes are found in),
    both loaded only when the package is built; their hashes identify them before that."""

    snapshot: int
    url: str
    fetched_at: datetime
    title: str
    text_sha256: str
    warc_sha256: str
    warc_bytes: int
    load_text: Callable[[], str] = field(repr=False, compare=False)
    open_warc: Callable[[], AbstractContextManager[IO[bytes]]] = field(repr=False, compare=False)

    @property
    def archive_path(self) -> str:
        return f"archive/{self.archive_name}"

    @property
    def archive_name(self) -> str:
        return f"snapshot-{self.snapshot}.warc.gz"

    @property
    def page_id(self) -> str:
        return f"snapshot-{self.snapshot}"


@dataclass(frozen=True)
class PackageEvidence:
    """One evidence item of the published version, with the snapshot its quote was checked in."""

    evidence: int
    url: str
    stance: str
    quote: str
    note: str
    quote_status: str
    snapshot: int | None


@dataclass(frozen=True)
class PackageSpec:
    """Everything one published version's package holds; round trips through JSON-able values."""

    title: str
    # The approval time: the same version always gets the same package.
    created: datetime
    claim: Mapping[str, Any]
    verdict: Mapping[str, Any]
    claim_review: Mapping[str, Any]
    fingerprint: Sequence[Mapping[str, Any]]
    evidence: Sequence[PackageEvidence]
    captures: Sequence[PackageCapture]
    review_log: Sequence[Mapping[str, Any]]
    checkpoint: Mapping[str, Any] | None
    # RFC 3161 tokens (DER TimeStampResp) by the SHA-256 (hex) of the capture they stamp.
    timestamps: Mapping[str, bytes] = field(default_factory=dict)
    # The inclusion proof of each review_log entry in the checkpoint, by entry hash, for entries
    # that do not carry their own "proof": loaded only when the package is built, since it reads
    # the whole log. They follow from the checkpoint's head, so the package key leaves them out.
    load_review_log_proofs: Callable[[], Mapping[str, Sequence[str]]] | None = field(
        default=None, repr=False, compare=False
    )


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _timestamp_path(digest: str) -> str:
    return f"verifier/{digest}.tsr"


def fact_check_document(
    spec: PackageSpec, quote_offsets: Mapping[int, Sequence[tuple[int, int]]]
) -> dict[str, Any]:
    """The content of verifier/fact-check.json; `quote_offsets` are the spans of each evidence's
    quote in its snapshot's text, by evidence id."""
    captures = {capture.snapshot: capture for capture in spec.captures}
    evidence = []
    for item in spec.evidence:
        capture = captures.get(item.snapshot) if item.snapshot is not None else None
        entry: dict[str, Any] = {
            "evidence": item.evidence,
            "url": item.url,
            "stance": item.stance,
            "quote": item.quote,
            "note": item.note,
            "quote_status": item.quote_status,
            "snapshot": item.snapshot,
            "archive": capture.archive_path if capture else None,
            "page": capture.page_id if capture else None,
        }
        if capture is not None:
            entry["text_sha256"] = capture.text_sha256
            entry["quote_offsets"] = [list(span) for span in quote_offsets[item.evidence]]
        evidence.append(entry)
    return {
        "format": FACT_CHECK_FORMAT,
        "created": rfc3339(spec.created),
        "claim": dict(spec.claim),
        "verdict": dict(spec.verdict),
        "claimReview": dict(spec.claim_review),
        "fingerprint": [dict(entry) for entry in spec.fingerprint],
        "evidence": evidence,
        "reviewLog": {
            "entries": _review_log_entries(spec),
            "checkpoint": dict(spec.checkpoint) if spec.checkpoint is not None else None,
        },
        "timestamps": [
            {
                "of": capture.archive_path,
                "digest": f"sha256:{capture.warc_sha256}",
                "token": _timestamp_path(capture.warc_sha256),
            }
            for capture in _by_snapshot(spec.captures)
            if capture.warc_sha256 in spec.timestamps
        ],
    }


def _review_log_entries(spec: PackageSpec) -> list[dict[str, Any]]:
    proofs = spec.load_review_log_proofs() if spec.load_review_log_proofs is not None else {}
    return [
        {**entry, "proof": list(proofs[entry["entry_hash"]])}
        if "proof" not in entry and entry.get("entry_hash") in proofs
        else dict(entry)
        for entry in spec.review_log
    ]


def package_key(spec: PackageSpec, *, public_key: str, software: str) -> str:
    """A content hash of everything the package is built from, the captures and texts by their
    hashes (never loaded), so a stored package is found without building it again."""
    inputs = {
        "format": [WACZ_VERSION, FACT_CHECK_FORMAT],
        "title": spec.title,
        "created": rfc3339(spec.created),
        "claim": spec.claim,
        "verdict": spec.verdict,
        "claim_review": spec.claim_review,
        "fingerprint": list(spec.fingerprint),
        "evidence": [
            [item.evidence, item.url, item.stance, item.quote, item.note, item.quote_status, item.snapshot]
            for item in spec.evidence
        ],
        "captures": [
            [
                capture.snapshot,
                capture.url,
                rfc3339(capture.fetched_at),
                capture.title,
                capture.text_sha256,
                capture.warc_sha256,
                capture.warc_bytes,
            ]
            for capture in _by_snapshot(spec.captures)
        ],
        "review_log": list(spec.review_log),
        "checkpoint": spec.checkpoint,
        "timestamps": {
            digest: hashlib.sha256(token).hexdigest() for digest, token in spec.timestamps.items()
        },
        "public_key": public_key,
        "software": software,
    }
    canonical = json.dumps(inputs, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class PackageWritten:
    """The hash of the written package's datapackage.json (what the signature covers)."""

    datapackage_hash: str
    resources: int


def package_write(
    spec: PackageSpec, out: BinaryIO, *, key: ec.EllipticCurvePrivateKey, software: str
) -> PackageWritten:
    """Writes the signed WACZ of `spec` to `out` (a seekable binary file)."""
    with _PackageWriter(out, spec.created) as writer:
        return _write_entries(spec, writer, key=key, software=software)


def _write_entries(
    spec: PackageSpec, writer: _PackageWriter, *, key: ec.EllipticCurvePrivateKey, software: str
) -> PackageWritten:
    index_lines: list[str] = []
    for capture in _by_snapshot(spec.captures):
        index_lines += writer.copy_capture(capture)
    writer.add(INDEX_PATH, "".join(sorted(index_lines)).encode("utf-8"))
    quote_offsets = _write_pages(spec, writer)
    writer.add(FACT_CHECK_PATH, _json(fact_check_document(spec, quote_offsets)))
    for capture in _by_snapshot(spec.captures):
        token = spec.timestamps.get(capture.warc_sha256)
        if token is not None:
            writer.add(_timestamp_path(capture.warc_sha256), token)
    created = rfc3339(spec.created)
    datapackage = json.dumps(
        {
            "profile": "data-package",
            "wacz_version": WACZ_VERSION,
            "title": spec.title,
            "created": created,
            "software": software,
            "resources": writer.resources,
        },
        indent=2,
        ensure_ascii=False,
    ).encode("utf-8")
    datapackage_hash = "sha256:" + hashlib.sha256(datapackage).hexdigest()
    digest = {
        "path": DATAPACKAGE_PATH,
        "hash": datapackage_hash,
        "signedData": {
            "hash": datapackage_hash,
            "created": created,
            "software": software,
            "signature": sign_text(key, datapackage_hash),
            "publicKey": public_key_b64(key.public_key()),
        },
    }
    writer.add(DATAPACKAGE_PATH, datapackage, listed=False)
    writer.add(DIGEST_PATH, json.dumps(digest, indent=2).encode("utf-8"), listed=False)
    return PackageWritten(datapackage_hash=datapackage_hash, resources=len(writer.resources))


def _by_snapshot(captures: Sequence[PackageCapture]) -> list[PackageCapture]:
    return sorted(captures, key=lambda capture: capture.snapshot)


def _json(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False).encode("utf-8")


def _jsonl(line: Mapping[str, Any]) -> bytes:
    return (json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


def _write_pages(spec: PackageSpec, writer: _PackageWriter) -> dict[int, list[tuple[int, int]]]:
    """Writes pages/pages.jsonl one snapshot's text at a time and returns, by evidence id, where
    each quote was found in the text of the snapshot it was checked in."""
    quote_offsets: dict[int, list[tuple[int, int]]] = {}
    with writer.stream(PAGES_PATH) as pages:
        pages.write(_jsonl({"format": "json-pages-1.0", "id": "pages", "title": spec.title, "hasText": True}))
        for capture in _by_snapshot(spec.captures):
            text = capture.load_text()
            if hashlib.sha256(text.encode("utf-8")).hexdigest() != capture.text_sha256:
                raise ValueError(
                    f"the text of snapshot {capture.snapshot} does not match its SHA-256 "
                    f"{capture.text_sha256}"
                )
            pages.write(
                _jsonl(
                    {
                        "id": capture.page_id,
                        "url": capture.url,
                        "ts": rfc3339(capture.fetched_at),
                        "title": capture.title,
                        "text": text,
                    }
                )
            )
            for item in spec.evidence:
                if item.snapshot == capture.snapshot:
                    quote_offsets[item.evidence] = quote_spans(item.quote, text)
    return quote_offsets


class _Listed:
    """A zip entry being written: every byte also goes to its hash and size."""

    def __init__(self, target: IO[bytes]) -> None:
        self._target = target
        self.hasher = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self._target.write(data)
        self.hasher.update(data)
        self.size += len(data)


class _CopyingReader(io.RawIOBase):
    """Reads a stream for the indexer while every byte read also goes into the zip entry (and
    its hash), so each WARC is read exactly once."""

    def __init__(self, source: IO[bytes], sink: _Listed) -> None:
        self._source = source
        self._sink = sink

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        data = self._source.read(COPY_CHUNK if size is None or size < 0 else size)
        self._sink.write(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def drain(self) -> None:
        while self.read(COPY_CHUNK):
            pass


def cdxj_lines(stream: IO[bytes], filename: str) -> list[str]:
    """The CDXJ index lines of a WARC's response records (pywb's format, as WACZ readers expect:
    SURT URL key, 14-digit time, JSON with url, mime, status, digest, length, offset, filename)."""
    lines = []
    records = ArchiveIterator(stream)
    for record in records:
        if record.rec_type != "response":
            continue
        url = record.rec_headers.get_header("WARC-Target-URI")
        entry = {
            "url": url,
            "mime": (record.http_headers.get_header("Content-Type") or "").split(";")[0].strip(),
            "status": record.http_headers.get_statuscode(),
            "digest": record.rec_headers.get_header("WARC-Payload-Digest"),
            "length": str(records.get_record_length()),
            "offset": str(records.get_record_offset()),
            "filename": filename,
        }
        timestamp = iso_date_to_timestamp(record.rec_headers.get_header("WARC-Date"))
        lines.append(f"{surt(url)} {timestamp} {json.dumps(entry)}\n")
    return lines


class _PackageWriter:
    def __init__(self, out: BinaryIO, created: datetime) -> None:
        self._zip = zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED, allowZip64=True)
        self._date_time = created.astimezone(UTC).timetuple()[:6]
        self.resources: list[dict[str, Any]] = []

    def _info(self, path: str, size: int) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(path, date_time=self._date_time)
        info.compress_type = zipfile.ZIP_STORED
        info.create_system = 3
        info.external_attr = 0o644 << 16
        info.file_size = size
        return info

    def _list(self, path: str, sha256: str, size: int) -> None:
        self.resources.append(
            {
                "name": path.rsplit("/", 1)[-1].lower(),
                "path": path,
                "hash": f"sha256:{sha256}",
                "bytes": size,
            }
        )

    def add(self, path: str, data: bytes, *, listed: bool = True) -> None:
        self._zip.writestr(self._info(path, len(data)), data)
        if listed:
            self._list(path, hashlib.sha256(data).hexdigest(), len(data))

    @contextmanager
    def stream(self, path: str, *, size: int = 0) -> Iterator[_Listed]:
        """A listed entry written piece by piece; `size`, when known, is its final size."""
        info = self._info(path, size)
        with self._zip.open(info, "w", force_zip64=size >= zipfile.ZIP64_LIMIT) as target:
            listed = _Listed(target)
            yield listed
        self._list(path, listed.hasher.hexdigest(), listed.size)

    def copy_capture(self, capture: PackageCapture) -> list[str]:
        """Copies the capture's WARC into archive/ and returns its CDXJ lines."""
        with (
            capture.open_warc() as source,
            self.stream(capture.archive_path, size=capture.warc_bytes) as sink,
        ):
            copy = _CopyingReader(source, sink)
            lines = cdxj_lines(io.BufferedReader(copy, COPY_CHUNK), capture.archive_name)
            copy.drain()
        if sink.hasher.hexdigest() != capture.warc_sha256 or sink.size != capture.warc_bytes:
            raise ValueError(
                f"the stored capture of snapshot {capture.snapshot} does not match its "
                f"SHA-256 {capture.warc_sha256}"
            )
        return lines

    def __enter__(self) -> _PackageWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._zip.close()
