"""The signing key: made once when missing, private to its owner, rotated without forgetting."""

import io
import stat

import pytest
from django.core.management import call_command

from verifier.provenance.keys import signing_key_load, signing_key_record, signing_key_rotate
from verifier.provenance.models import SigningKey
from verifier.provenance.signing import public_key_b64, sign_text, signature_valid

pytestmark = pytest.mark.django_db


def test_a_missing_key_is_generated_once_readable_by_its_owner_only(signing_key_file):
    first = signing_key_load()
    second = signing_key_load()

    assert stat.S_IMODE(signing_key_file.stat().st_mode) == 0o600
    assert public_key_b64(first.public_key()) == public_key_b64(second.public_key())


def test_a_configured_key_file_is_used_as_it_is(signing_key_file):
    signing_key_load()
    pem = signing_key_file.read_bytes()

    signing_key_load()

    assert signing_key_file.read_bytes() == pem


def test_signatures_are_deterministic_and_verify_with_the_public_key():
    key = signing_key_load()
    public = public_key_b64(key.public_key())

    signature = sign_text(key, "sha256:abc")

    assert sign_text(key, "sha256:abc") == signature
    assert signature_valid(public, "sha256:abc", signature)
    assert not signature_valid(public, "sha256:abd", signature)


def test_rotation_keeps_the_old_public_key_and_signs_with_the_new_one(signing_key_file):
    old_key = signing_key_load()
    signing_key_record(old_key)
    out = io.StringIO()

    call_command("rotate_signing_key", stdout=out)

    new_key = signing_key_load()
    old_public, new_public = public_key_b64(old_key.public_key()), public_key_b64(new_key.public_key())
    assert old_public != new_public
    assert SigningKey.objects.get(public_key=old_public).retired_at is not None
    assert SigningKey.objects.get(public_key=new_public).retired_at is None
    assert stat.S_IMODE(signing_key_file.stat().st_mode) == 0o600
    assert "PRIVATE KEY" not in out.getvalue()


def test_rotating_a_key_never_used_before_still_records_it_as_retired():
    old, new = signing_key_rotate()

    assert old.retired_at is not None
    assert new.retired_at is None
    assert SigningKey.objects.count() == 2
