"""GET /api/v1/claims/{id}/evidence-package/: the signed WACZ of a published version, built once,
stored by its content hash and served from storage, checkable with nothing but the published key."""

import base64
import hashlib
import io
import json
import shutil
import subprocess
import sys
import urllib.request
import zipfile
from pathlib import Path
from unittest import mock

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from claims.models import Claim
from tests.factories import rating
from tests.verifier.provenance.packages import publish_citing_site
from verifier.provenance.models import TrustedTimestamp
from verifier.provenance.package import FACT_CHECK_PATH
from verifier.provenance.services import PACKAGE_TASK, trusted_timestamps_request_missing
from verifier.services.claims import claim_create
from verifier.services.verdicts import claim_submit, verdict_approve, verdict_save_draft

pytestmark = pytest.mark.django_db


def package_url(claim_id: int, query: str = "") -> str:
    return f"/api/v1/claims/{claim_id}/evidence-package/{query}"


@pytest.fixture
def published(site, fact_checker, reviewer) -> Claim:
    return publish_citing_site(site, fact_checker, reviewer)


def body_of(response) -> bytes:
    return b"".join(response.streaming_content)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_package_downloaded_over_http_validates_verifies_and_matches_the_published_key(
    live_server, published, tmp_path
):
    with urllib.request.urlopen(live_server.url + package_url(published.pk)) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/wacz"
        assert response.headers["Content-Disposition"] == (
            f'attachment; filename="verifier-fact-check-{published.pk}-v1.wacz"'
        )
        package = tmp_path / "downloaded.wacz"
        package.write_bytes(response.read())
    with urllib.request.urlopen(live_server.url + "/.well-known/verifier-signing-key.pem") as response:
        published_key = serialization.load_pem_public_key(response.read())

    wacz = shutil.which("wacz", path=str(Path(sys.executable).parent))
    assert wacz, "the wacz tool is a dev dependency"
    validated = subprocess.run([wacz, "validate", "-f", str(package)], capture_output=True, text=True)
    assert validated.returncode == 0, validated.stdout + validated.stderr

    out = io.StringIO()
    call_command("verify_evidence_package", str(package), stdout=out, stderr=io.StringIO())
    assert "OK:" in out.getvalue()

    # What a reader does without Verifier: the signed hash is datapackage.json's, and the
    # signature (base64 r || s) verifies with the key published at /.well-known/.
    with zipfile.ZipFile(package) as archive:
        datapackage = archive.read("datapackage.json")
        signed = json.loads(archive.read("datapackage-digest.json"))["signedData"]
        fact_check = json.loads(archive.read(FACT_CHECK_PATH))
    assert signed["hash"] == "sha256:" + hashlib.sha256(datapackage).hexdigest()
    raw = base64.b64decode(signed["signature"])
    signature = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    assert isinstance(published_key, ec.EllipticCurvePublicKey)
    published_key.verify(signature, signed["hash"].encode(), ec.ECDSA(hashes.SHA256()))
    assert fact_check["claim"]["id"] == published.pk and fact_check["verdict"]["version"] == 1
    assert fact_check["claimReview"]["claimReviewed"] == published.text
    assert fact_check["evidence"][0]["quote_offsets"]


def test_a_second_download_is_served_from_storage_without_reading_a_capture(client, published, storage_opens):
    first = client.get(package_url(published.pk))
    first_bytes = body_of(first)
    assert any(name.startswith("captures/") for name in storage_opens)
    storage_opens.clear()

    second = client.get(package_url(published.pk))

    assert body_of(second) == first_bytes
    assert [name.split("/")[0] for name in storage_opens] == ["packages"]
    assert second["ETag"] == first["ETag"]


def test_a_stored_package_is_served_without_reading_texts_or_the_whole_review_log(client, published):
    body_of(client.get(package_url(published.pk)))
    with CaptureQueriesContext(connection) as queries:
        body_of(client.get(package_url(published.pk)))

    snapshot_reads = [query["sql"] for query in queries if 'FROM "sources_snapshot"' in query["sql"]]
    assert snapshot_reads and not any('"sources_snapshot"."text"' in sql for sql in snapshot_reads)
    log_reads = [query["sql"] for query in queries if 'FROM "verifier_reviewlogentry"' in query["sql"]]
    # The claim's own entries, and its approval: never the whole log the inclusion proofs need.
    assert log_reads and all('"claim_id" =' in sql or '"verdict_id" =' in sql for sql in log_reads)


def test_a_missing_package_is_built_at_request_time_and_stored(client, published):
    response = client.get(package_url(published.pk))
    etag = response["ETag"].strip('"')

    assert response.status_code == 200
    stored = f"packages/{etag[:2]}/{etag}.wacz"
    assert default_storage.exists(stored)
    with default_storage.open(stored, "rb") as kept:
        assert kept.read() == body_of(response)


def test_the_etag_answers_a_conditional_get_with_304(client, published, storage_opens):
    etag = client.get(package_url(published.pk))["ETag"]
    storage_opens.clear()

    again = client.get(package_url(published.pk), HTTP_IF_NONE_MATCH=etag)

    assert again.status_code == 304 and again["ETag"] == etag
    assert storage_opens == []
    assert client.get(package_url(published.pk), HTTP_IF_NONE_MATCH='"other"').status_code == 200


