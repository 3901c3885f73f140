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

# Shared with quote_found so that a highlight and a recorded check never disagree.
from sources.quotes import normalize_for_match, quote_matches

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


# Characters per piece when folding a long text piece by piece (each piece ends at whitespace).
_PIECE = 4096


def _pieces(text: str) -> list[Span]:
    """The text cut into pieces that each end just before a whitespace character (or at the end):
    folding never joins characters across whitespace, so the pieces fold independently."""
    pieces: list[Span] = []
    start = 0
    while start < len(text):
        end = min(start + _PIECE, len(text))
        while end < len(text) and not text[end].isspace():
            end += 1
        pieces.append((start, end))
        start = end
    return pieces


def quote_spans(quote: str, text: str) -> list[Span]:
    """The spans of `text` (start, end) that quote_found(quote, text) matched, one per part of the
    quote between ellipses; empty when the quote is not found.

    FoldedText remembers an origin for every character, which costs seconds and a hundred
    megabytes for a long article. Here the text is folded piece by piece with
    normalize_for_match (fast), the quote found in the whole, and only the pieces a match falls
    in are folded character by character to place it."""
    pieces = [(start, end, normalize_for_match(text[start:end])) for start, end in _pieces(text)]
    pieces = [piece for piece in pieces if piece[2]]
    # Where each piece starts in the folded text: pieces are joined by one space.
    starts = list(itertools.accumulate((len(folded) + 1 for _, _, folded in pieces), initial=0))
    whole = " ".join(folded for _, _, folded in pieces)
    spans: list[Span] = []
    for found, end in quote_matches(quote, whole) or []:
        first_piece = bisect.bisect_right(starts, found) - 1
        last_piece = bisect.bisect_right(starts, end - 1) - 1
        window_start, window_end = pieces[first_piece][0], pieces[last_piece][1]
        window = FoldedText(text[window_start:window_end])
        offset = starts[first_piece]
        if window.folded != whole[offset : starts[last_piece + 1] - 1]:
            # A folding this shortcut did not foresee: place the quote the slow, exact way.
            return FoldedText(text).spans(quote)
        spans.append(
            (
                window_start + window._origins[found - offset][0],
                window_start + window._origins[end - 1 - offset][1],
            )
        )
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
