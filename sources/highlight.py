"""Where an evidence quote sits in a snapshot's original text, and that text with quotes marked.

Matching is sources.quotes' own: the text is folded character by character with the same
normalisation, keeping for every folded character the position it came from, so a quote that
quote_found() accepts is highlighted exactly where the check found it.
"""

from __future__ import annotations

import bisect
import itertools
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from rapidfuzz import fuzz

# Shared with quote_found so that a highlight and a recorded check never disagree.
from sources.quotes import ELLIPSIS, WRAPPING, normalize_for_match, quote_matches

Span = tuple[int, int]


def _clusters(text: str) -> Iterable[tuple[int, int]]:
    """(start, end) of each base character with the combining marks that follow it: NFKC composes
    within such a cluster, so each one folds the same alone as inside the whole text."""
    start = 0
    for index in range(1, len(text) + 1):
        if index == len(text) or not unicodedata.combining(text[index]):
            yield start, index
            start = index


class FoldedText:
    """A text folded once by normalize_for_match, remembering where each folded character came
    from, to find many quotes in it."""

    def __init__(self, text: str) -> None:
        folded: list[str] = []
        origins: list[Span] = []
        pending_space: Span | None = None
        for start, end in _clusters(text):
            cluster = text[start:end]
            if cluster.isascii() and cluster.isalnum():
                # Most of any text: folding an ASCII letter or digit only lowers its case.
                if pending_space is not None:
                    folded.append(" ")
                    origins.append(pending_space)
                    pending_space = None
                folded.append(cluster.lower())
                origins.append((start, end))
                continue
            if cluster.isspace():
                # Runs of whitespace fold to one space, and none at either end.
                if folded and pending_space is None:
                    pending_space = (start, end)
                continue
            piece = normalize_for_match(cluster)
            if not piece:
                continue  # an invisible character
            if pending_space is not None:
                folded.append(" ")
                origins.append(pending_space)
                pending_space = None
            for character in piece:
                folded.append(character)
                origins.append((start, end))
        self.folded = "".join(folded)
        self._origins = origins

    def spans(self, quote: str) -> list[Span]:
        """The spans of the original text (start, end) that quote_found(quote, text) matched, one
        per part of the quote between ellipses; empty when the quote is not found."""
        matches = quote_matches(quote, self.folded) or []
        return [(self._origins[start][0], self._origins[end - 1][1]) for start, end in matches]

    def closest_passage(self, quote: str) -> ClosestPassage | None:
        """The passage of the text most like the quote, compared as quote_found compares (folded,
        an ellipsis as a gap), and how alike they are; None for an empty text or quote."""
        needle = " ".join(normalize_for_match(quote).replace(ELLIPSIS, " ").split()).strip(WRAPPING)
        if not needle or not self.folded:
            return None
        probe = needle[:CLOSEST_PROBE_MAX]
        aligned = fuzz.partial_ratio_alignment(probe, self.folded)
        if aligned is None or aligned.dest_end <= aligned.dest_start:
            return None
        start, end = aligned.dest_start, aligned.dest_end
        if probe != needle:
            # Placed by its beginning; the passage runs on for the rest of the quote.
            end = min(len(self.folded), start + len(needle))
        # The alignment may cut words or take in the space around them: the passage is whole words.
        folded = self.folded
        while start < end and folded[start] == " ":
            start += 1
        while end > start and folded[end - 1] == " ":
            end -= 1
        while start > 0 and folded[start - 1] != " ":
            start -= 1
        while end < len(folded) and folded[end] != " ":
            end += 1
        if end <= start:
            return None
        start, end, similarity = _best_word_bounds(needle, folded, start, end)
        return ClosestPassage(
            span=(self._origins[start][0], self._origins[end - 1][1]), similarity=similarity
        )


def _best_word_bounds(needle: str, folded: str, start: int, end: int) -> tuple[int, int, float]:
    """folded[start:end] (whole words) widened or narrowed by a word at either end while that
    makes it more like the needle: the alignment keeps the needle's length, which may leave out
    a word the quote has or take in one it has not."""

    def word_before(position: int) -> int:
        position = folded.rfind(" ", 0, max(position - 1, 0))
        return 0 if position < 0 else position + 1

    def word_after(position: int) -> int:
        position = folded.find(" ", position + 1)
        return len(folded) if position < 0 else position

    best = fuzz.ratio(needle, folded[start:end])
    for _ in range(CLOSEST_WORDS_ADJUSTED):
        candidates = [
            (word_before(start), end),
            (start, word_after(end)),
            (word_after(start) + 1, end),
            (start, word_before(end) - 1),
        ]
        scored = [
            (fuzz.ratio(needle, folded[a:b]), a, b) for a, b in candidates if 0 <= a < b <= len(folded)
        ]
        score, new_start, new_end = max(scored, default=(best, start, end))
        if score <= best:
            break
        best, start, end = score, new_start, new_end
    return start, end, best


# Words a closest passage may gain or lose at its ends while it grows more like the quote.
CLOSEST_WORDS_ADJUSTED = 8

