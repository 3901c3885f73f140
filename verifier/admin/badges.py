"""Coloured badges for a source's fetch and an evidence quote's check, used across the admin.

Colours come from verifier/static/verifier/admin.css; the word on the badge carries the meaning
on its own, so nothing depends on seeing the colour.
"""

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from claims.models import Claim, Evidence
from sources.fetcher import Outcome, transient_failure
from sources.models import Source
from verifier.selectors.attention import claim_attention

# The badge tone of each quote check result, in the order the review queue counts them.
QUOTE_TONES: dict[str, str] = {
    Evidence.QuoteStatus.FOUND: "ok",
    Evidence.QuoteStatus.NOT_FOUND: "bad",
    Evidence.QuoteStatus.NO_TEXT: "warn",
    Evidence.QuoteStatus.PENDING: "wait",
}


def badge(label: str, tone: str, title: str = "") -> SafeString:
    """A badge: tone is ok (green), bad (red), warn (amber) or wait (grey)."""
    return format_html('<span class="badge badge-{}" title="{}">{}</span>', tone, title, label)


def outcome_badge(outcome: str, reason: str = "", http_status: int | None = None) -> SafeString:
    """A fetch outcome code (sources.fetcher.Outcome) as a badge, its reason in the tooltip: amber
    for a failure that may succeed on a later try (transient_failure), red for any other."""
    if not outcome:
        return badge("not fetched", "wait")
    if outcome == Outcome.FETCHED:
        tone = "ok"
    elif transient_failure(outcome, http_status):
        tone = "warn"
    else:
        tone = "bad"
    return badge(outcome.replace("_", " "), tone, reason)


def fetch_badge(source: Source) -> SafeString:
    """The source's fetch: pending or fetching while one is under way, else its latest outcome."""
    if source.status in (Source.Status.PENDING, Source.Status.FETCHING):
        previous = f"last outcome: {source.outcome}" if source.outcome else ""
        return badge(source.get_status_display().lower(), "wait", previous)
    return outcome_badge(source.outcome or source.status, source.outcome_reason)


def fetch_badge_with_reason(source: Source) -> SafeString:
    """fetch_badge with the outcome's reason written out below it."""
    shown = fetch_badge(source)
    if source.status in (Source.Status.PENDING, Source.Status.FETCHING) or not source.outcome_reason:
        return shown
    return format_html('{}<small class="badge-reason">{}</small>', shown, source.outcome_reason)


def quote_badge(evidence: Evidence) -> SafeString:
    """Whether the evidence quote was found in the latest text of its source."""
    return badge(
        evidence.get_quote_status_display().lower(),
        QUOTE_TONES.get(evidence.quote_status, "wait"),
    )


def attention_badges(claim: Claim) -> SafeString:
    """The attention markers of a claim loaded by claims_with_attention, as badges, or a dash."""
    return format_html_join(
        " ",
        "{}",
        ((badge(marker.label, marker.tone, marker.explanation),) for marker in claim_attention(claim)),
    ) or SafeString("—")
