"""Checking an evidence package from its bytes alone: what verify_evidence_package runs.

Every check names what failed: the zip, each resource's SHA-256, the signature and its key, each
WARC record's digests, the fingerprint against the archived bodies, each quote at its offsets in
the archived text, the review-log entries against the signed checkpoint, and the RFC 3161 tokens.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
import zlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from cryptography import x509
from rfc3161_client import VerificationError, VerifierBuilder, decode_timestamp_response
from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from core.hash_chain import entry_chain_hash
from sources.highlight import quote_spans
from verifier.provenance.merkle import checkpoint_problems, inclusion_valid
from verifier.provenance.package import (
    COPY_CHUNK,
    DATAPACKAGE_PATH,
    DIGEST_PATH,
    FACT_CHECK_PATH,
    PAGES_PATH,
    WACZ_VERSION,
)
from verifier.provenance.signing import signature_valid

_UNLISTED = (DATAPACKAGE_PATH, DIGEST_PATH)


@dataclass
class Inspection:
    """What checking a package found: `problems` fail it, `notes` say what was not checked."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class _Archive:
    """What one WARC in the package showed: the SHA-256 of its final response's decoded body."""

    final_body_sha256: str | None = None


def package_inspect(
    path: str,
    *,
    trusted_keys: Collection[str],
    tsa_certificates: Sequence[x509.Certificate] = (),
) -> Inspection:
    """Checks the package at `path`; `trusted_keys` are the base64 DER public keys it may be
    signed with (an empty collection trusts none)."""
    report = Inspection()
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as error:
        report.problems.append(f"not a readable zip file: {error}")
        return report
    with archive:
        _PackageCheck(archive, report, trusted_keys, tsa_certificates).run()
    return report


