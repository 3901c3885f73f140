"""Archive pages for readers (SPEC §7): `/archive/{snapshot_id}/` shows what Verifier fetched for
a snapshot a published verdict cites, and offers its WARC capture and raw body as downloads.

The page shows only the extracted text, escaped, with the quotes marked by quote_spans (the span
finder of the admin's snapshot page and of the evidence package's offsets). What the site sent is
never rendered on this origin: the body and the capture are attachments of opaque bytes, with
`nosniff` and a sandbox CSP in case a browser opens them anyway. Any snapshot no published verdict
cites is a 404 (staff, who review work in progress, can see every snapshot).
"""

import logging
from collections.abc import Callable
from typing import IO

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.utils.cache import get_conditional_response
from django.utils.text import Truncator
from django.views.decorators.http import require_safe

from sources.highlight import QuoteMark, highlight, quote_spans
from sources.models import Snapshot
from sources.services import snapshot_body_check
from verifier.api.http_cache import public_read
from verifier.provenance.selectors import SnapshotCitation, snapshot_citations
from verifier.site import SharePreview, site_context

logger = logging.getLogger(__name__)

BODY_EXTENSIONS = {
    "text/html": ".html",
    "application/xhtml+xml": ".xhtml",
    "text/plain": ".txt",
    "application/pdf": ".pdf",
}
WARC_MEDIA_TYPE = "application/warc"
NO_BODY = "No body was kept for this snapshot."


def untrusted_download(file: IO[bytes], *, filename: str, content_type: str) -> FileResponse:
    """Bytes someone else wrote, as an attachment a browser neither sniffs nor runs."""
    response = FileResponse(file, as_attachment=True, filename=filename, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    return response


def snapshot_body_download(snapshot: Snapshot) -> FileResponse:
    """The stored raw body of the snapshot as opaque bytes; the caller has checked its hash."""
    media_type = snapshot.content_type.split(";")[0].strip().lower()
    filename = (
        f"snapshot-{snapshot.pk}-{snapshot.content_sha256[:12]}{BODY_EXTENSIONS.get(media_type, '.bin')}"
    )
    name = _stored(snapshot.body.name, missing=NO_BODY)
    return untrusted_download(
        default_storage.open(name, "rb"),
        filename=filename,
        content_type="application/octet-stream",
    )


def _stored(name: str | None, *, missing: str) -> str:
    """The storage name of a snapshot's file, or a 404 saying why there is none."""
    if not name or not default_storage.exists(name):
        raise Http404(missing)
    return name


def _archived(request: HttpRequest, snapshot_id: int) -> tuple[Snapshot, list[SnapshotCitation]]:
    snapshot = Snapshot.objects.select_related("source").filter(pk=snapshot_id).first()
    if snapshot is None:
        raise Http404("No such archived snapshot.")
    citations = snapshot_citations(snapshot)
    if not citations and not request.user.is_staff:
        raise Http404("No published fact-check cites this snapshot.")
    return snapshot, citations


@require_safe
@public_read
def archive_snapshot(request: HttpRequest, snapshot_id: int) -> HttpResponse:
    snapshot, citations = _archived(request, snapshot_id)
    marks = [
        QuoteMark(
            label=f"Quoted in fact-check #{citation.claim_id}",
            anchor=f"quote-{citation.evidence_id}",
            spans=quote_spans(citation.quote, snapshot.text),
        )
        for citation in citations
    ]
    name = snapshot.title or snapshot.requested_url
    address = Truncator(snapshot.requested_url).chars(120)
    share = SharePreview(
        title=f"Archived copy: {Truncator(name).chars(90)}",
        description=f"What {settings.VERIFIER_ORG_NAME} fetched from {address}.",
        published=snapshot.fetched_at,
    )
    context = {
        **site_context(request, share),
        "snapshot": snapshot,
        "citations": [(citation, bool(mark.spans)) for citation, mark in zip(citations, marks, strict=True)],
        "highlighted_text": highlight(snapshot.text, [mark for mark in marks if mark.spans]),
        "has_body": bool(snapshot.body.name),
        "has_capture": bool(snapshot.warc.name),
    }
    return render(request, "verifier/archive_snapshot.html", context)


@require_safe
def archive_snapshot_capture(request: HttpRequest, snapshot_id: int) -> HttpResponseBase:
    """The snapshot's WARC capture, exactly as stored (its SHA-256 is on the archive page)."""
    snapshot, _ = _archived(request, snapshot_id)
    name = _stored(snapshot.warc.name, missing="This snapshot was taken before captures were recorded.")
    return _immutable(
        request,
        digest=snapshot.warc_sha256,
        respond=lambda: untrusted_download(
            default_storage.open(name, "rb"),
            filename=f"snapshot-{snapshot.pk}.warc.gz",
            content_type=WARC_MEDIA_TYPE,
        ),
    )


@require_safe
def archive_snapshot_body(request: HttpRequest, snapshot_id: int) -> HttpResponseBase:
    """The raw body the site sent, as an attachment, only while it still matches its SHA-256."""
    snapshot, _ = _archived(request, snapshot_id)
    _stored(snapshot.body.name, missing=NO_BODY)
    if (mismatch := snapshot_body_check(snapshot=snapshot)) is not None:
        # Never served under a hash it no longer has; manage.py verify_snapshots --repair mends it.
        logger.error("The stored body of snapshot %s does not match its SHA-256: %s", snapshot.pk, mismatch)
        raise Http404("The stored body of this snapshot is damaged.")
    return _immutable(
        request, digest=snapshot.content_sha256, respond=lambda: snapshot_body_download(snapshot)
    )


def _immutable(
    request: HttpRequest, *, digest: str, respond: Callable[[], HttpResponseBase]
) -> HttpResponseBase:
    """A stored file never changes under its hash: answers If-None-Match with 304 before opening it."""
    etag = f'"{digest}"'
    not_modified = get_conditional_response(request, etag=etag)
    if not_modified is not None:
        not_modified["ETag"] = etag
        return not_modified
    response = respond()
    response["ETag"] = etag
    return response