# How much of a quote places its closest passage: rapidfuzz's alignment grows with the square of
# the quote's length (in 1 MB of text about 0.02 s for 200 characters, 0.1 s for 1,000 and 1.6 s
# for 10,000), and the first thousand characters of a quote say well enough where it was taken from.
CLOSEST_PROBE_MAX = 1_000


@dataclass(frozen=True)
class ClosestPassage:
    """Where in a text a quote not found comes closest: the span of the original text, and the
    similarity of its folding to the quote's, from 0 to 100."""

    span: Span
    similarity: float


# Piece sizes, coarse to fine, for placing a match in a long text (see quote_spans); a window of
# at most about the last size is folded character by character.
_PIECE_SIZES = (4096, 256)


def _pieces(text: str, start: int, end: int, size: int) -> list[Span]:
    """text[start:end] cut into pieces of about `size` that each end just before a whitespace
    character (or at `end`): folding never joins characters across whitespace, so the pieces
    fold independently and the folded text is their foldings joined by single spaces."""
    pieces: list[Span] = []
    while start < end:
        stop = min(start + size, end)
        while stop < end and not text[stop].isspace():
            stop += 1
        pieces.append((start, stop))
        start = stop
    return pieces


class _Window:
    """Part of a text (whole pieces) and its folding, each piece folded on its own."""

    def __init__(self, text: str, start: int, end: int, size: int) -> None:
        folded = [(a, b, normalize_for_match(text[a:b])) for a, b in _pieces(text, start, end, size)]
        self.pieces = [(a, b) for a, b, piece in folded if piece]
        # Where each piece starts in the folding, and one past the end of the last.
        self.starts = list(itertools.accumulate((len(p) + 1 for _, _, p in folded if p), initial=0))
        self.folded = " ".join(piece for _, _, piece in folded if piece)

    def region(self, found: int, end: int) -> tuple[Span, Span]:
        """The whole pieces holding folded[found:end]: their span of the text and the span of
        their folding within this window's folding."""
        first = bisect.bisect_right(self.starts, found) - 1
        last = bisect.bisect_right(self.starts, end - 1) - 1
        return (
            (self.pieces[first][0], self.pieces[last][1]),
            (self.starts[first], self.starts[last + 1] - 1),
        )


def _place(text: str, window: _Window, found: int, end: int) -> Span | None:
    """The span of `text` that folds to window.folded[found:end]; None where folding a part of
    the text alone differs from folding it within the whole."""
    finer = list(_PIECE_SIZES[1:])
    while True:
        (start, stop), (folded_start, folded_stop) = window.region(found, end)
        expected = window.folded[folded_start:folded_stop]
        found, end = found - folded_start, end - folded_start
        if not finer:
            exact = FoldedText(text[start:stop])
            if exact.folded != expected:
                return None
            return start + exact._origins[found][0], start + exact._origins[end - 1][1]
        window = _Window(text, start, stop, finer.pop(0))
        if window.folded != expected:
            return None


def quote_spans(quote: str, text: str) -> list[Span]:
    """The spans of `text` (start, end) that quote_found(quote, text) matched, one per part of the
    quote between ellipses; empty when the quote is not found.

    FoldedText remembers an origin for every character, which costs seconds and a hundred
    megabytes for a long article. Here the text is folded piece by piece with
    normalize_for_match (fast), the quote found in the whole, and the pieces a match falls in
    cut finer and finer until a small window is folded character by character to place it."""
    window = _Window(text, 0, len(text), _PIECE_SIZES[0])
    spans: list[Span] = []
    for found, end in quote_matches(quote, window.folded) or []:
        span = _place(text, window, found, end)
        if span is None:
            # A folding this shortcut did not foresee: place the quote the slow, exact way.
            return FoldedText(text).spans(quote)
        spans.append(span)
    return spans


@dataclass(frozen=True)
class QuoteMark:
    """A quote to mark in the text: `label` names it in the tooltip, `anchor` is the id of its
    first mark (to link to it)."""

    label: str
    anchor: str
    spans: Sequence[Span]


def highlight(text: str, marks: Sequence[QuoteMark]) -> SafeString:
    """The text, escaped, with every quote span wrapped in <mark>; overlapping quotes share one
    mark that names them all."""
    boundaries = {0, len(text)}
    for mark in marks:
        for start, end in mark.spans:
            boundaries.update((start, end))
    cuts = sorted(boundaries)
    parts: list[str] = []
    anchored: set[str] = set()
    for start, end in itertools.pairwise(cuts):
        covering = [
            mark for mark in marks if any(s <= start and end <= e for s, e in mark.spans)
        ]
        if not covering:
            parts.append(escape(text[start:end]))
            continue
        anchors = "".join(
            format_html('<span id="{}"></span>', mark.anchor)
            for mark in covering
            if mark.anchor not in anchored
        )
        anchored.update(mark.anchor for mark in covering)
        parts.append(
            anchors
            + format_html(
                '<mark class="quote" title="{}">{}</mark>',
                ", ".join(mark.label for mark in covering),
                text[start:end],
            )
        )
    # Every piece above was escaped or built with format_html.
    return mark_safe("".join(parts))
