"""The keys at /.well-known/ and the latest checkpoint in the API: what a reader fetches to check
Verifier's signatures on their own."""

import pytest

from verifier.provenance.keys import signing_key_rotate
from verifier.provenance.merkle import checkpoint_message
from verifier.provenance.models import ReviewLogCheckpoint
from verifier.provenance.signing import (
    private_key_from_pem,
    public_key_b64,
    public_key_b64_from_pem,
    signature_valid,
)

pytestmark = pytest.mark.django_db


def key_file_public_b64(path) -> str:
    return public_key_b64(private_key_from_pem(path.read_bytes()).public_key())


def test_the_published_pem_is_the_public_half_of_the_key_file(client, signing_key_file):
    response = client.get("/.well-known/verifier-signing-key.pem")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-pem-file"
    assert public_key_b64_from_pem(response.content) == key_file_public_b64(signing_key_file)


def test_after_a_rotation_the_old_key_stays_listed_as_retired(client, signing_key_file):
    old, new = signing_key_rotate()

    keys = client.get("/.well-known/verifier-signing-keys.json").json()["keys"]
    pem = client.get("/.well-known/verifier-signing-key.pem").content

    assert [(key["keyId"], key["retired"] is None) for key in keys] == [
        (new.key_id, True),
        (old.key_id, False),
    ]
    assert [public_key_b64_from_pem(key["pem"].encode()) for key in keys] == [new.public_key, old.public_key]
    assert public_key_b64_from_pem(pem) == new.public_key == key_file_public_b64(signing_key_file)


def test_the_checkpoint_covers_the_whole_log_and_its_signature_verifies(client, published_claim):
    checkpoint = client.get("/api/v1/review-log/checkpoint/").json()

    assert checkpoint["size"] == ReviewLogCheckpoint.objects.get().size
    message = checkpoint_message(
        size=checkpoint["size"], head=checkpoint["head"], created=checkpoint["created"]
    )
    assert signature_valid(checkpoint["publicKey"], message, checkpoint["signature"])


def test_an_empty_log_has_no_checkpoint(client):
    response = client.get("/api/v1/review-log/checkpoint/")

    assert response.status_code == 404
    assert response.json() == {"detail": "The review log has no checkpoint yet."}


def test_the_checkpoint_is_in_the_openapi_schema(client):
    schema = client.get("/api/v1/schema/", {"format": "json"}).json()

    operation = schema["paths"]["/api/v1/review-log/checkpoint/"]["get"]
    assert set(operation["responses"]) == {"200", "404"}
