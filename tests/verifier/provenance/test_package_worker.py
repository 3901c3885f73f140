"""An approval queues the build of its evidence package through the broker; a real worker process
builds and stores it, and the first download is then served from storage."""

import pytest
from django.core.files.storage import default_storage
from django.db import close_old_connections

from tests.processes import WorkerProcess, purge_queues, wait_for
from tests.verifier.provenance.packages import publish_citing_site
from verifier.provenance.keys import signing_key_load
from verifier.provenance.selectors import evidence_package_spec, published_verdict
from verifier.provenance.services import evidence_package_key

# Serialized rollback restores the rating scale and groups the migrations made (see test_end_to_end).
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def package_worker(site, signing_key_file):
    """A worker signing with this test's key and storing where this process reads."""
    signing_key_load()  # generated here once, so the worker reads the same key
    purge_queues()
    process = WorkerProcess({"VERIFIER_SIGNING_KEY": str(signing_key_file)}).start()
    yield process
    process.stop()


@pytest.mark.worker
def test_an_approval_has_a_real_worker_build_and_store_the_package(
    package_worker, site, fact_checker, reviewer, client, request
):
    claim = publish_citing_site(site, fact_checker, reviewer)
    verdict = published_verdict(claim_id=claim.pk)
    assert verdict is not None
    key = evidence_package_key(evidence_package_spec(verdict))
    name = f"packages/{key[:2]}/{key}.wacz"

    def stored() -> bool:
        close_old_connections()
        return default_storage.exists(name)

    wait_for(stored, timeout=60, what=f"the worker to build the package\n{package_worker.log()}")
    with default_storage.open(name, "rb") as kept:
        built = kept.read()
    opened = request.getfixturevalue("storage_opens")

    response = client.get(f"/api/v1/claims/{claim.pk}/evidence-package/")

    assert response.status_code == 200 and response["ETag"] == f'"{key}"'
    assert b"".join(response.streaming_content) == built
    assert opened == [name]
