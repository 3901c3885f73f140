"""Quote spans are found exactly where quote_found finds the quote, and highlighting escapes the text."""

# ruff: noqa: RUF001 - look-alike quotes and dashes are what these tests are about

from __future__ import annotations

import random

import pytest

from sources import highlight as highlight_module
from sources.highlight import FoldedText, QuoteMark, highlight, quote_spans
from sources.quotes import quote_found

SOURCE_TEXT = (
    "“Over the past few weeks, Russia has used Iranian drones to attack Kiev and terrorise the "
    "Ukrainian people,” White House spokesman John Kirby said.\n\n"
    "He said that they are releasing photos of the location of the plant, which will be "
    "established in Russia’s Alaboga Special Economic Zone — fully operational early next year."
)

QUOTES = [
    "Russia has used Iranian drones to attack Kiev",
    "russia HAS used   iranian\ndrones",
    "Russia's Alaboga Special Economic Zone",
    '"Over the past few weeks, Russia has used Iranian drones',
    "“fully operational early next year”",
    "Economic Zone – fully operational",
    "Over the past few weeks … terrorise the Ukrainian people",
    "Ukrai\u00adnian people",
    "Russia has used Chinese drones",
    "fully operational next year",
    "John Kirby said … Over the past few weeks",
    "",
    "…",
]


@pytest.mark.parametrize("quote", QUOTES)
def test_spans_exist_exactly_when_the_quote_is_found(quote: str) -> None:
    assert bool(quote_spans(quote, SOURCE_TEXT)) == quote_found(quote, SOURCE_TEXT)


def test_span_covers_the_original_characters_despite_case_and_whitespace() -> None:
    text = "He said:  Russia HAS used\n  Iranian drones."

    [(start, end)] = quote_spans("russia has used iranian drones", text)

    assert text[start:end] == "Russia HAS used\n  Iranian drones"


def test_span_covers_typographic_quotes_and_dashes_as_written() -> None:
    [(start, end)] = quote_spans("Economic Zone - fully operational", SOURCE_TEXT)

    assert SOURCE_TEXT[start:end] == "Economic Zone — fully operational"


def test_an_ellipsis_gives_one_span_per_quoted_part() -> None:
    spans = quote_spans("Over the past few weeks … terrorise the Ukrainian people", SOURCE_TEXT)

    assert [SOURCE_TEXT[start:end] for start, end in spans] == [
        "Over the past few weeks",
        "terrorise the Ukrainian people",
    ]


def test_invisible_characters_and_decomposed_accents_are_matched() -> None:
    text = "The Ukrai\u00adnian cafe\u0301 opened."

    [(start, end)] = quote_spans("Ukrainian café", text)

    assert text[start:end] == "Ukrai\u00adnian cafe\u0301"


def test_expanding_case_folds_map_back_to_the_original_letter() -> None:
    text = "Die Straße nach Kiew"

    [(start, end)] = quote_spans("STRASSE nach", text)

    assert text[start:end] == "Straße nach"


def test_highlight_escapes_the_text_and_marks_each_quote() -> None:
    text = "<script>alert(1)</script> Russia has used Iranian drones & more"
    mark = QuoteMark(label="Evidence 7", anchor="quote-7", spans=quote_spans("iranian drones", text))

    html = highlight(text, [mark])

    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<span id="quote-7"></span><mark class="quote" title="Evidence 7">Iranian drones</mark>' in html
    assert html.endswith(" &amp; more")


def test_overlapping_quotes_share_a_mark_naming_both() -> None:
    text = "Russia has used Iranian drones to attack Kiev"
    first = QuoteMark("Evidence 1", "quote-1", quote_spans("Russia has used Iranian", text))
    second = QuoteMark("Evidence 2", "quote-2", quote_spans("Iranian drones", text))

    html = highlight(text, [first, second])

    assert '<mark class="quote" title="Evidence 1">Russia has used </mark>' in html
    assert '<mark class="quote" title="Evidence 1, Evidence 2">Iranian</mark>' in html
    assert '<mark class="quote" title="Evidence 2"> drones</mark>' in html
    assert html.count('id="quote-1"') == html.count('id="quote-2"') == 1


