"""The evidence fingerprint a verdict freezes at approval, read in one place (Verdict.fingerprint)."""

from verifier.models import Verdict


def test_the_fingerprint_reads_each_cited_evidence_with_its_snapshot_and_hash() -> None:
    verdict = Verdict(
        evidence_fingerprint=[
            {"evidence": 7, "url": "https://a.example/", "quote_status": "found", "snapshot": 3,
             "content_sha256": "ab" * 32},
            {"evidence": "9", "url": "https://b.example/", "quote_status": "pending", "snapshot": None,
             "content_sha256": ""},
        ]
    )

    assert verdict.fingerprint() == [
        {"evidence": 7, "url": "https://a.example/", "quote_status": "found", "snapshot": 3,
         "content_sha256": "ab" * 32},
        {"evidence": 9, "url": "https://b.example/", "quote_status": "pending", "snapshot": None,
         "content_sha256": ""},
    ]
    assert verdict.cited_evidence_ids() == {7, 9}


def test_a_verdict_not_yet_approved_cites_nothing() -> None:
    assert Verdict().fingerprint() == []
    assert Verdict().cited_evidence_ids() == set()