class _PackageCheck:
    def __init__(
        self,
        archive: zipfile.ZipFile,
        report: Inspection,
        trusted_keys: Collection[str],
        tsa_certificates: Sequence[x509.Certificate],
    ) -> None:
        self.zip = archive
        self.report = report
        self.trusted_keys = set(trusted_keys)
        self.tsa_certificates = list(tsa_certificates)
        self.hashes: dict[str, str] = {}
        self.archives: dict[str, _Archive] = {}

    def problem(self, text: str) -> None:
        if text not in self.report.problems:
            self.report.problems.append(text)

    def run(self) -> None:
        names = self.zip.namelist()
        if len(names) != len(set(names)):
            self.problem("the zip lists a file more than once")
        for name in names:
            if name.startswith("/") or ".." in name.split("/"):
                self.problem(f"{name}: a path outside the package")
        datapackage_bytes = self.read(DATAPACKAGE_PATH)
        datapackage = _json_object(datapackage_bytes, DATAPACKAGE_PATH, self.report)
        if datapackage is None or datapackage_bytes is None:
            return
        if datapackage.get("wacz_version") != WACZ_VERSION:
            self.problem(f"{DATAPACKAGE_PATH}: wacz_version is not {WACZ_VERSION}")
        self.check_resources(datapackage, names)
        self.check_signature(datapackage, datapackage_bytes)
        for name in names:
            if name.startswith("archive/"):
                self.check_warc(name)
        fact_check = _json_object(self.read(FACT_CHECK_PATH), FACT_CHECK_PATH, self.report)
        if fact_check is None:
            return
        try:
            self.check_evidence(fact_check, self.pages())
            self.check_review_log(fact_check)
            self.check_timestamps(fact_check)
        except (AttributeError, KeyError, TypeError, ValueError) as error:
            # A package is untrusted input: a field of the wrong shape is a failure to report.
            self.problem(f"{FACT_CHECK_PATH} is malformed ({type(error).__name__}: {error})")

    def read(self, name: str) -> bytes | None:
        try:
            return self.zip.read(name)
        except KeyError:
            self.problem(f"{name} is missing")
        except (zipfile.BadZipFile, zlib.error) as error:
            self.problem(f"{name}: the zip entry is corrupt ({error})")
        return None

    def check_resources(self, datapackage: Mapping[str, Any], names: Sequence[str]) -> None:
        resources = datapackage.get("resources")
        if not isinstance(resources, list):
            self.problem(f"{DATAPACKAGE_PATH} has no list of resources")
            return
        listed = set()
        for resource in resources:
            name = resource.get("path") if isinstance(resource, dict) else None
            if not isinstance(name, str):
                self.problem(f"{DATAPACKAGE_PATH}: a resource without a path")
                continue
            listed.add(name)
            actual = self.hash_entry(name)
            if actual is None:
                continue
            sha256, size = actual
            self.hashes[name] = sha256
            if resource.get("hash") != f"sha256:{sha256}":
                self.problem(f"{name}: its SHA-256 does not match datapackage.json")
            if resource.get("bytes") != size:
                self.problem(f"{name}: its size does not match datapackage.json")
        for name in names:
            if name not in listed and name not in _UNLISTED:
                self.problem(f"{name} is in the zip but not listed in datapackage.json")
        for required in (PAGES_PATH, FACT_CHECK_PATH):
            if required not in listed:
                self.problem(f"{required} is not listed in datapackage.json")
        if not any(name.startswith("indexes/") for name in listed):
            self.problem("no index under indexes/")
        self.report.checked.append(f"{len(listed)} resources and their SHA-256")

    def hash_entry(self, name: str) -> tuple[str, int] | None:
        hasher = hashlib.sha256()
        size = 0
        try:
            with self.zip.open(name) as entry:
                while chunk := entry.read(COPY_CHUNK):
                    hasher.update(chunk)
                    size += len(chunk)
        except KeyError:
            self.problem(f"{name} is listed in datapackage.json but missing from the zip")
            return None
        except (zipfile.BadZipFile, zlib.error) as error:
            self.problem(f"{name}: the zip entry is corrupt ({error})")
            return None
        return hasher.hexdigest(), size

    def check_signature(self, datapackage: Mapping[str, Any], datapackage_bytes: bytes) -> None:
        digest = _json_object(self.read(DIGEST_PATH), DIGEST_PATH, self.report)
        if digest is None:
            return
        expected = "sha256:" + hashlib.sha256(datapackage_bytes).hexdigest()
        if digest.get("hash") != expected:
            self.problem(f"{DIGEST_PATH}: the hash of datapackage.json does not match")
        signed = digest.get("signedData")
        if not isinstance(signed, dict):
            self.problem(f"{DIGEST_PATH}: the package is not signed (no signedData)")
            return
        if signed.get("hash") != expected:
            self.problem("signedData: the signed hash is not the hash of datapackage.json")
        if signed.get("created") != datapackage.get("created"):
            self.problem("signedData: created differs from datapackage.json's created")
        public_key = str(signed.get("publicKey", ""))
        if public_key not in self.trusted_keys:
            self.problem("signedData: signed by a key that is not a trusted Verifier key")
        if not signature_valid(public_key, str(signed.get("hash", "")), str(signed.get("signature", ""))):
            self.problem("signedData: the signature does not verify")
        self.report.checked.append("the signature of datapackage.json")

    def check_warc(self, name: str) -> None:
        info = self.zip.getinfo(name)
        if info.compress_type != zipfile.ZIP_STORED:
            self.problem(f"{name}: WARC files must be stored uncompressed in the zip")
        result = _Archive()
        try:
            with self.zip.open(name) as stream:
                self.check_warc_records(name, stream, result)
        except (ArchiveLoadFailed, zipfile.BadZipFile, zlib.error, OSError, EOFError) as error:
            self.problem(f"{name}: not a readable WARC ({error})")
            return
        self.archives[name] = result

    def check_warc_records(self, name: str, stream: IO[bytes], result: _Archive) -> None:
        records = 0
        for record in ArchiveIterator(stream, check_digests=True):
            records += 1
            hasher = hashlib.sha256()
            content = record.content_stream()
            while chunk := content.read(COPY_CHUNK):
                hasher.update(chunk)
            record_id = record.rec_headers.get_header("WARC-Record-ID")
            for problem in record.digest_checker.problems:
                self.problem(f"{name}: record {record_id}: {problem}")
            if record.rec_type == "response":
                result.final_body_sha256 = hasher.hexdigest()
        self.report.checked.append(f"{name}: {records} records and their digests")

    def pages(self) -> dict[str, Mapping[str, Any]]:
        data = self.read(PAGES_PATH)
        pages: dict[str, Mapping[str, Any]] = {}
        for number, line in enumerate((data or b"").decode("utf-8", "replace").splitlines(), 1):
            try:
                page = json.loads(line)
            except ValueError:
                self.problem(f"{PAGES_PATH}: line {number} is not JSON")
                continue
            if isinstance(page, dict) and "id" in page and "format" not in page:
                pages[str(page["id"])] = page
        return pages

    def check_evidence(self, fact_check: Mapping[str, Any], pages: Mapping[str, Mapping[str, Any]]) -> None:
        fingerprint = {
            entry.get("evidence"): entry
            for entry in fact_check.get("fingerprint") or []
            if isinstance(entry, dict)
        }
        evidence_ids = set()
        for item in fact_check.get("evidence") or []:
            label = f"evidence {item.get('evidence')}"
            evidence_ids.add(item.get("evidence"))
            frozen = fingerprint.get(item.get("evidence"))
            if frozen is None:
                self.problem(f"{label}: not in the verdict's fingerprint")
            elif frozen.get("snapshot") != item.get("snapshot"):
                self.problem(f"{label}: its snapshot differs from the fingerprint's")
            if not item.get("archive"):
                self.report.notes.append(f"{label}: its snapshot has no WARC capture to check")
                continue
            archived = self.archives.get(item["archive"])
            if archived is None:
                self.problem(f"{label}: its capture {item['archive']} is not in the package")
            elif frozen is not None and archived.final_body_sha256 != frozen.get("content_sha256"):
                self.problem(
                    f"{label}: the archived body of snapshot {item.get('snapshot')} does not hash "
                    "to the fingerprint's content_sha256"
                )
            self.check_quote(label, item, pages.get(str(item.get("page"))))
        for evidence in fingerprint:
            if evidence not in evidence_ids:
                self.problem(f"evidence {evidence}: in the fingerprint but not in fact-check.json")
        self.report.checked.append(f"{len(evidence_ids)} evidence items against the fingerprint")

    def check_quote(self, label: str, item: Mapping[str, Any], page: Mapping[str, Any] | None) -> None:
        if page is None:
            self.problem(f"{label}: its page {item.get('page')} is not in {PAGES_PATH}")
            return
        text = str(page.get("text", ""))
        if hashlib.sha256(text.encode("utf-8")).hexdigest() != item.get("text_sha256"):
            self.problem(f"{label}: the archived text does not match its text_sha256")
        spans = [list(span) for span in quote_spans(str(item.get("quote", "")), text)]
        if spans != item.get("quote_offsets"):
            self.problem(f"{label}: the quote is not at the offsets given in the archived text")
        if item.get("quote_status") == "found" and not spans:
            self.problem(f"{label}: marked found, but the quote is not in the archived text")

    def check_review_log(self, fact_check: Mapping[str, Any]) -> None:
        log = fact_check.get("reviewLog") or {}
        checkpoint = log.get("checkpoint")
        entries = log.get("entries") or []
        if checkpoint is None:
            self.report.notes.append("no checkpoint covers the review-log entries")
        else:
            for problem in checkpoint_problems(checkpoint, trusted_keys=self.trusted_keys):
                self.problem(f"review log: {problem}")
        claim_id = (fact_check.get("claim") or {}).get("id")
        for entry in entries:
            content = entry.get("content") or {}
            label = f"review log entry #{content.get('sequence')}"
            if content.get("claim") != claim_id:
                self.problem(f"{label}: belongs to another claim")
            if entry_chain_hash(str(entry.get("previous_hash", "")), content) != entry.get("entry_hash"):
                self.problem(f"{label}: its content does not match its chain hash")
            if checkpoint is not None and not inclusion_valid(
                entry_hash=str(entry.get("entry_hash", "")),
                index=int(content.get("sequence", 0)) - 1,
                size=int(checkpoint.get("size", 0)),
                proof=entry.get("proof") or [],
                head=str(checkpoint.get("head", "")),
            ):
                self.problem(f"{label}: not included in the signed checkpoint")
        self.report.checked.append(f"{len(entries)} review-log entries against the checkpoint")

    def check_timestamps(self, fact_check: Mapping[str, Any]) -> None:
        stamps = fact_check.get("timestamps") or []
        for stamp in stamps:
            of, token_path = str(stamp.get("of")), str(stamp.get("token"))
            label = f"timestamp of {of}"
            digest = str(stamp.get("digest", "")).removeprefix("sha256:")
            if self.hashes.get(of) != digest:
                self.problem(f"{label}: stamps a digest that is not the file's SHA-256")
            token = self.read(token_path)
            if token is None:
                continue
            for problem in timestamp_problems(token, digest, self.tsa_certificates):
                self.problem(f"{label}: {problem}")
        if stamps and not self.tsa_certificates:
            self.report.notes.append(
                "the timestamp tokens were not checked against an authority's certificate (--tsa-cert)"
            )


def timestamp_problems(token: bytes, digest_hex: str, certificates: Sequence[x509.Certificate]) -> list[str]:
    """What is wrong with an RFC 3161 token for the SHA-256 digest; with the authority's
    certificates, its signature and certificate chain are checked too."""
    try:
        response = decode_timestamp_response(token)
        imprint = response.tst_info.message_imprint.message
    except ValueError as error:
        return [f"the token cannot be read ({error})"]
    if imprint.hex() != digest_hex:
        return ["the token stamps another digest"]
    if not certificates:
        return []
    builder = VerifierBuilder()
    for certificate in certificates:
        builder = builder.add_root_certificate(certificate)
    try:
        builder.build().verify(response, bytes.fromhex(digest_hex))
    except VerificationError as error:
        return [f"the token does not verify against the authority's certificate ({str(error)[:200]})"]
    return []


def _json_object(data: bytes | None, name: str, report: Inspection) -> dict[str, Any] | None:
    if data is None:
        return None
    try:
        document = json.loads(data)
    except ValueError:
        report.problems.append(f"{name} is not valid JSON")
        return None
    if not isinstance(document, dict):
        report.problems.append(f"{name} is not a JSON object")
        return None
    return document
