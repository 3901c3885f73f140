"""The labelled fixture behind benchmarks/claim_matching.py: what it promises to cover."""

from collections import Counter

from claims.matching import ClaimIndex, IndexedClaim

LANGUAGES = {"en", "es", "fr", "de", "ru", "uk", "pt", "ar"}
POSITIVE_KINDS = {
    "paraphrase", "short_form", "typo", "no_diacritics", "reordered", "social_noise", "translation"
}
MUST_NOT_MATCH_KINDS = {"negative", "entity_swap", "negation"}


def test_fixture_covers_150_claims_in_eight_languages(fixture_claims) -> None:
    assert len(fixture_claims) >= 150
    assert {claim["language"] for claim in fixture_claims} == LANGUAGES
    assert len({claim["id"] for claim in fixture_claims}) == len(fixture_claims)
    assert all(claim["id"].startswith(claim["language"] + "-") for claim in fixture_claims)


def test_fixture_has_300_pairs_of_every_kind_with_sound_references(fixture_claims, fixture_queries) -> None:
    ids = {claim["id"] for claim in fixture_claims}
    kinds = Counter(query["kind"] for query in fixture_queries)

    assert len(fixture_queries) >= 300
    assert set(kinds) == POSITIVE_KINDS | MUST_NOT_MATCH_KINDS
    assert min(kinds.values()) >= 15
    for query in fixture_queries:
        if query["kind"] in POSITIVE_KINDS:
            assert query["claim"] in ids and query["related"] is None, query["id"]
        else:
            assert query["claim"] is None, query["id"]
            assert (query["related"] in ids) == (query["kind"] != "negative"), query["id"]
    translations = [query for query in fixture_queries if query["kind"] == "translation"]
    assert all(query["language"] != query["claim"][:2] for query in translations)
    assert {query["language"] for query in translations} == LANGUAGES


def test_fixture_holds_out_queries_of_every_kind(fixture_queries) -> None:
    for kind in POSITIVE_KINDS | MUST_NOT_MATCH_KINDS:
        splits = Counter(query["split"] for query in fixture_queries if query["kind"] == kind)
        assert {"tune", "holdout"} <= set(splits) <= {"tune", "holdout", "fresh", "blind"}, kind
    assert len({query["text"] for query in fixture_queries}) == len(fixture_queries)


def test_held_out_queries_find_their_claim_among_the_first_five(
    encoder, fixture_claims, fixture_queries
) -> None:
    index = ClaimIndex(encoder=encoder)
    number_of = {claim["id"]: number for number, claim in enumerate(fixture_claims, 1)}
    index.add(
        IndexedClaim(claim_id=number_of[claim["id"]], text=claim["text"], language=claim["language"])
        for claim in fixture_claims
    )
    held_out = [query for query in fixture_queries if query["split"] != "tune" and query["claim"]]

    found = sum(
        number_of[query["claim"]] in [match.claim_id for match in index.search(query["text"])]
        for query in held_out
    )

    assert found / len(held_out) >= 0.95
