"""Evidence packages: a valid signed WACZ built from a real fetch, reproducible, and every tampered
part caught by verify_evidence_package."""

import gzip
import io
import json
import shutil
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command

from tests.verifier.provenance.packages import QUOTE, SOFTWARE, build, rewrite
from verifier.provenance.keys import signing_key_load
from verifier.provenance.models import TrustedTimestamp
from verifier.provenance.package import (
    FACT_CHECK_PATH,
    PackageCapture,
    PackageSpec,
    package_key,
    package_write,
)
from verifier.provenance.services import evidence_package_store
from verifier.provenance.signing import public_key_b64, signing_key_generate

pytestmark = pytest.mark.django_db

def verify(path: Path, *extra: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("verify_evidence_package", str(path), *extra, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def verify_fails(path: Path, *extra: str) -> str:
    err = io.StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("verify_evidence_package", str(path), *extra, stdout=io.StringIO(), stderr=err)
    assert failure.value.returncode == 1
    return err.getvalue()


def flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def test_a_built_package_passes_wacz_validate(spec, tmp_path):
    package = build(spec, tmp_path / "package.wacz")
    wacz = shutil.which("wacz", path=str(Path(sys.executable).parent))
    assert wacz, "the wacz tool is a dev dependency"

    result = subprocess.run([wacz, "validate", "-f", str(package)], capture_output=True, text=True)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Validation succeeded" in result.stdout


def test_a_built_package_verifies_against_the_published_key(spec, tmp_path):
    package = build(spec, tmp_path / "package.wacz")
    pem = tmp_path / "verifier-signing-key.pem"
    pem.write_bytes(
        signing_key_load().public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )

    out, err = verify(package, "--public-key", str(pem))

    assert "OK:" in out and err == ""
    assert "checked: archive/" in out
    assert "checked: 1 evidence items against the fingerprint" in out


def test_the_same_version_builds_the_same_bytes(spec, tmp_path):
    first = build(spec, tmp_path / "first.wacz").read_bytes()
    second = build(spec, tmp_path / "second.wacz").read_bytes()

    assert first == second


def test_the_package_holds_the_quote_offsets_in_the_archived_text(spec, tmp_path):
    package = build(spec, tmp_path / "package.wacz")
    with zipfile.ZipFile(package) as archive:
        fact_check = json.loads(archive.read(FACT_CHECK_PATH))
        pages = [json.loads(line) for line in archive.read("pages/pages.jsonl").splitlines()]
        names = archive.namelist()

    item = fact_check["evidence"][0]
    text = next(page["text"] for page in pages[1:] if page["id"] == item["page"])
    (start, end), = item["quote_offsets"]
    assert " ".join(text[start:end].split()) == QUOTE
    assert item["archive"] in names
    assert fact_check["fingerprint"] == list(spec.fingerprint)
    assert fact_check["reviewLog"]["checkpoint"]["size"] >= len(fact_check["reviewLog"]["entries"]) > 0


def test_the_cache_key_needs_no_warc_and_changes_with_the_inputs(spec):
    def unreadable():
        raise AssertionError("the key must not read the capture or its text")

    captures = [
        PackageCapture(**{**capture.__dict__, "open_warc": unreadable, "load_text": unreadable})
        for capture in spec.captures
    ]
    offline = PackageSpec(**{**spec.__dict__, "captures": captures})
    key = package_key(offline, public_key="k", software=SOFTWARE)

    assert key == package_key(spec, public_key="k", software=SOFTWARE)
    assert key != package_key(spec, public_key="other", software=SOFTWARE)
    corrected = PackageSpec(**{**spec.__dict__, "verdict": {**spec.verdict, "summary": "Yes."}})
    assert key != package_key(corrected, public_key="k", software=SOFTWARE)


def test_a_stored_capture_that_does_not_match_its_hash_is_refused(spec, tmp_path):
    wrong = [PackageCapture(**{**spec.captures[0].__dict__, "warc_sha256": "0" * 64})]

    with pytest.raises(ValueError, match="does not match"):
        build(PackageSpec(**{**spec.__dict__, "captures": wrong}), tmp_path / "package.wacz")


def test_a_text_that_does_not_match_its_hash_is_refused(spec, tmp_path):
    wrong = [PackageCapture(**{**spec.captures[0].__dict__, "load_text": lambda: "Something else."})]

    with pytest.raises(ValueError, match="text of snapshot"):
        build(PackageSpec(**{**spec.__dict__, "captures": wrong}), tmp_path / "package.wacz")


def flip_warc_body(data: bytes) -> bytes:
    """Changes one byte of the archived page inside a WARC record, gzip kept valid."""
    members, rest = [], data
    while rest:
        stream = zlib.decompressobj(31)
        members.append(stream.decompress(rest))
        rest = stream.unused_data
    index = next(i for i, member in enumerate(members) if b"Iran admits sending drones</h1>" in member)
    members[index] = members[index].replace(b"admits sending", b"admits s3nding")
    return b"".join(gzip.compress(member, mtime=0) for member in members)


def flip_signature(data: bytes) -> bytes:
    digest = json.loads(data)
    signature = digest["signedData"]["signature"]
    digest["signedData"]["signature"] = ("B" if signature[0] == "A" else "A") + signature[1:]
    return json.dumps(digest, indent=2).encode()


@pytest.mark.parametrize(
    ("part", "change", "named"),
    [
        ("warc", flip_warc_body, ["its SHA-256 does not match datapackage.json", "digest failed"]),
        (FACT_CHECK_PATH, lambda data: data.replace(b"drones", b"dr0nes", 1),
         [f"{FACT_CHECK_PATH}: its SHA-256 does not match datapackage.json"]),
        ("datapackage.json", lambda data: flip(data, data.index(b'"title"') + 12),
         ["datapackage-digest.json: the hash of datapackage.json does not match",
          "signedData: the signed hash is not the hash of datapackage.json"]),
        ("datapackage-digest.json", flip_signature, ["signedData: the signature does not verify"]),
    ],
)
def test_one_changed_byte_in_any_part_fails_verification_and_is_named(spec, tmp_path, part, change, named):
    package = build(spec, tmp_path / "package.wacz")
    if part == "warc":
        part = next(name for name in zipfile.ZipFile(package).namelist() if name.startswith("archive/"))
    verify(package)

    errors = verify_fails(rewrite(package, part, change))

    for message in named:
        assert message in errors


def test_a_byte_flipped_in_the_zip_itself_is_caught(spec, tmp_path):
    package = build(spec, tmp_path / "package.wacz")
    with zipfile.ZipFile(package) as archive:
        warc = next(info for info in archive.infolist() if info.filename.startswith("archive/"))
    # The member's data starts after its 30-byte local header, name and extra field.
    middle = warc.header_offset + 30 + len(warc.filename) + len(warc.extra) + warc.compress_size // 2
    damaged = tmp_path / "damaged.wacz"
    damaged.write_bytes(flip(package.read_bytes(), middle))

    assert f"{warc.filename}: the zip entry is corrupt" in verify_fails(damaged)


def test_a_package_signed_with_another_key_is_refused(spec, tmp_path):
    with (tmp_path / "other.wacz").open("wb") as out:
        package_write(spec, out, key=signing_key_generate(), software=SOFTWARE)

    errors = verify_fails(tmp_path / "other.wacz")

    assert "signed by a key that is not a trusted Verifier key" in errors


def test_an_edited_review_log_entry_in_the_package_is_caught(spec, tmp_path):
    entries = [dict(entry) for entry in spec.review_log]
    entries[0] = {**entries[0], "content": {**entries[0]["content"], "comment": "Rubber-stamped."}}
    package = build(PackageSpec(**{**spec.__dict__, "review_log": entries}), tmp_path / "edited.wacz")

    errors = verify_fails(package)

    sequence = entries[0]["content"]["sequence"]
    assert f"review log entry #{sequence}: its content does not match its chain hash" in errors


def test_a_package_verifies_after_the_key_is_rotated(spec, tmp_path):
    package = build(spec, tmp_path / "package.wacz")

    call_command("rotate_signing_key", stdout=io.StringIO())

    assert "OK:" in verify(package)[0]
    assert public_key_b64(signing_key_load().public_key()) not in package.read_bytes().decode("latin-1")


def test_a_stored_package_is_found_by_its_inputs_without_reading_a_warc(spec, tsa):
    first = evidence_package_store(spec=spec)

    def unreadable():
        raise AssertionError("a stored package must be served without reading its captures")

    captures = [
        PackageCapture(**{**capture.__dict__, "open_warc": unreadable, "load_text": unreadable})
        for capture in spec.captures
    ]
    again = evidence_package_store(spec=PackageSpec(**{**spec.__dict__, "captures": captures}))

    assert first.built and not again.built
    assert again.name == first.name
    with default_storage.open(first.name, "rb") as stored, zipfile.ZipFile(stored) as package:
        signed_hash = json.loads(package.read("datapackage-digest.json"))["hash"]
    stamp = TrustedTimestamp.objects.get(digest=signed_hash.removeprefix("sha256:"))
    assert stamp.kind == TrustedTimestamp.Kind.PACKAGE and stamp.token


def test_a_corrected_version_is_a_new_package(spec):
    first = evidence_package_store(spec=spec)
    corrected = PackageSpec(**{**spec.__dict__, "verdict": {**spec.verdict, "version": 2}})

    second = evidence_package_store(spec=corrected)

    assert second.built and second.name != first.name


def test_a_snapshot_taken_before_captures_existed_is_packaged_and_says_so(spec, tmp_path):
    without = PackageSpec(**{**spec.__dict__, "captures": []})

    out, _ = verify(build(without, tmp_path / "uncaptured.wacz"))

    evidence = spec.evidence[0].evidence
    assert f"note: evidence {evidence}: its snapshot has no WARC capture to check" in out
    assert "OK:" in out


def test_a_malformed_fact_check_is_a_named_failure_not_a_crash(spec, tmp_path):
    package = build(spec, tmp_path / "package.wacz")

    def malformed(data: bytes) -> bytes:
        document = json.loads(data)
        document["evidence"] = ["not an object"]
        document["reviewLog"]["entries"] = [{"content": {"sequence": "x"}}]
        return json.dumps(document).encode()

    errors = verify_fails(rewrite(package, FACT_CHECK_PATH, malformed))

    assert f"{FACT_CHECK_PATH} is malformed" in errors
