"""Trusted timestamps from an RFC 3161 authority (a local one, over real HTTP): stored, packaged,
checked with the authority's certificate, and an outage never raised into fetching or publishing."""

import hashlib
import io
import socket
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command

from sources.models import Snapshot
from sources.services import source_fetch
from tests.verifier.provenance.packages import QUOTE, build, rewrite
from verifier.provenance.inspection import timestamp_problems
from verifier.provenance.models import TrustedTimestamp
from verifier.provenance.package import PackageSpec
from verifier.provenance.selectors import trusted_timestamps_for
from verifier.provenance.services import trusted_timestamp_request, trusted_timestamps_request_missing
from verifier.services.claims import claim_create
from verifier.services.evidence import evidence_add
from verifier.tasks import request_missing_trusted_timestamps

pytestmark = pytest.mark.django_db

DIGEST = hashlib.sha256(b"a WARC capture").hexdigest()


def test_a_digest_gets_a_token_the_authority_certificate_verifies(tsa):
    stamp = trusted_timestamp_request(digest=DIGEST, kind=TrustedTimestamp.Kind.CAPTURE)

    assert stamp.token and stamp.stamped_at is not None and stamp.last_error == ""
    assert timestamp_problems(bytes(stamp.token), DIGEST, [tsa.root]) == []
    assert timestamp_problems(bytes(stamp.token), hashlib.sha256(b"other").hexdigest(), [tsa.root]) == [
        "the token stamps another digest"
    ]


def test_a_digest_already_stamped_is_not_asked_for_again(tsa):
    trusted_timestamp_request(digest=DIGEST, kind=TrustedTimestamp.Kind.CAPTURE)
    trusted_timestamp_request(digest=DIGEST, kind=TrustedTimestamp.Kind.CAPTURE)

    assert tsa.requests == 1


def test_without_an_authority_nothing_is_asked(settings):
    settings.VERIFIER_TSA_URL = ""

    assert trusted_timestamp_request(digest=DIGEST, kind=TrustedTimestamp.Kind.CAPTURE) is None
    assert trusted_timestamps_request_missing() == 0
    assert not TrustedTimestamp.objects.exists()


def test_an_outage_is_recorded_never_raised_and_retried_later(tsa):
    tsa.failing = True

    stamp = trusted_timestamp_request(digest=DIGEST, kind=TrustedTimestamp.Kind.PACKAGE)

    assert (bytes(stamp.token), stamp.attempts) == (b"", 1)
    assert "503" in stamp.last_error
    # Not asked again at once, then asked again once the authority had time to come back.
    tsa.failing = False
    assert trusted_timestamps_request_missing() == 0
    an_hour_earlier = stamp.last_attempt_at - timedelta(hours=1)
    TrustedTimestamp.objects.filter(pk=stamp.pk).update(last_attempt_at=an_hour_earlier)
    assert trusted_timestamps_request_missing() == 1
    stamp.refresh_from_db()
    assert stamp.token and stamp.attempts == 2 and stamp.last_error == ""


def test_an_unreachable_authority_is_an_attempt_not_an_error(settings):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        settings.VERIFIER_TSA_URL = f"http://127.0.0.1:{unused.getsockname()[1]}/tsa"
    settings.VERIFIER_TSA_TIMEOUT = 2.0

    stamp = trusted_timestamp_request(digest=DIGEST, kind=TrustedTimestamp.Kind.CAPTURE)

    assert stamp.token == b"" and "could not be reached" in stamp.last_error


def test_new_captures_get_their_tokens_from_the_beat_sweep(site, tsa, fact_checker):
    claim = claim_create(actor=fact_checker, text="Iran exported drones", claimant_name="Iran")
    evidence = evidence_add(
        actor=fact_checker, claim=claim, url=site.url_for("/drones"), quote=QUOTE, stance="supports"
    )
    evidence.source.refresh_from_db()
    snapshot = source_fetch(source_id=evidence.source_id, token=str(evidence.source.fetch_token))
    assert isinstance(snapshot, Snapshot)

    assert request_missing_trusted_timestamps() == 1

    stamp = TrustedTimestamp.objects.get(digest=snapshot.warc_sha256)
    assert stamp.kind == TrustedTimestamp.Kind.CAPTURE and stamp.token


def verify_with(package, *extra):
    out = io.StringIO()
    call_command("verify_evidence_package", str(package), *extra, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def verify_errors(package, *extra):
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("verify_evidence_package", str(package), *extra, stdout=io.StringIO(), stderr=err)
    return err.getvalue()


def test_a_package_carries_its_capture_tokens_and_they_verify_with_tsa_cert(spec, tsa, tmp_path):
    capture = spec.captures[0]
    trusted_timestamp_request(digest=capture.warc_sha256, kind=TrustedTimestamp.Kind.CAPTURE)
    stamped = PackageSpec(**{**spec.__dict__, "timestamps": trusted_timestamps_for([capture.warc_sha256])})
    package = build(stamped, tmp_path / "stamped.wacz")
    root = tmp_path / "tsa-root.pem"
    root.write_bytes(tsa.root_pem)

    assert "not checked against an authority" in verify_with(package)
    assert "OK:" in verify_with(package, "--tsa-cert", str(root))

    other = tmp_path / "other-root.pem"
    other.write_bytes(type(tsa)().root_pem)
    assert "does not verify against the authority's certificate" in verify_errors(
        package, "--tsa-cert", str(other)
    )

    token_path = f"verifier/{capture.warc_sha256}.tsr"
    tampered = rewrite(package, token_path, lambda data: data[:-1] + bytes([data[-1] ^ 1]))
    assert f"{token_path}: its SHA-256 does not match datapackage.json" in verify_errors(
        tampered, "--tsa-cert", str(root)
    )