def test_the_same_version_is_the_same_bytes_when_built_again(client, published):
    first = client.get(package_url(published.pk))
    first_bytes = body_of(first)
    etag = first["ETag"].strip('"')
    default_storage.delete(f"packages/{etag[:2]}/{etag}.wacz")

    again = client.get(package_url(published.pk))

    assert body_of(again) == first_bytes and again["ETag"] == first["ETag"]


def test_an_earlier_published_version_is_downloaded_by_its_number(
    client, published, fact_checker, second_reviewer
):
    verdict_save_draft(actor=fact_checker, claim=published, rating=rating("mostly-false"), summary="Hm.")
    claim_submit(actor=fact_checker, claim=published)
    verdict_approve(actor=second_reviewer, claim=published)

    def fact_check(query: str) -> dict:
        response = client.get(package_url(published.pk, query))
        assert response.status_code == 200
        with zipfile.ZipFile(io.BytesIO(body_of(response))) as archive:
            return json.loads(archive.read(FACT_CHECK_PATH))

    current, earlier = fact_check(""), fact_check("?version=1")

    assert (current["verdict"]["version"], current["verdict"]["summary"]) == (2, "Hm.")
    assert (earlier["verdict"]["version"], earlier["verdict"]["summary"]) == (1, "No.")
    assert earlier["claimReview"]["reviewRating"]["alternateName"] == "False"
    assert len(earlier["reviewLog"]["entries"]) < len(current["reviewLog"]["entries"])


@pytest.mark.parametrize(
    "crafted", ["0", "-1", "abc", "1.0", "1e3", "", "99999999999999999999", "40000", " 1"]
)
def test_a_crafted_version_is_a_400(client, published, crafted):
    response = client.get(package_url(published.pk), {"version": crafted})

    assert response.status_code == 400
    assert "version" in response.json()


def test_a_version_never_published_is_a_json_404(client, published):
    response = client.get(package_url(published.pk, "?version=2"))

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json()


@pytest.mark.parametrize("reader", ["anonymous", "staff"])
def test_an_unpublished_claim_has_no_package_for_anyone(client, fact_checker, reviewer, reader):
    claim = claim_create(actor=fact_checker, text="A claim still in draft", claimant_name="Iran")
    verdict_save_draft(actor=fact_checker, claim=claim, rating=rating("false"), summary="No.", explanation="")
    if reader == "staff":
        client.force_login(reviewer)

    response = client.get(package_url(claim.pk), HTTP_ACCEPT="application/wacz")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert client.get(package_url(999_999)).status_code == 404


def test_downloads_are_throttled_like_other_reads(client, published, settings):
    settings.API_THROTTLE_ANON = "2/minute"

    statuses = [client.get(package_url(published.pk)).status_code for _ in range(3)]

    assert statuses == [200, 200, 429]


def test_the_endpoint_is_in_the_openapi_schema(client):
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    operation = schema["paths"]["/api/v1/claims/{id}/evidence-package/"]["get"]
    assert "application/wacz" in operation["responses"]["200"]["content"]
    assert {"304", "400", "404"} <= set(operation["responses"])
    assert [parameter["name"] for parameter in operation["parameters"] if parameter["in"] == "query"] == [
        "version"
    ]


def test_each_approval_queues_the_package_build_by_name_after_commit(
    site, fact_checker, reviewer, django_capture_on_commit_callbacks
):
    with (
        mock.patch("verifier.provenance.services.task_queue") as task_queue,
        django_capture_on_commit_callbacks(execute=True),
    ):
        claim = publish_citing_site(site, fact_checker, reviewer)

    task_queue.assert_called_once_with(name=PACKAGE_TASK, args=(claim.pk, 1), swept_by="the first download")


def test_the_build_task_stores_the_package_the_endpoint_then_serves(client, published, storage_opens):
    from verifier.tasks import build_evidence_package

    assert build_evidence_package.name == PACKAGE_TASK
    assert build_evidence_package(published.pk, 1) == "built"
    assert build_evidence_package(published.pk, 1) == "already stored"
    assert build_evidence_package(published.pk, 7) == "not published"
    storage_opens.clear()

    body_of(client.get(package_url(published.pk)))

    assert [name.split("/")[0] for name in storage_opens] == ["packages"]


def test_a_download_never_waits_for_the_timestamp_authority(client, published, tsa):
    tsa.failing = True

    response = client.get(package_url(published.pk))

    assert response.status_code == 200 and tsa.requests == 0
    with zipfile.ZipFile(io.BytesIO(body_of(response))) as archive:
        signed_hash = json.loads(archive.read("datapackage-digest.json"))["hash"]
    waiting = TrustedTimestamp.objects.get(digest=signed_hash.removeprefix("sha256:"))
    assert (waiting.kind, bytes(waiting.token), waiting.attempts) == ("package", b"", 0)

    tsa.failing = False
    assert trusted_timestamps_request_missing() == 2  # the package's token and its capture's

    waiting.refresh_from_db()
    assert waiting.token and waiting.stamped_at is not None
