"""The lexical tier beside the vector one (claims.similarity): pg_trgm on PostgreSQL, FTS5 on
SQLite, both only ever naming claims the searcher may see."""

import logging

import pytest
from django.db import connection

from claims.models import Claim
from claims.services import claims_index
from claims.similarity import claims_similar, lexical_candidates
from tests.factories import ClaimFactory

pytestmark = pytest.mark.django_db

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the trigram query's timeout is PostgreSQL's"
)

DRONES = "Russia has acquired hundreds of drones from Iran."


@pytest.fixture
def recorded():
    claims = [
        ClaimFactory(text=DRONES, status=Claim.Status.PUBLISHED),
        ClaimFactory(text="Colombia is the world's largest coffee producer.", status=Claim.Status.PUBLISHED),
        ClaimFactory(text="Russia has acquired hundreds of tanks from Belarus.", status=Claim.Status.DRAFT),
    ]
    claims_index(claim_ids=[claim.pk for claim in claims])
    return claims


def test_a_typo_and_missing_words_find_the_claim_by_its_characters(recorded):
    drones, coffee, _ = recorded

    assert (
        lexical_candidates(text="Rusia has aquired hundreds of drones", visible=Claim.objects.all())[0]
        == drones.pk
    )
    assert (
        lexical_candidates(text="colombia largest coffee producer", visible=Claim.objects.all())[0]
        == coffee.pk
    )


def test_hidden_claims_are_never_lexical_candidates(recorded):
    _, _, draft = recorded

    everyone = lexical_candidates(text="hundreds of tanks from Belarus", visible=Claim.objects.all())
    public = lexical_candidates(
        text="hundreds of tanks from Belarus", visible=Claim.objects.filter(status=Claim.Status.PUBLISHED)
    )

    assert everyone[0] == draft.pk
    assert draft.pk not in public


def test_lexical_candidates_follow_edits(recorded):
    drones, *_ = recorded
    Claim.objects.filter(pk=drones.pk).update(text="Bananas are berries, botanically speaking.")
    claims_index(claim_ids=[drones.pk])

    assert lexical_candidates(text="bananas are berries", visible=Claim.objects.all()) == [drones.pk]
    assert drones.pk not in lexical_candidates(text="acquired drones from Iran", visible=Claim.objects.all())


def test_a_lexical_candidate_is_judged_even_when_the_vectors_rank_it_out(recorded, monkeypatch):
    drones, *_ = recorded
    # The vector tier returns nothing at all: only the lexical tier can name the claim.
    monkeypatch.setattr("claims.matching.index.CANDIDATE_POOL", 1)
    monkeypatch.setattr("claims.matching.index.Index.search", _nothing_found)

    [match] = claims_similar(
        text="Rusia has aquired hundreds of drones from Iran", visible=Claim.objects.all(), limit=1
    )

    assert match.claim_id == drones.pk and match.same_claim


class _NoMatches:
    keys: list[int] = []
    distances: list[float] = []


def _nothing_found(self, vector, count, **options):
    return _NoMatches()


@pytest.fixture
def slow_to_match(recorded):
    """Claims long enough that the trigram query spends far more than a millisecond rechecking
    word similarity on each of them (the GIN index names them all: they share the query's words)."""
    drones = recorded[0]
    padding = " ".join(["Russia has acquired hundreds of drones and tanks from many countries."] * 60)
    Claim.objects.bulk_create(
        Claim(text=f"{padding} {number}", claimant=drones.claimant, created_by=drones.created_by)
        for number in range(300)
    )
    return recorded


def _session_setting(name):
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting(%s)", [name])
        return cursor.fetchone()[0]


@postgresql_only
def test_a_lexical_query_past_its_timeout_leaves_the_vectors_to_answer(slow_to_match, monkeypatch, caplog):
    drones, *_ = slow_to_match
    timeout = _session_setting("statement_timeout")
    monkeypatch.setattr("claims.similarity.LEXICAL_TIMEOUT_MS", 1)

    with caplog.at_level(logging.WARNING, logger="claims.similarity"):
        candidates = lexical_candidates(text="hundreds of drones from Iran", visible=Claim.objects.all())
        [match] = claims_similar(
            text="Russia has acquired hundreds of drones from Iran", visible=Claim.objects.all(), limit=1
        )

    assert candidates == []
    assert "Lexical candidates skipped" in caplog.text
    # The vector tier answered, and the transaction the search ran in is still usable as it was.
    assert match.claim_id == drones.pk and match.same_claim
    assert Claim.objects.filter(pk=drones.pk).exists()
    assert _session_setting("statement_timeout") == timeout
    assert _session_setting("enable_seqscan") == "on"


@postgresql_only
def test_a_lexical_query_in_time_puts_the_session_settings_back(recorded):
    drones, *_ = recorded
    timeout = _session_setting("statement_timeout")

    candidates = lexical_candidates(text="Rusia has aquired hundreds of drones", visible=Claim.objects.all())

    assert drones.pk in candidates
    assert _session_setting("statement_timeout") == timeout
    assert _session_setting("enable_seqscan") == "on"


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ("São Tomé e Príncipe é o país mais pequeno de África.", "sao tome principe"),
        # Ukrainian ї typed without its diaeresis.
        ("Київ отримав її дрони.", "Киів отримав іі"),  # noqa: RUF001
        ("أحمد إبراهيم وزير الصحة", "احمد ابراهيم"),
    ],
)
def test_a_query_without_diacritics_finds_the_claim_by_its_characters(text, query):
    # The lexical tier folds diacritics in the query: its index must fold them in the claims too.
    claim = ClaimFactory(text=text, status=Claim.Status.PUBLISHED)
    ClaimFactory(text="Colombia is the world's largest coffee producer.", status=Claim.Status.PUBLISHED)
    claims_index(claim_ids=[claim.pk])

    assert lexical_candidates(text=query, visible=Claim.objects.all())[:1] == [claim.pk]
