"""NUL characters (issue 9, finding 5): a cited page or an imported CSV cell holding one is stored
without it or refused as a row error; on PostgreSQL it was a DataError, the source stuck fetching."""

import codecs

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from werkzeug import Response

from claims.models import Claim
from sources.fetcher import fetch
from sources.models import Snapshot, Source
from sources.services import fetch_limits
from verifier.services.claims import claim_create
from verifier.services.evidence import evidence_add
from verifier.services.sources import source_fetch_and_apply

pytestmark = pytest.mark.django_db

QUOTE = "these drones were exported before the attack on Ukraine"


@pytest.fixture
def site(settings, httpserver):
    settings.SOURCES_ALLOW_PRIVATE_NETWORKS = True
    settings.SOURCES_ALLOWED_PORTS = frozenset({httpserver.port})
    settings.MEDIA_ROOT = str(settings.VAR_DIR / "test-media")
    return httpserver


def fetch_cited(fact_checker, url: str) -> Snapshot:
    """Cites the URL and runs the fetch as a worker would, into the database."""
    claim = claim_create(actor=fact_checker, text="Iran exported drones early", claimant_name="Iran")
    evidence = evidence_add(actor=fact_checker, claim=claim, url=url, quote=QUOTE, stance="supports")
    source = Source.objects.get(pk=evidence.source_id)
    source_fetch_and_apply(source_id=source.pk, token=str(source.fetch_token))
    source.refresh_from_db()
    assert source.status != Source.Status.FETCHING
    return source.snapshots.get()


def serve(site, path: str, body: bytes, content_type: str, **headers: str) -> str:
    site.expect_request(path).respond_with_response(
        Response(body, content_type=content_type, headers=headers)
    )
    return site.url_for(path)


def test_plain_text_with_a_nul_after_two_kilobytes_is_stored_without_it(fact_checker, queued, site):
    body = ("Background. " * 200 + f"Iran says {QUOTE}.\x00 The end.").encode()
    url = serve(site, "/statement.txt", body, "text/plain; charset=utf-8")

    snapshot = fetch_cited(fact_checker, url)

    assert snapshot.outcome == "fetched"
    assert "\x00" not in snapshot.text and QUOTE in snapshot.text
    assert snapshot.source.evidence.get().quote_status == "found"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
def test_a_utf16_or_utf32_page_with_u0000_is_stored_without_it(fact_checker, queued, site, encoding):
    # Every other byte of such a body is 0; only the decoded text says which characters are NUL.
    text = f"Iran says {QUOTE}.\x00\x00 The end."
    url = serve(site, f"/{encoding}.txt", text.encode(encoding), f"text/plain; charset={encoding}")

    snapshot = fetch_cited(fact_checker, url)

    assert snapshot.outcome == "fetched"
    assert snapshot.text == f"Iran says {QUOTE}. The end."


def test_a_nul_in_an_html_title_and_a_header_is_stored_without_it(fact_checker, queued, site):
    padding = "<!-- " + "x" * 2000 + " -->"
    page = (
        f"<!doctype html><html><head>{padding}<title>Drones\x00 report</title></head>"
        f"<body><article><p>Iran says {QUOTE}.</p><p>More\x00 text here.</p></article></body></html>"
    )
    url = serve(site, "/page", page.encode(), "text/html; charset=utf-8", **{"Server": "nginx\x00evil"})

    snapshot = fetch_cited(fact_checker, url)

    assert snapshot.outcome == "fetched"
    assert snapshot.title == "Drones report"
    assert "\x00" not in snapshot.text
    assert "\x00" not in str(snapshot.headers)


def test_a_body_that_no_encoding_decodes_is_a_recorded_outcome(fact_checker, queued, site):
    # A UTF-16 byte order mark, then an odd number of bytes.
    url = serve(site, "/broken.txt", codecs.BOM_UTF16_LE + b"I\x00r\x00a", "text/plain")

    snapshot = fetch_cited(fact_checker, url)

    assert snapshot.outcome == "decoding_error"


def test_the_fetch_says_how_many_nul_characters_it_removed(site):
    # A NUL within the first kilobyte marks a binary body, refused as such; later ones are removed.
    text = "Background. " * 100 + f"Iran\x00 says\x00 {QUOTE}."
    url = serve(site, "/nul.txt", text.encode(), "text/plain; charset=utf-8")

    result = fetch(url, limits=fetch_limits())

    assert result.text == text.replace("\x00", "").strip()
    assert result.extraction_note == "removed 2 NUL characters"


@pytest.mark.parametrize("charset", ["base64", "rot13", "zlib"])
def test_a_charset_that_is_not_a_text_encoding_is_ignored(site, charset):
    url = serve(site, "/odd.txt", f"Iran says {QUOTE}.".encode(), f"text/plain; charset={charset}")

    result = fetch(url, limits=fetch_limits())

    assert result.outcome == "fetched"
    assert result.text == f"Iran says {QUOTE}."


IMPORT = "/admin/claims/claim/import/"


def test_a_csv_cell_with_a_nul_is_a_row_error_and_nothing_is_imported(client, fact_checker):
    client.force_login(fact_checker)
    rows = (
        "claimant,text,tags\n"
        "Iran,Iran exported drones\x00 early,drones\n"
        "Russia,Russia bought drones,a\x00b\n"
    )

    preview = client.post(IMPORT, {"file": SimpleUploadedFile("claims.csv", rows.encode(), "text/csv")})

    assert preview.status_code == 200
    page = preview.content.decode()
    assert "text: contains a NUL character." in page
    assert "tags: contains a NUL character." in page
    assert preview.context["token"] == ""
    assert not Claim.objects.exists()
