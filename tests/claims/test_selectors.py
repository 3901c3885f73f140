"""Reads behind the claim admin: what a correction changes against the published verdict."""

from claims.models import Evidence
from verifier.models import Rating, Verdict
from verifier.selectors.workflow import verdict_changes


def test_verdict_changes_compares_rating_texts_and_the_fingerprinted_evidence() -> None:
    misleading, false = Rating(pk=1, label="Misleading"), Rating(pk=2, label="False")
    published = Verdict(
        version=1,
        rating=misleading,
        summary="Disputed timing.",
        explanation="Dates.",
        evidence_fingerprint=[
            {"evidence": 10, "url": "https://a.example/"},
            {"evidence": 11, "url": "https://b.example/"},
        ],
    )
    proposed = Verdict(version=2, rating=false, summary="Disputed timing.", explanation="New dates.")
    kept, added = Evidence(pk=10), Evidence(pk=12)

    changes = verdict_changes(published=published, proposed=proposed, evidence=[kept, added])

    assert changes.rating_changed
    assert not changes.summary_changed
    assert changes.explanation_changed
    assert changes.evidence_added == [added]
    assert changes.evidence_removed == [{"evidence": 11, "url": "https://b.example/"}]
    assert changes.any


def test_an_unchanged_correction_changes_nothing() -> None:
    published = Verdict(version=1, rating_id=1, summary="S", explanation="E",
                        evidence_fingerprint=[{"evidence": 10, "url": "https://a.example/"}])
    proposed = Verdict(version=2, rating_id=1, summary="S", explanation="E")

    changes = verdict_changes(published=published, proposed=proposed, evidence=[Evidence(pk=10)])

    assert not changes.any
