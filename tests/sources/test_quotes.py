"""Quote matching tolerates typography, case and whitespace, and nothing else."""

# ruff: noqa: RUF001 - look-alike quotes and dashes are what these tests are about

from __future__ import annotations

import pytest

from sources import quotes
from sources.quotes import QuoteSearch, normalize_for_match, quote_found

SOURCE_TEXT = (
    "“Over the past few weeks, Russia has used Iranian drones to attack Kiev and terrorise the "
    "Ukrainian people,” White House spokesman John Kirby said.\n\n"
    "He said that they are releasing photos of the location of the plant, which will be "
    "established in Russia’s Alaboga Special Economic Zone — fully operational early next year."
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "‘single’ ‚low‛ “double” „low‟ «guillemets» ‹angle›",
            "'single' 'low' \"double\" \"low\" \"guillemets\" 'angle'",
        ),
        ("a‐b‑c‒d–e—f―g−h", "a-b-c-d-e-f-g-h"),
        ("wait…", "wait..."),
        (
            "soft\u00adhyphen zero\u200bwidth\u200c\u200d\u2060\ufeffjoin",
            "softhyphen zerowidthjoin",
        ),
        ("  many \t spaces\n\nand\u00a0lines  ", "many spaces and lines"),
        ("CASE Straße", "case strasse"),
        ("ﬁnance ＡＢＣ", "finance abc"),
        ("Ukraineʼs", "ukraine's"),
    ],
)
def test_normalize_for_match(text: str, expected: str) -> None:
    assert normalize_for_match(text) == expected


def test_normalize_for_match_is_idempotent() -> None:
    once = normalize_for_match(SOURCE_TEXT)
    assert normalize_for_match(once) == once


@pytest.mark.parametrize(
    "quote",
    [
        "Russia has used Iranian drones to attack Kiev",
        "russia HAS used   iranian\ndrones",
        "Russia's Alaboga Special Economic Zone",
        "Russia‘s Alaboga Special Economic Zone",
        '"Over the past few weeks, Russia has used Iranian drones',
        "“fully operational early next year”",
        "Economic Zone – fully operational",
        "Over the past few weeks … terrorise the Ukrainian people",
        "Over the past few weeks ... John Kirby said",
        "Ukrai\u00adnian people",
    ],
)
def test_quote_found_despite_typography_case_and_whitespace(quote: str) -> None:
    assert quote_found(quote, SOURCE_TEXT)


@pytest.mark.parametrize(
    "quote",
    [
        "Russia has used Chinese drones",
        "fully operational next year",
        "John Kirby said … Over the past few weeks",
        "",
        "   ",
        "…",
        '""',
    ],
)
def test_quote_not_found(quote: str) -> None:
    assert not quote_found(quote, SOURCE_TEXT)


def test_quote_not_found_in_empty_text() -> None:
    assert not quote_found("anything", "")


ASCII_TEXT = (
    "Over the past few weeks, Russia has used Iranian drones to attack Kiev and terrorise the\n"
    "Ukrainian people, White House spokesman John Kirby said.   He said the plant will be\t"
    "fully operational early next year."
)


@pytest.mark.parametrize(
    ("quote", "found"),
    [
        ("russia has used IRANIAN drones", True),  # the cheap way: in the lowercased text
        ("terrorise the Ukrainian people", True),  # across a line break: only in the folded text
        ("John Kirby said. He said", True),  # across a run of spaces
        ("Over the past ... Kirby said", True),
        ("Kirby said ... Over the past", False),
        ("“Iranian drones”", True),  # a typographic quote, folded away
        ("Chinese drones", False),
        ("...", False),
    ],
)
def test_a_quote_search_finds_what_folding_the_whole_text_finds(quote: str, found: bool) -> None:
    search = QuoteSearch(ASCII_TEXT)

    assert search.found(quote) is found
    assert (quotes.quote_matches(quote, normalize_for_match(ASCII_TEXT)) is not None) is found


def folds_of(monkeypatch, whole_text: str) -> list[str]:
    """Each time normalize_for_match folds whole_text from now on."""
    folded: list[str] = []
    fold = quotes.normalize_for_match

    def counted(text: str) -> str:
        if text == whole_text:
            folded.append(text)
        return fold(text)

    monkeypatch.setattr(quotes, "normalize_for_match", counted)
    return folded


def test_a_quote_search_folds_an_ascii_text_only_for_a_quote_the_cheap_way_misses(monkeypatch) -> None:
    folded = folds_of(monkeypatch, ASCII_TEXT)
    search = QuoteSearch(ASCII_TEXT)

    assert search.found("Russia has used Iranian drones")
    assert search.found("Kirby SAID")
    assert folded == []
    assert search.found("terrorise the Ukrainian")
    assert search.found("the Ukrainian people")
    assert not search.found("Chinese drones")
    assert len(folded) == 1


# Folding turns "e" and a combining acute (U+0301) into "é", and the Kelvin sign into "k".
MARKED_TEXT = (
    "Amira Haddad told Pierre Lefèvre: “Russia has used Iranian drones.” The cafe\u0301 owner said "
    "the \u212aelvin scale was — fully — operational early next year."
)


@pytest.mark.parametrize(
    ("quote", "found"),
    [
        ("Russia has used IRANIAN drones", True),  # ASCII words in a text with other characters
        ("told Pierre", True),
        ("Pierre Lefèvre", True),  # a quote with an accent: only in the folded text
        ('"Russia has used Iranian drones."', True),  # straight quotes for curly ones
        ("The cafe", False),  # "e" joined by the mark after it: "café" once folded
        ("The caf", True),
        ("kelvin scale", True),
        ("was - fully - operational", True),  # dashes folded
        ("Russia ... Lefèvre", False),  # out of order
        ("Chinese drones", False),
    ],
)
def test_a_quote_search_of_a_text_with_other_characters_finds_what_folding_finds(
    quote: str, found: bool
) -> None:
    assert QuoteSearch(MARKED_TEXT).found(quote) is found
    assert (quotes.quote_matches(quote, normalize_for_match(MARKED_TEXT)) is not None) is found


def test_a_quote_search_folds_a_text_with_other_characters_only_when_the_cheap_way_misses(
    monkeypatch,
) -> None:
    folded = folds_of(monkeypatch, MARKED_TEXT)
    search = QuoteSearch(MARKED_TEXT)

    assert search.found("Russia has used Iranian drones")
    assert search.found("OPERATIONAL early next year")
    assert folded == []
    assert not search.found("The cafe")  # found lowercased, but followed by a mark
    assert len(folded) == 1
