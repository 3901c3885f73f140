"""A published claim citing a page really fetched and captured, and package helpers."""

import zipfile
from pathlib import Path

from claims.models import Claim
from sources.models import Snapshot, Source
from sources.services import source_request_fetch
from tests.factories import rating
from verifier.provenance.keys import signing_key_load, signing_key_record
from verifier.provenance.package import PackageSpec, package_write
from verifier.provenance.selectors import evidence_package_spec, published_verdict
from verifier.services.claims import claim_create
from verifier.services.evidence import evidence_add
from verifier.services.sources import source_fetch_and_apply
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


def publish_citing_site(site, fact_checker, reviewer, *, path: str = "/drones", quote: str = QUOTE) -> Claim:
    """A claim published through the workflow, citing a page really fetched and captured."""
    claim = claim_create(actor=fact_checker, text="Iran exported drones before the war", claimant_name="Iran")
    evidence = evidence_add(
        actor=fact_checker, claim=claim, url=site.url_for(path), quote=quote, stance="supports"
    )
    fetch_now(evidence.source)
    verdict_save_draft(actor=fact_checker, claim=claim, rating=rating("false"), summary="No.", explanation="")
    claim_submit(actor=fact_checker, claim=claim)
    verdict_approve(actor=reviewer, claim=claim)
    claim.refresh_from_db()
    return claim


def fetch_now(source: Source) -> Snapshot:
    """Fetches the source as a worker would (the local page, guarded, captured) and records it."""
    source.refresh_from_db()
    if source.status not in (Source.Status.PENDING, Source.Status.FETCHING):
        source_request_fetch(source=source, queue=False)
        source.refresh_from_db()
    snapshot = source_fetch_and_apply(source_id=source.pk, token=str(source.fetch_token))
    assert isinstance(snapshot, Snapshot) and snapshot.warc_sha256
    return snapshot


def published_spec(site, fact_checker, reviewer) -> PackageSpec:
    """The package inputs of such a claim, as the product gathers them from the database."""
    claim = publish_citing_site(site, fact_checker, reviewer)
    verdict = published_verdict(claim_id=claim.pk)
    assert verdict is not None
    return evidence_package_spec(verdict)


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


