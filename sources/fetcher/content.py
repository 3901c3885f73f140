"""Media types, text decoding and extraction of text and metadata from HTML, text and PDF."""

from __future__ import annotations

import codecs
import io
import logging
import re
import time
from dataclasses import dataclass

import charset_normalizer
import lxml.etree
import lxml.html
import pypdf
import trafilatura
import trafilatura.settings
import trafilatura.utils
from htmldate import find_date
from trafilatura.metadata import examine_meta, extract_author, extract_meta_json, extract_title, extract_url

from .result import FetchError, Outcome

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
PLAIN_TYPE = "text/plain"
PDF_TYPE = "application/pdf"
SUPPORTED_TYPES = HTML_TYPES | {PLAIN_TYPE, PDF_TYPE}

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# WHATWG Encoding Standard: these labels mean windows-1252 on the web.
_WEB_ALIASES = {"ascii": "cp1252", "latin_1": "cp1252", "iso8859_1": "cp1252"}
_META_CHARSET = re.compile(
    rb"""<meta[^>]*?charset\s*=\s*["']?\s*([a-z0-9_.:+-]{1,40})""", re.IGNORECASE
)
_XML_ENCODING = re.compile(
    rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([a-z0-9_.:+-]{1,40})""", re.IGNORECASE
)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
# C0 controls other than tab, newline, form feed, carriage return and escape (ISO-2022).
_CONTROL_BYTES = bytes([*range(0, 9), 11, *range(14, 27), *range(28, 32)])
_NOISE_TAGS = ("script", "style", "noscript", "template", "svg", "head")

logger = logging.getLogger(__name__)
logging.getLogger("pypdf").setLevel(logging.ERROR)


@dataclass(frozen=True)
class DecodedText:
    """The body as text, without NUL characters (PostgreSQL cannot store them): `removed_nul` says
    how many the decoded text had."""

    text: str
    charset: str
    source: str
    removed_nul: int = 0


def without_nul(text: str) -> str:
    return text.replace("\x00", "")


def _decoded(body: bytes, name: str, source: str) -> DecodedText:
    text = str(body, name)
    count = text.count("\x00")
    return DecodedText(without_nul(text) if count else text, name, source, count)


@dataclass(frozen=True)
class Extracted:
    text: str
    title: str = ""
    author: str = ""
    published: str = ""
    note: str = ""


def parse_content_type(value: str | None) -> tuple[str, str]:
    """Split a Content-Type header into (media type, charset parameter), both lower-case."""
    if not value:
        return "", ""
    # Repeated headers arrive joined by commas; the last one wins, as in browsers.
    value = value.rsplit(",", 1)[-1] if "," in value.split(";", 1)[0] else value
    media_type, *params = value.split(";")
    charset = ""
    for param in params:
        name, _, param_value = param.partition("=")
        if name.strip().lower() == "charset":
            charset = param_value.strip().strip("\"'").lower()
    return media_type.strip().lower(), charset


def sniff_media_type(body: bytes) -> str:
    """Guess the type of a body sent without Content-Type; only PDF and HTML are recognised."""
    head = body[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"%pdf-"):
        return PDF_TYPE
    if head.startswith((b"<!doctype html", b"<html")):
        return "text/html"
    return ""


def _bom(body: bytes) -> tuple[str, int] | None:
    for bom, name in _BOMS:
        if body.startswith(bom):
            return name, len(bom)
    return None


def binary_reason(body: bytes) -> str:
    """Explain why a body that claims to be text looks binary, or return ''."""
    bom = _bom(body)
    if bom and bom[0].startswith(("utf-16", "utf-32")):
        return ""
    sample = body[:1024]
    if b"\x00" in sample:
        return "it contains NUL bytes"
    if sample and len(sample) - len(sample.translate(None, _CONTROL_BYTES)) > len(sample) // 10:
        return "more than 10% of its first bytes are control characters"
    return ""


def _codec(label: str) -> str | None:
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    return _WEB_ALIASES.get(name.replace("-", "_"), name)


def _declared_in_markup(body: bytes) -> str | None:
    head = body[:4096]
    match = _XML_ENCODING.match(head) or _META_CHARSET.search(head)
    if not match:
        return None
    codec = _codec(match.group(1).decode("ascii"))
    # A UTF-16 declaration found by an ASCII scan cannot be true (HTML spec: use UTF-8).
    return "utf-8" if codec and codec.startswith(("utf_16", "utf-16")) else codec


def decode_text(body: bytes, *, header_charset: str, markup: bool) -> DecodedText:
    """Decode body: BOM, then the header charset, then <meta>/XML declaration, then detection.

    The whole decoded text is checked for NUL, whatever the encoding (UTF-16 and UTF-32 carry it
    as more than one byte); a body no encoding decodes is a DECODING_ERROR outcome.
    """
    bom = _bom(body)
    if bom:
        name, length = bom
        try:
            return _decoded(body[length:], name, "bom")
        except UnicodeDecodeError:
            raise FetchError(
                Outcome.DECODING_ERROR, f"the body starts with a {name} BOM but is not {name}"
            ) from None
    declared: list[tuple[str, str]] = []
    header_codec = _codec(header_charset) if header_charset else None
    if header_codec:
        declared.append((header_codec, "header"))
    markup_codec = _declared_in_markup(body) if markup else None
    if markup_codec:
        declared.append((markup_codec, "meta"))
    # A declared codec that is not a text encoding ("base64", "rot13") is no declaration.
    for name, source in declared:
        try:
            return _decoded(body, name, source)
        except (UnicodeDecodeError, LookupError):
            continue
    try:
        return _decoded(body, "utf-8", "detected")
    except UnicodeDecodeError:
        pass
    guess = charset_normalizer.from_bytes(body).best()
    if guess is not None:
        name = _codec(guess.encoding) or guess.encoding
        try:
            return _decoded(body, name, "detected")
        except (UnicodeDecodeError, LookupError):
            pass
    raise FetchError(
        Outcome.DECODING_ERROR,
        "the text could not be decoded with the declared charset or a detected one",
    )


def _clean(value: object) -> str:
    return " ".join(str(value).split()) if value else ""


def _fallback_html(markup: str) -> tuple[str, str]:
    """Whole-page text and <title> when trafilatura finds no main content."""
    try:
        tree = lxml.html.document_fromstring(markup)
    except (lxml.etree.ParserError, ValueError):
        return "", ""
    title = _clean(tree.findtext(".//title"))
    lxml.etree.strip_elements(tree, *_NOISE_TAGS, with_tail=False)
    lines = (" ".join(line.split()) for line in tree.text_content().splitlines())
    return "\n".join(line for line in lines if line), title


def extract_html(markup: str, url: str) -> Extracted:
    """Main text and metadata of an HTML page, given as an already decoded string."""
    markup = _XML_DECLARATION.sub("", markup, count=1)
    text = title = author = published = ""
    try:
        tree = trafilatura.utils.load_html(markup)
        if tree is not None:
            metadata = _page_metadata(tree, url)
            document = trafilatura.bare_extraction(
                tree,
                url=url,
                fast=True,
                with_metadata=False,
                include_comments=False,
                include_images=False,
                include_links=False,
                include_formatting=False,
                include_tables=True,
            )
            if document is not None and not isinstance(document, dict):
                text = (document.text or "").strip()
                title, author = _clean(metadata.title), _clean(metadata.author)
                published = _clean(metadata.date)
    except (TypeError, ValueError):
        # What bare_extraction answers with no document (a page it cannot read): the whole page's
        # text below, as when it finds no main content.
        pass
    if text:
        return Extracted(text, title, author, published)
    fallback_text, fallback_title = _fallback_html(markup)
    return Extracted(
        fallback_text,
        title or fallback_title,
        author,
        published,
        note="no main content found; kept the text of the whole page" if fallback_text else "",
    )


def _page_metadata(tree: lxml.html.HtmlElement, url: str) -> trafilatura.settings.Document:
    """The title, author and date trafilatura's extract_metadata finds, in the same steps, without
    the categories, tags, licence and site name it also looks for: those took 0.8 ms of its 1 ms a
    page, and a snapshot keeps none of them. Read before the extraction, as trafilatura reads its
    own (the extraction works on a copy of the tree)."""
    metadata = examine_meta(tree)
    if metadata.author and " " not in metadata.author:
        metadata.author = None
    try:
        metadata = extract_meta_json(tree, metadata)
    except Exception as error:  # as trafilatura's own: its JSON-LD reading has bugs on odd pages
        logger.debug("JSON-LD metadata of %s not read: %s", url, error)
    if not metadata.title:
        metadata.title = extract_title(tree)
    if not metadata.author:
        metadata.author = extract_author(tree)
    if not metadata.url:
        metadata.url = extract_url(tree, url)
    metadata.date = find_date(tree, url=metadata.url, original_date=True, extensive_search=False)
    metadata.clean_and_trim()
    return metadata


def extract_plain(text: str) -> Extracted:
    return Extracted(text.strip())


def extract_pdf(body: bytes, *, max_pages: int, time_limit: float) -> Extracted:
    """Text and metadata of a PDF, bounded by page count and by time (checked between pages)."""
    started = time.monotonic()
    try:
        reader = pypdf.PdfReader(io.BytesIO(body))
        if reader.is_encrypted and not reader.decrypt(""):
            raise FetchError(Outcome.EXTRACTION_FAILED, "the PDF is encrypted")
        page_count = len(reader.pages)
        wanted = min(page_count, max_pages)
        texts: list[str] = []
        note = ""
        for index in range(wanted):
            texts.append((reader.pages[index].extract_text() or "").strip())
            if index + 1 < wanted and time.monotonic() - started > time_limit:
                note = (
                    f"stopped after {index + 1} of {page_count} pages "
                    f"(PDF time limit {time_limit:g} s)"
                )
                break
        if not note and page_count > wanted:
            note = f"read the first {wanted} of {page_count} pages (page limit)"
        info = reader.metadata
        title = author = published = ""
        if info is not None:
            title, author = _clean(info.title), _clean(info.author)
            try:
                created = info.creation_date
            except (ValueError, TypeError):
                created = None
            published = created.date().isoformat() if created else ""
    except FetchError:
        raise
    except Exception as exc:  # pypdf raises many exception types on hostile input
        raise FetchError(
            Outcome.EXTRACTION_FAILED, f"the PDF could not be read ({type(exc).__name__}: {exc})"
        ) from None
    text = "\n\n".join(part for part in texts if part)
    return Extracted(text, title, author, published, note)