def test_highlight_without_quotes_is_the_escaped_text() -> None:
    assert highlight("a < b", []) == "a &lt; b"


ALPHABET = [
    "a", "B", "z", "é", "e\u0301", "ß", "ﬁ", " ", " ", "\n", "\t", "\u00a0", "\u2003", "\u200b",
    "\u00ad", "’", "“", "”", "—", "–", "…", ".", ",", "'", '"', "-", "Ä", "İ", "¨", "½", "Д", "ي",
]


@pytest.mark.parametrize("sizes", [(1,), (3, 1), (8, 2), (64, 8)])
def test_spans_found_piece_by_piece_are_the_spans_of_the_whole_text(monkeypatch, sizes):
    # Pieces as small as one character meet every kind of character at a piece boundary.
    monkeypatch.setattr(highlight_module, "_PIECE_SIZES", sizes)
    generator = random.Random(sizes[0])
    for _ in range(300):
        text = "".join(generator.choice(ALPHABET) for _ in range(generator.randint(0, 80)))
        start = generator.randint(0, len(text))
        quote = text[start : start + generator.randint(1, 25)]
        if generator.random() < 0.2:
            quote = quote[: len(quote) // 2] + "…" + text[start + 30 : start + 40]
        assert quote_spans(quote, text) == FoldedText(text).spans(quote), (quote, text)


def test_a_quote_in_a_long_article_is_placed_without_folding_all_of_it():
    paragraph = "Iran says that these drones were exported before the attack on Ukraine. "
    text = "Filler words about other matters entirely. " * 20_000 + paragraph + "More filler. " * 5_000

    [(start, end)] = quote_spans("these drones were EXPORTED before the attack", text)

    assert text[start:end] == "these drones were exported before the attack"


# The closest passage to a quote that is not found (issue 11).


def test_closest_passage_is_the_span_of_the_original_text_nearest_the_quote() -> None:
    folded = FoldedText(SOURCE_TEXT)

    closest = folded.closest_passage("Russia has used Iranian rockets to attack Kiev")

    assert closest is not None
    start, end = closest.span
    assert SOURCE_TEXT[start:end].startswith("Russia has used Iranian drones to attack Kiev")
    assert 80 <= closest.similarity < 100


def test_closest_passage_compares_as_the_quote_check_does() -> None:
    # Curly quotes, case, line breaks and an ellipsis as written in the text or the quote.
    closest = FoldedText(SOURCE_TEXT).closest_passage(
        "RUSSIA’S Alaboga Special\nEconomic Zone … fully operational early next week"
    )

    assert closest is not None
    start, end = closest.span
    assert "Alaboga Special Economic Zone" in SOURCE_TEXT[start:end]
    assert closest.similarity >= 85


def test_closest_passage_of_a_long_quote_is_placed_by_its_beginning() -> None:
    text = "Filler words here. " * 2_000 + SOURCE_TEXT + " More filler after it." * 500
    quote = SOURCE_TEXT.replace("Kiev", "Kyiv") * 6  # longer than the probe
    assert len(quote) > highlight_module.CLOSEST_PROBE_MAX

    closest = FoldedText(text).closest_passage(quote)

    assert closest is not None
    assert closest.span[0] == text.index(SOURCE_TEXT)
    assert closest.span[1] - closest.span[0] >= len(quote) * 0.9


@pytest.mark.parametrize(("quote", "text"), [("", SOURCE_TEXT), ("…", SOURCE_TEXT), ("drones", "")])
def test_nothing_is_closest_to_an_empty_quote_or_in_an_empty_text(quote: str, text: str) -> None:
    assert FoldedText(text).closest_passage(quote) is None
