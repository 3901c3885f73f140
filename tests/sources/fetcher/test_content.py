"""Content (sources/fetcher/content.py): which types are accepted, how text is decoded, and what
is extracted from HTML, plain text and PDF."""

from __future__ import annotations

import hashlib
import socket

import pytest
import trafilatura
from pytest_httpserver import HTTPServer

from sources.fetcher import Outcome, fetch
from sources.fetcher.content import extract_html
from sources.quotes import quote_found

from .documents import ARTICLE_PARAGRAPHS, ARTICLE_TITLE, article_html, make_pdf
from .guard import local_limits
from .servers import RawServer, RawServerFactory, send

# ---------------------------------------------------------------------------------------------
# Content types
# ---------------------------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4


@pytest.mark.parametrize(
    "content_type", ["image/png", "application/octet-stream", "video/mp4", "application/json"]
)
def test_unsupported_content_types_are_refused_without_reading_the_body(
    content_type: str, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/").respond_with_data(PNG, content_type=content_type)
    result = fetch(httpserver.url_for("/"), limits=local_limits(httpserver.port))
    assert result.outcome == Outcome.UNSUPPORTED_CONTENT_TYPE
    assert content_type in result.reason
    assert (result.body, result.bytes_received) == (b"", 0)
    assert result.http_status == 200
    assert not result.transient


@pytest.mark.parametrize("content_type", ["text/html", "text/plain; charset=utf-8"])
def test_a_binary_body_claiming_to_be_text_is_refused(
    content_type: str, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/").respond_with_data(PNG, content_type=content_type)
    result = fetch(httpserver.url_for("/"), limits=local_limits(httpserver.port))
    assert result.outcome == Outcome.UNSUPPORTED_CONTENT_TYPE
    assert "looks binary" in result.reason
    assert result.body == PNG


@pytest.mark.parametrize(
    ("body", "outcome", "content_type"),
    [
        (
            b"<!DOCTYPE html><html><body><p>Sniffed page.</p></body></html>",
            Outcome.FETCHED,
            "text/html",
        ),
        (make_pdf(["Sniffed PDF text"]), Outcome.FETCHED, "application/pdf"),
        (b"just some bytes", Outcome.UNSUPPORTED_CONTENT_TYPE, ""),
    ],
    ids=["html", "pdf", "unknown"],
)
def test_a_response_without_content_type_is_sniffed_for_html_and_pdf_only(
    body: bytes, outcome: Outcome, content_type: str, raw_server: RawServerFactory
) -> None:
    def handler(conn: socket.socket, head: bytes, server: RawServer) -> None:
        send(conn, "200 OK", {"Content-Length": str(len(body))}, body)

    server = raw_server(handler)
    result = fetch(server.url("/"), limits=local_limits(server.port))
    assert result.outcome == outcome, result.reason
    assert result.content_type == content_type
    if outcome != Outcome.FETCHED:
        assert "no Content-Type" in result.reason


def test_xhtml_with_an_xml_declaration_is_extracted(httpserver: HTTPServer) -> None:
    page = (
        '<?xml version="1.0" encoding="iso-8859-1"?>\n'
        '<html xmlns="http://www.w3.org/1999/xhtml"><head><title>Café</title></head>'
        "<body><p>Le café est servi.</p></body></html>"
    ).encode("iso-8859-1")
    httpserver.expect_request("/").respond_with_data(page, content_type="application/xhtml+xml")
    result = fetch(httpserver.url_for("/"), limits=local_limits(httpserver.port))
    assert result.outcome == Outcome.FETCHED, result.reason
    assert result.content_type == "application/xhtml+xml"
    assert (result.charset, result.charset_source) == ("cp1252", "meta")
    assert "Le café est servi." in result.text


# ---------------------------------------------------------------------------------------------
# Character sets
# ---------------------------------------------------------------------------------------------

CYRILLIC = (
    "Россия получила сотни беспилотников из Ирана, заявили в Белом доме. Иран утверждает, "
    "что дроны были экспортированы до вторжения. Завод в особой экономической зоне Алабуга "
    "заработает в полную силу в начале следующего года."
)


@pytest.mark.parametrize(
    ("body", "content_type", "charset", "source", "expected"),
    [
        (
            "\ufeffZürich café".encode(),
            "text/plain; charset=iso-8859-1",
            "utf-8",
            "bom",
            "Zürich café",
        ),
        (
            "\ufeffBOM says UTF-16: naïve".encode("utf-16-le"),
            "text/plain",
            "utf-16-le",
            "bom",
            "naïve",
        ),
        (CYRILLIC.encode("koi8-r"), "text/plain; charset=KOI8-R", "koi8-r", "header", "Алабуга"),
        (
            "<html><head><meta charset='windows-1252'></head><body><p>“Quoted” \u2013 5 €</p>"
            "</body></html>".encode("cp1252"),
            "text/html",
            "cp1252",
            "meta",
            "“Quoted” \u2013 5 €",
        ),
        (
            '<html><head><meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">'
            "</head><body><p>Señor “smart”</p></body></html>".encode("cp1252"),
            "text/html",
            "cp1252",
            "meta",
            "Señor “smart”",
        ),
        (
            f"<html><body><p>{CYRILLIC}</p></body></html>".encode("cp1251"),
            "text/html",
            "cp1251",
            "detected",
            "Алабуга",
        ),
        ("Undeclared UTF-8: déjà vu".encode(), "text/plain", "utf-8", "detected", "déjà vu"),
        (
            "x-bogus charset falls back: ñ".encode(),
            "text/plain; charset=x-bogus",
            "utf-8",
            "detected",
            "ñ",
        ),
    ],
    ids=[
        "utf8-bom-beats-header",
        "utf16-bom",
        "header",
        "meta",
        "http-equiv",
        "detected-1251",
        "detected-utf8",
        "unknown-header-charset",
    ],
)
def test_text_is_decoded_by_bom_then_header_then_meta_then_detection(
    body: bytes,
    content_type: str,
    charset: str,
    source: str,
    expected: str,
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request("/").respond_with_data(body, content_type=content_type)
    result = fetch(httpserver.url_for("/"), limits=local_limits(httpserver.port))
    assert result.outcome == Outcome.FETCHED, result.reason
    assert (result.charset, result.charset_source) == (charset, source)
    assert expected in result.text


def test_undecodable_text_is_a_decoding_error(httpserver: HTTPServer) -> None:
    noise = bytes((index * 7919) % 128 + 128 for index in range(4000))
    httpserver.expect_request("/").respond_with_data(noise, content_type="text/plain")
    result = fetch(httpserver.url_for("/"), limits=local_limits(httpserver.port))
    assert result.outcome == Outcome.DECODING_ERROR
    assert result.body == noise


# ---------------------------------------------------------------------------------------------
# Extraction
# ---------------------------------------------------------------------------------------------


def test_html_article_gives_title_author_date_and_main_text(httpserver: HTTPServer) -> None:
    page = article_html().encode()
    httpserver.expect_request("/news/drones").respond_with_data(
        page, content_type="text/html; charset=utf-8"
    )
    result = fetch(httpserver.url_for("/news/drones"), limits=local_limits(httpserver.port))
    assert result.outcome == Outcome.FETCHED, result.reason
    assert (result.reason, result.block_reason, result.transient) == ("", "", False)
    assert result.http_status == 200
    assert result.content_type == "text/html"
    assert (result.charset, result.charset_source) == ("utf-8", "header")
    assert result.title == ARTICLE_TITLE
    assert result.author == "Jane Reporter"
    assert result.published == "2022-10-20"
    assert "fully operational early next year" in result.text
    assert "All rights reserved" not in result.text
    assert quote_found("Russia's Alaboga Special Economic Zone", result.text)
    assert result.content_sha256 == hashlib.sha256(page).hexdigest()
    assert result.text_sha256 == hashlib.sha256(result.text.encode()).hexdigest()
    assert result.bytes_received == len(page)
    assert result.extraction_note == ""


def test_html_without_main_content_falls_back_to_the_page_text(httpserver: HTTPServer) -> None:
    page = (
        b"<html><head><title>Tiny</title><script>var x = 1;</script></head>"
        b"<body><div>Short note.</div></body></html>"
    )
    httpserver.expect_request("/").respond_with_data(page, content_type="text/html")
    result = fetch(httpserver.url_for("/"), limits=local_limits(httpserver.port))
    assert result.outcome == Outcome.FETCHED, result.reason
    assert result.text == "Short note."
    assert result.title == "Tiny"


@pytest.mark.parametrize(
    "page", [b"", b"<html><head><title>t</title></head><body>  </body></html>"]
)
def test_html_with_no_text_at_all_is_extraction_failed(page: bytes, httpserver: HTTPServer):
    httpserver.expect_request("/").respond_with_data(page, content_type="text/html")
    result = fetch(httpserver.url_for("/"), limits=local_limits(httpserver.port))
    assert result.outcome == Outcome.EXTRACTION_FAILED
    assert result.text_sha256 == ""


def test_plain_text_is_kept_as_the_text(httpserver: HTTPServer) -> None:
    body = "\n".join(ARTICLE_PARAGRAPHS).encode()
    httpserver.expect_request("/a.txt").respond_with_data(body, content_type="text/plain")
    result = fetch(httpserver.url_for("/a.txt"), limits=local_limits(httpserver.port))
    assert result.outcome == Outcome.FETCHED, result.reason
    assert result.text == body.decode()
    assert result.title == ""


def test_pdf_text_and_metadata_are_extracted(httpserver: HTTPServer) -> None:
    pdf = make_pdf(
        ["Iran says the drones were exported before the invasion.", "Page two text."],
        title="Drone report",
        author="White House",
    )
    httpserver.expect_request("/r.pdf").respond_with_data(pdf, content_type="application/pdf")
    result = fetch(httpserver.url_for("/r.pdf"), limits=local_limits(httpserver.port))
    assert result.outcome == Outcome.FETCHED, result.reason
    assert result.content_type == "application/pdf"
    assert (result.charset, result.charset_source) == ("", "")
    assert (result.title, result.author, result.published) == (
        "Drone report",
        "White House",
        "2022-10-20",
    )
    assert quote_found("the drones were exported before the invasion", result.text)
    assert "Page two text." in result.text


def test_pdf_pages_beyond_the_limit_are_not_read(httpserver: HTTPServer) -> None:
    pdf = make_pdf(["First page.", "Second page.", "Third page."])
    httpserver.expect_request("/").respond_with_data(pdf, content_type="application/pdf")
    result = fetch(httpserver.url_for("/"), limits=local_limits(httpserver.port, max_pdf_pages=2))
    assert result.outcome == Outcome.FETCHED, result.reason
    assert "Second page." in result.text
    assert "Third page." not in result.text
    assert result.extraction_note == "read the first 2 of 3 pages (page limit)"


def test_pdf_extraction_stops_at_its_time_limit(httpserver: HTTPServer) -> None:
    pdf = make_pdf(["First page.", "Second page.", "Third page."])
    httpserver.expect_request("/").respond_with_data(pdf, content_type="application/pdf")
    result = fetch(httpserver.url_for("/"), limits=local_limits(httpserver.port, pdf_timeout=0))
    assert result.outcome == Outcome.FETCHED, result.reason
    assert result.text == "First page."
    assert result.extraction_note.startswith("stopped after 1 of 3 pages")


@pytest.mark.parametrize(
    "body",
    [b"%PDF-1.4\nthis is not really a pdf\n%%EOF", make_pdf(["x"])[:120]],
    ids=["garbage", "cut-short"],
)
def test_a_broken_pdf_is_extraction_failed(body: bytes, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/").respond_with_data(body, content_type="application/pdf")
    result = fetch(httpserver.url_for("/"), limits=local_limits(httpserver.port))
    assert result.outcome == Outcome.EXTRACTION_FAILED
    assert result.body == body
    assert result.content_sha256 == hashlib.sha256(body).hexdigest()


WORDS = "The ministry said the figures were published after the review of every district. " * 30
METADATA_PAGES = [
    # meta tags
    '<html><head><title>Drones | Daily</title><meta name="author" content="Amira Haddad">'
    '<meta property="article:published_time" content="2024-05-06T08:15:00Z"></head>'
    f"<body><article><p>{WORDS}</p></article></body></html>",
    # JSON-LD over the meta tags, and a one-word author the meta tags give
    '<html><head><meta name="author" content="Staff"><script type="application/ld+json">'
    '{"@context": "https://schema.org", "@type": "NewsArticle", "headline": "JSON headline",'
    ' "author": {"name": "Jane Doe"}, "datePublished": "2023-03-04"}</script></head>'
    f"<body><article><p>{WORDS}</p></article></body></html>",
    # a byline in the page, the date only in the URL
    '<html><head><title>Byline</title></head><body><div class="byline">By John Smith</div>'
    f"<article><p>{WORDS}</p></article></body></html>",
]


@pytest.mark.parametrize("markup", METADATA_PAGES)
def test_the_title_author_and_date_are_trafilaturas_own(markup):
    """extract_html reads only the metadata a snapshot keeps, in trafilatura's own steps: what it
    finds is what trafilatura's whole metadata extraction finds."""
    url = "https://news.example.org/2022/01/02/story"
    whole = trafilatura.bare_extraction(markup, url=url, fast=True, with_metadata=True)
    extracted = extract_html(markup, url)

    assert (extracted.title, extracted.author, extracted.published) == (
        " ".join((whole.title or "").split()),
        " ".join((whole.author or "").split()),
        whole.date or "",
    )
    assert extracted.title and extracted.published


def test_a_page_trafilatura_cannot_read_keeps_its_whole_text(monkeypatch):
    """As bare_extraction answers a TypeError or ValueError with no document, so does the metadata
    read beside it: the page's whole text is kept, not an error."""

    def unreadable(tree):
        raise ValueError("odd page")

    monkeypatch.setattr("sources.fetcher.content.examine_meta", unreadable)
    extracted = extract_html(METADATA_PAGES[0], "https://news.example.org/story")

    assert extracted.text.startswith("The ministry said")
    assert extracted.title == "Drones | Daily"
    assert extracted.note == "no main content found; kept the text of the whole page"
