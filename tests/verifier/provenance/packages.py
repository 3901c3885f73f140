"""A published claim citing a page really fetched and captured, and package helpers."""

import zipfile
from pathlib import Path

from django.core.files.storage import default_storage

from sources.models import Snapshot
from sources.services import source_fetch
from tests.factories import rating
from verifier.models import ReviewLogEntry, Verdict
from verifier.provenance.keys import signing_key_load, signing_key_record
from verifier.provenance.package import PackageCapture, PackageEvidence, PackageSpec, package_write
from verifier.provenance.selectors import review_log_package_part
from verifier.provenance.services import review_log_checkpoint_store
from verifier.services.claims import claim_create
from verifier.services.evidence import evidence_add
from verifier.services.verdicts import claim_submit, verdict_approve, verdict_save_draft

QUOTE = "Iran says that these drones were exported before the attack on Ukraine"
ARTICLE = f"""<!doctype html><html><head><title>Iran admits sending drones</title></head><body>
<article><h1>Iran admits sending drones</h1>
<p>Iran has also admitted to sending drones to Russia, but {QUOTE.replace("Iran says", "Iran   says")}.</p>
<p>White House spokesman John Kirby said Tehran has received extraordinary defence support.</p>
</article></body></html>"""
SOFTWARE = "Verifier test"


def serve_article(settings, httpserver):
    settings.SOURCES_ALLOW_PRIVATE_NETWORKS = True
    settings.SOURCES_ALLOWED_PORTS = frozenset({httpserver.port})
    settings.MEDIA_ROOT = str(settings.VAR_DIR / "test-media")
    httpserver.expect_request("/drones").respond_with_data(ARTICLE, content_type="text/html")
    return httpserver


def published_spec(site, fact_checker, reviewer):
    """A claim published through the workflow, citing a page really fetched and captured, and
    the package inputs gathered from what the database then holds."""
    claim = claim_create(actor=fact_checker, text="Iran exported drones before the war", claimant_name="Iran")
    evidence = evidence_add(
        actor=fact_checker, claim=claim, url=site.url_for("/drones"), quote=QUOTE, stance="supports"
    )
    evidence.source.refresh_from_db()
    snapshot = source_fetch(source_id=evidence.source_id, token=str(evidence.source.fetch_token))
    assert isinstance(snapshot, Snapshot) and snapshot.warc_sha256
    verdict_save_draft(actor=fact_checker, claim=claim, rating=rating("false"), summary="No.", explanation="")
    claim_submit(actor=fact_checker, claim=claim)
    verdict = verdict_approve(actor=reviewer, claim=claim)
    review_log_checkpoint_store()
    approval = ReviewLogEntry.objects.filter(claim=claim).order_by("-sequence").first()
    entries, checkpoint = review_log_package_part(claim_id=claim.pk, up_to_sequence=approval.sequence)
    verdict = Verdict.objects.get(pk=verdict.pk)
    return PackageSpec(
        title=f"Fact-check {claim.pk}, version {verdict.version}",
        created=verdict.approved_at,
        claim={"id": claim.pk, "text": claim.text},
        verdict={"version": verdict.version, "rating": "False", "summary": verdict.summary},
        claim_review={"@type": "ClaimReview", "claimReviewed": claim.text},
        fingerprint=verdict.evidence_fingerprint,
        evidence=[
            PackageEvidence(
                evidence=evidence.pk, url=evidence.source.url, stance=evidence.stance,
                quote=evidence.quote, note="", quote_status="found", snapshot=snapshot.pk,
            )
        ],
        captures=[
            PackageCapture(
                snapshot=snapshot.pk, url=snapshot.requested_url, fetched_at=snapshot.fetched_at,
                title=snapshot.title, text_sha256=snapshot.text_sha256,
                warc_sha256=snapshot.warc_sha256, warc_bytes=snapshot.warc_bytes,
                load_text=lambda: snapshot.text,
                open_warc=lambda: default_storage.open(snapshot.warc.name, "rb"),
            )
        ],
        review_log=entries,
        checkpoint=checkpoint,
    )


def build(spec: PackageSpec, path: Path) -> Path:
    key = signing_key_load()
    signing_key_record(key)
    with path.open("wb") as out:
        package_write(spec, out, key=key, software=SOFTWARE)
    return path


def rewrite(path: Path, name: str, change) -> Path:
    """A well-formed copy of the package (valid zip, right CRCs) with one member changed."""
    tampered = path.with_name(f"tampered-{name.replace('/', '-')}.wacz")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(tampered, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            target.writestr(info, change(data) if info.filename == name else data)
    return tampered


