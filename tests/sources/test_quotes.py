"""Quote matching tolerates typography, case and whitespace, and nothing else."""

# ruff: noqa: RUF001 - look-alike quotes and dashes are what these tests are about

from __future__ import annotations

import pytest

from sources.quotes import normalize_for_match, quote_found

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
