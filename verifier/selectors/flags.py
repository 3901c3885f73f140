"""Source flag entries as the desk reads them (SPEC §8), and the readable text diff between the
snapshot a published verdict was approved on and the one that found the change.

The diff compares sentences and lines rather than characters, so a reworded sentence reads as one
sentence removed and one added. Pages run to megabytes of text: the common start and end are
skipped in linear time, at most MAX_UNITS sentences of what is left are compared, and at most
MAX_LINES lines of the result are shown, each cut at MAX_LINE_CHARS.
"""

import difflib
import re
from dataclasses import dataclass
from typing import Literal

from django.db.models import QuerySet

from claims.models import Claim
from sources.models import Snapshot
from verifier.models import SourceFlag

MAX_UNITS = 4_000
MAX_LINES = 300
MAX_LINE_CHARS = 600
CONTEXT = 1

_UNIT_BREAK = re.compile(r"\s*\n\s*|(?<=[.!?…])\s+")

DiffKind = Literal["same", "removed", "added", "skipped"]


@dataclass(frozen=True)
class DiffLine:
    kind: DiffKind
    text: str


@dataclass(frozen=True)
class TextDiff:
    lines: list[DiffLine]
    removed: int
    added: int
    # Part of the texts was not compared or not shown (see the module docstring).
    truncated: bool

    @property
    def identical(self) -> bool:
        return self.removed == 0 and self.added == 0


def claim_flags(claim: Claim) -> QuerySet[SourceFlag]:
    """Every flag entry of the claim, newest first, with what the claim page shows of each."""
    return (
        SourceFlag.objects.filter(claim=claim)
        .select_related("source", "approved_snapshot", "new_snapshot", "resolved_by", "correction")
        # Texts run to megabytes; source_flag_diff reads the two it compares.
        .defer("approved_snapshot__text", "new_snapshot__text")
        .order_by("-detected_at", "-id")
    )


def source_flag_diff(flag: SourceFlag) -> TextDiff:
    """The approved snapshot's extracted text against the new snapshot's, bounded."""
    compared = Snapshot.objects.filter(pk__in=[flag.approved_snapshot_id, flag.new_snapshot_id])
    texts = dict(compared.values_list("pk", "text"))
    old = texts.get(flag.approved_snapshot_id, "") if flag.approved_snapshot_id is not None else ""
    return text_diff(old, texts[flag.new_snapshot_id])


def text_units(text: str) -> list[str]:
    """The sentences and lines of `text`, without empty ones."""
    return [unit for unit in _UNIT_BREAK.split(text.strip()) if unit]


def text_diff(old: str, new: str) -> TextDiff:
    """A sentence-level diff of `old` against `new` with CONTEXT unchanged units around each change."""
    before, after = text_units(old), text_units(new)
    start = 0
    while start < len(before) and start < len(after) and before[start] == after[start]:
        start += 1
    end = 0
    while (
        end < len(before) - start
        and end < len(after) - start
        and before[len(before) - 1 - end] == after[len(after) - 1 - end]
    ):
        end += 1
    middle_before = before[start : len(before) - end]
    middle_after = after[start : len(after) - end]
    truncated = len(middle_before) > MAX_UNITS or len(middle_after) > MAX_UNITS
    middle_before, middle_after = middle_before[:MAX_UNITS], middle_after[:MAX_UNITS]

    lines: list[DiffLine] = []
    if start:
        lines.append(DiffLine("skipped", f"{start} unchanged sentences"))
    lines.extend(DiffLine("same", unit) for unit in before[max(0, start - CONTEXT) : start])
    removed = added = 0
    matcher = difflib.SequenceMatcher(None, middle_before, middle_after, autojunk=True)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            unchanged = middle_before[i1:i2]
            if len(unchanged) > 2 * CONTEXT + 1:
                lines.extend(DiffLine("same", unit) for unit in unchanged[:CONTEXT])
                lines.append(DiffLine("skipped", f"{len(unchanged) - 2 * CONTEXT} unchanged sentences"))
                lines.extend(DiffLine("same", unit) for unit in unchanged[-CONTEXT:])
            else:
                lines.extend(DiffLine("same", unit) for unit in unchanged)
            continue
        lines.extend(DiffLine("removed", unit) for unit in middle_before[i1:i2])
        lines.extend(DiffLine("added", unit) for unit in middle_after[j1:j2])
        removed += i2 - i1
        added += j2 - j1
    tail = len(before) - end
    lines.extend(DiffLine("same", unit) for unit in before[tail : tail + CONTEXT])
    if end > CONTEXT:
        lines.append(DiffLine("skipped", f"{end - CONTEXT} unchanged sentences"))
    if len(lines) > MAX_LINES:
        lines, truncated = lines[:MAX_LINES], True
    shown = [
        DiffLine(line.kind, line.text[:MAX_LINE_CHARS] + ("…" if len(line.text) > MAX_LINE_CHARS else ""))
        for line in lines
    ]
    return TextDiff(lines=shown, removed=removed, added=added, truncated=truncated)
