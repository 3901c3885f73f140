"""Finding an evidence quote in a source's text despite typography, case and whitespace."""

from __future__ import annotations

import re
import unicodedata

# Written as escapes because they are indistinguishable from ASCII in most fonts.
# curly, low-9 and reversed single quotes, single guillemets, modifier apostrophe, prime
_SINGLE_QUOTES = "\u2018\u2019\u201a\u201b\u2039\u203a\u02bc\u2032"
# curly, low-9 and reversed double quotes, guillemets, double prime
_DOUBLE_QUOTES = "\u201c\u201d\u201e\u201f\u00ab\u00bb\u2033"
# hyphen, non-breaking hyphen, figure dash, en dash, em dash, horizontal bar, minus sign
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
_INVISIBLE = "\u00ad\u180e\u200b\u200c\u200d\u2060\ufeff"

_TYPOGRAPHY = str.maketrans(
    {
        **dict.fromkeys(_SINGLE_QUOTES, "'"),
        **dict.fromkeys(_DOUBLE_QUOTES, '"'),
        **dict.fromkeys(_DASHES, "-"),
        **dict.fromkeys(_INVISIBLE),
        "\u2026": "...",
    }
)
# str.translate looks every character up in the table (about 0.2 us each): 5 ms for a 20 KB
# article, paid for each quote of each snapshot. Only the few mapped characters are replaced here.
_TYPOGRAPHY_CHARS = re.compile("[" + re.escape("".join(map(chr, _TYPOGRAPHY))) + "]")
ELLIPSIS = "..."
WRAPPING = " '\""


def normalize_for_match(text: str) -> str:
    """Fold text to the form quotes are compared in: NFKC, casefolded, plain quotes and dashes,
    no invisible characters, single spaces."""
    if text.isascii():
        # NFKC and the typography table leave ASCII as it is, and casefold is lower: most of an
        # English article takes this way, several times faster.
        return " ".join(text.lower().split())
    folded = unicodedata.normalize("NFKC", text).casefold()
    folded = _TYPOGRAPHY_CHARS.sub(lambda match: _TYPOGRAPHY[ord(match[0])] or "", folded)
    return " ".join(folded.split())


def quote_matches(quote: str, folded_text: str) -> list[tuple[int, int]] | None:
    """Where each part of the quote between ellipses occurs, in order, in a text already folded
    by normalize_for_match: (start, end) positions in the folded text; None when not found."""
    parts = _quote_parts(quote)
    return None if parts is None else _in_order(parts, folded_text)


def _quote_parts(quote: str) -> list[str] | None:
    """The quote folded and cut at its ellipses, each part without wrapping; None: nothing to find."""
    needle = normalize_for_match(quote).strip(WRAPPING)
    if not needle.strip(". "):
        return None
    return [part for segment in needle.split(ELLIPSIS) if (part := segment.strip(WRAPPING))]


def _in_order(parts: list[str], text: str) -> list[tuple[int, int]] | None:
    matches = []
    position = 0
    for part in parts:
        found = text.find(part, position)
        if found < 0:
            return None
        position = found + len(part)
        matches.append((found, position))
    return matches


class QuoteSearch:
    """One text searched for quotes as quote_found searches it, folded only for a quote the cheap
    way does not find: folding a whole page cost more than the rest of recording its fetch.

    The cheap way looks for the folded quote's parts in the text only lowercased. Folding an ASCII
    text (normalize_for_match) only lowercases it and turns each run of whitespace into one space; a
    folded quote's parts have single spaces between other characters, so a part found in the
    lowercased text is in the folded text too, and parts found in order there are in order in it.
    In a text with other characters (a name's accent, a curly quote) the same holds for parts made
    of ASCII alone: folding leaves ASCII characters as they are and only removes or replaces
    others, except that NFKC joins a letter with the combining mark after it ("e" and U+0301 make
    "é"), so a match followed by a mark does not count. A quote not found that way may still be
    (across a line break, say): then the text is folded, once for all its quotes."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._lowered = text.lower()
        self._folded: str | None = None

    def found(self, quote: str) -> bool:
        parts = _quote_parts(quote)
        if parts is None:
            return False
        # A part with other characters is never in an ASCII text as it is, and an ASCII text has
        # no marks: one rule for both kinds of text.
        if all(part.isascii() for part in parts):
            matches = _in_order(parts, self._lowered)
            if matches is not None and not self._mark_after_any(matches):
                return True
        if self._folded is None:
            self._folded = normalize_for_match(self._text)
        return _in_order(parts, self._folded) is not None

    def _mark_after_any(self, matches: list[tuple[int, int]]) -> bool:
        following = (self._lowered[end : end + 1] for _, end in matches)
        return any(char and unicodedata.category(char).startswith("M") for char in following)


def quote_found(quote: str, text: str) -> bool:
    """Tell whether quote occurs in text; an ellipsis in the quote stands for omitted words."""
    return QuoteSearch(text).found(quote)
