"""The claim index kept current: vectors stored after commit by the index task, the sweep that
catches what a broker outage left, rebuild_claim_index, and the language each claim is given."""

import datetime
import logging
from io import StringIO
from unittest import mock

import numpy as np
import pytest
from django.core.management import call_command
from django.db import close_old_connections
from django.utils import timezone

from claims.models import Claim, ClaimVector
from claims.services import claims_due_for_index, claims_index, claims_index_rebuild
from claims.similarity import claims_similar
from claims.tasks import index_claims_due
from core.errors import DomainError
from tests.factories import ClaimFactory
from tests.processes import wait_for
from verifier.services.claims import claim_create, claim_update

pytestmark = pytest.mark.django_db

DRONES = "Russia has acquired hundreds of drones from Iran."


def create(actor, text=DRONES, **fields):
    return claim_create(actor=actor, text=text, claimant_name=fields.pop("claimant", "John Kirby"), **fields)


def stored_vector(claim: Claim) -> np.ndarray:
    return np.frombuffer(ClaimVector.objects.get(claim=claim).vector, dtype=np.float16)


def test_indexing_stores_a_unit_vector_per_claim(fact_checker):
    claim = create(fact_checker)

    assert claims_index(claim_ids=[claim.pk, 999_999]) == 1

    vector = stored_vector(claim).astype(np.float32)
    assert vector.shape == (512,) and abs(float(np.linalg.norm(vector)) - 1) < 0.01


def test_saving_a_claim_queues_the_index_task_after_commit(fact_checker, django_capture_on_commit_callbacks):
    with mock.patch("verifier.services.claims.task_queue") as task_queue:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            claim = create(fact_checker)
        task_queue.assert_not_called()
        for callback in callbacks:
            callback()

        task_queue.assert_called_once_with(
            name="claims.tasks.index_claim", args=(claim.pk,), swept_by="index_claims_due"
        )
        task_queue.reset_mock()
        with django_capture_on_commit_callbacks(execute=True):
            claim_update(actor=fact_checker, claim=claim, text="Iran sold drones to Russia.")
        task_queue.assert_called_once()
        task_queue.reset_mock()
        with django_capture_on_commit_callbacks(execute=True):
            claim_update(actor=fact_checker, claim=claim, claim_date=datetime.date(2022, 10, 1))
        task_queue.assert_not_called()


def test_saving_never_fails_with_the_broker_down_and_the_sweep_indexes_later(
    fact_checker, django_capture_on_commit_callbacks, caplog
):
    broker_down = mock.patch("core.queueing.current_app.send_task", side_effect=ConnectionError("down"))
    with broker_down, django_capture_on_commit_callbacks(execute=True), caplog.at_level(logging.WARNING):
        claim = create(fact_checker)

    assert Claim.objects.filter(pk=claim.pk).exists()
    assert "index_claims_due will retry it" in caplog.text
    assert claims_due_for_index() == [claim.pk]

    assert index_claims_due() == 1

    assert claims_due_for_index() == []
    assert claims_similar(text=DRONES, visible=Claim.objects.all())[0].claim_id == claim.pk


def test_a_claim_saved_after_it_was_indexed_is_due_again(fact_checker):
    claim = create(fact_checker)
    claims_index(claim_ids=[claim.pk])
    ClaimVector.objects.filter(claim=claim).update(indexed_at=timezone.now() - datetime.timedelta(minutes=1))

    claim_update(actor=fact_checker, claim=claim, text="Iran sold drones to Russia.")

    assert claims_due_for_index() == [claim.pk]


def test_rebuild_claim_index_indexes_every_claim_and_due_only_the_stale(fact_checker, capsys):
    claims = [ClaimFactory(text=f"Claim {number} about coffee in Colombia") for number in range(3)]

    call_command("rebuild_claim_index")
    assert "Indexed 3 claims." in capsys.readouterr().out
    assert set(ClaimVector.objects.values_list("claim_id", flat=True)) == {claim.pk for claim in claims}

    call_command("rebuild_claim_index", "--due")
    assert "Indexed 0 claims." in capsys.readouterr().out
    assert claims_index_rebuild() == 3


def test_the_language_is_detected_when_not_given_and_follows_new_wording(fact_checker):
    claim = create(fact_checker, text="Rusia ha adquirido cientos de drones de Irán.")
    assert claim.language == "es"

    russian = "Россия приобрела сотни беспилотников у Ирана."  # noqa: RUF001
    claim_update(actor=fact_checker, claim=claim, text=russian)
    claim.refresh_from_db()
    assert claim.language == "ru"

    claim_update(actor=fact_checker, claim=claim, language="uk")
    claim.refresh_from_db()
    assert claim.language == "uk"

    given = create(fact_checker, text="Iran sold drones.", claimant="Other", language="en-GB")
    assert given.language == "en-GB"


def test_a_claim_cannot_be_the_same_as_itself_even_through_others(fact_checker):
    first = create(fact_checker)
    second = create(fact_checker, text="Iran sold drones to Russia.", same_as=first)

    with pytest.raises(DomainError, match="same as itself"):
        claim_update(actor=fact_checker, claim=first, same_as=second)
    with pytest.raises(DomainError, match="same as itself"):
        claim_update(actor=fact_checker, claim=first, same_as=first)

    claim_update(actor=fact_checker, claim=second, same_as=None)
    claim_update(actor=fact_checker, claim=first, same_as=second)
    first.refresh_from_db()
    assert first.same_as_id == second.pk


def test_another_process_index_picks_up_rows_written_since_it_last_looked(fact_checker, monkeypatch):
    import claims.similarity

    first = create(fact_checker)
    claims_index(claim_ids=[first.pk])
    assert [match.claim_id for match in claims_similar(text=DRONES, visible=Claim.objects.all())] == [
        first.pk
    ]
    loaded = claims.similarity._process_index

    second = create(fact_checker, text="Colombia is the world's largest coffee producer.")
    claims_index(claim_ids=[second.pk])
    found = claims_similar(text="Colombia produces the most coffee", visible=Claim.objects.all(), limit=1)

    assert claims.similarity._process_index is loaded
    assert [match.claim_id for match in found] == [second.pk]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_real_worker_indexes_new_and_edited_claims_after_commit(worker, fact_checker):
    claim = create(fact_checker)

    def indexed_at():
        close_old_connections()
        return ClaimVector.objects.filter(claim_id=claim.pk).values_list("indexed_at", flat=True).first()

    first = wait_for(indexed_at, timeout=60, what=f"the worker to index the claim\n{worker.log()}")
    assert claims_similar(text="Russia bought drones from Iran", visible=Claim.objects.all())[0].same_claim

    claim_update(actor=fact_checker, claim=claim, text="Colombia is the world's largest coffee producer.")
    wait_for(
        lambda: (indexed_at() or first) > first, timeout=60, what=f"the worker to re-index\n{worker.log()}"
    )

    [found] = claims_similar(text="Colombia produces the most coffee", visible=Claim.objects.all(), limit=1)
    assert found.claim_id == claim.pk and found.same_claim
    assert not claims_similar(text="Russia bought drones from Iran", visible=Claim.objects.all())[
        0
    ].same_claim


def test_a_new_process_starts_from_the_saved_index_and_adds_what_came_since(
    fact_checker, monkeypatch, settings
):
    import claims.similarity
    from claims.similarity import claim_index_snapshot_store

    saved = create(fact_checker)
    claims_index(claim_ids=[saved.pk])
    assert claim_index_snapshot_store() == 1
    assert settings.CLAIM_INDEX_SNAPSHOT.exists()
    # Only the saved graph still has this vector: a process that finds the claim read the snapshot.
    ClaimVector.objects.filter(claim=saved).delete()
    later = create(fact_checker, text="Colombia is the world's largest coffee producer.")
    claims_index(claim_ids=[later.pk])
    monkeypatch.setattr(claims.similarity, "_process_index", None)

    drones = claims_similar(text="Russia bought drones from Iran", visible=Claim.objects.all(), limit=1)
    coffee = claims_similar(text="Colombia produces the most coffee", visible=Claim.objects.all(), limit=1)

    assert [match.claim_id for match in drones] == [saved.pk] and drones[0].same_claim
    assert [match.claim_id for match in coffee] == [later.pk]


def test_a_missing_or_unreadable_snapshot_means_building_from_the_database(fact_checker, settings):
    settings.CLAIM_INDEX_SNAPSHOT.write_bytes(b"not an index")
    meta = settings.CLAIM_INDEX_SNAPSHOT.with_name("claim-index.usearch.json")
    meta.write_text('{"synced_until": "2030-01-01T00:00:00+00:00"}')
    claim = create(fact_checker)
    claims_index(claim_ids=[claim.pk])

    assert claims_similar(text=DRONES, visible=Claim.objects.all())[0].claim_id == claim.pk


def test_a_sync_rereads_from_the_last_sync_not_from_the_newest_row_and_still_gets_late_commits(
    fact_checker, monkeypatch
):
    import claims.similarity

    old = create(fact_checker)
    claims_index(claim_ids=[old.pk])
    an_hour_ago = timezone.now() - datetime.timedelta(hours=1)
    ClaimVector.objects.filter(claim=old).update(indexed_at=an_hour_ago)
    monkeypatch.setattr(claims.similarity, "_process_index", None)
    assert claims_similar(text=DRONES, visible=Claim.objects.all())[0].claim_id == old.pk
    synced = claims.similarity._process_index

    # The hour-old row is not read again by every search, as it was while it stayed the newest.
    assert synced.reread_from() > an_hour_ago
    # A writer that took its time before the last sync and committed after it is still read.
    late = create(fact_checker, text="Colombia is the world's largest coffee producer.")
    claims_index(claim_ids=[late.pk])
    ClaimVector.objects.filter(claim=late).update(indexed_at=synced.read_at - datetime.timedelta(seconds=10))

    coffee = claims_similar(text="Colombia produces the most coffee", visible=Claim.objects.all(), limit=1)

    assert [match.claim_id for match in coffee] == [late.pk]


def test_a_new_process_adds_none_of_the_rows_the_saved_index_has_and_follows_later_edits(
    fact_checker, monkeypatch
):
    import claims.similarity
    from claims.matching import ClaimIndex
    from claims.similarity import claim_index_snapshot_store

    # Indexed just now, within the sync's reread overlap of the saved index.
    drones = create(fact_checker)
    coffee = create(fact_checker, text="Colombia is the world's largest coffee producer.")
    claims_index(claim_ids=[drones.pk, coffee.pk])
    claim_index_snapshot_store()
    claim_update(actor=fact_checker, claim=coffee, text="Bananas are berries, botanically speaking.")
    claims_index(claim_ids=[coffee.pk])
    monkeypatch.setattr(claims.similarity, "_process_index", None)
    added = []
    add_vectors = ClaimIndex.add_vectors
    monkeypatch.setattr(
        ClaimIndex,
        "add_vectors",
        lambda self, ids, vectors: added.extend(ids) or add_vectors(self, ids, vectors),
    )

    drones_found = claims_similar(text="Russia bought drones from Iran", visible=Claim.objects.all(), limit=1)
    berries = claims_similar(text="bananas are botanically berries", visible=Claim.objects.all(), limit=1)
    coffee_found = claims_similar(text="Colombia produces the most coffee", visible=Claim.objects.all())

    assert added == [coffee.pk]
    assert not claims.similarity._process_index.writable
    assert [match.claim_id for match in drones_found] == [drones.pk] and drones_found[0].same_claim
    assert [match.claim_id for match in berries] == [coffee.pk] and berries[0].same_claim
    assert not any(match.same_claim for match in coffee_found)


def test_a_web_process_reopens_the_saved_index_once_a_newer_one_is_saved(fact_checker, monkeypatch):
    import claims.similarity
    from claims.similarity import claim_index_snapshot_store

    drones = create(fact_checker)
    claims_index(claim_ids=[drones.pk])
    claim_index_snapshot_store()
    monkeypatch.setattr(claims.similarity, "_process_index", None)
    claims_similar(text=DRONES, visible=Claim.objects.all())
    opened = claims.similarity._process_index
    coffee = create(fact_checker, text="Colombia is the world's largest coffee producer.")
    claims_index(claim_ids=[coffee.pk])
    assert claims_similar(text="Colombia produces the most coffee", visible=Claim.objects.all())[
        0
    ].claim_id == (coffee.pk)
    assert claims.similarity._process_index is opened

    # The beat task, in the worker process, saves the graph with the claim added since.
    saver = claims.similarity._SyncedIndex(writable=True)
    saver.sync()
    saver.snapshot()
    found = claims_similar(text="Colombia produces the most coffee", visible=Claim.objects.all(), limit=1)

    reopened = claims.similarity._process_index
    assert reopened is not opened and not reopened.writable
    assert coffee.pk in reopened.index and [match.claim_id for match in found] == [coffee.pk]
    assert not claims.similarity._process_index.outdated()


def test_a_full_rebuild_saves_an_index_without_the_deleted_claims(monkeypatch):
    """A sync only adds: the saved graph keeps every deleted claim, each a near neighbour searches
    find and drop, until `rebuild_claim_index` builds it again from the stored vectors."""
    import claims.similarity
    from claims.similarity import claim_index_snapshot_store

    # Made without the workflow: a claim with a review log is protected from deletion, but a
    # bulk load deleted and made again (a benchmark, a botched import) is not.
    kept = ClaimFactory.create(text="Russia has acquired hundreds of Iranian drones.")
    gone = ClaimFactory.create(text="Colombia is the world's largest coffee producer.")
    claims_index(claim_ids=[kept.pk, gone.pk])
    assert claim_index_snapshot_store() == 2
    gone.delete()

    assert claim_index_snapshot_store() == 2  # the incremental save keeps it
    call_command("rebuild_claim_index", stdout=StringIO())

    monkeypatch.setattr(claims.similarity, "_process_index", None)  # a new process: the saved graph
    assert claim_index_snapshot_store() == 1
    [found] = claims_similar(text="Russia bought drones from Iran", visible=Claim.objects.all(), limit=1)
    assert found.claim_id == kept.pk


def test_a_full_rebuild_with_no_claim_left_removes_the_saved_index(monkeypatch, settings):
    import claims.similarity
    from claims.similarity import claim_index_snapshot_store

    gone = ClaimFactory.create(text="Colombia is the world's largest coffee producer.")
    claims_index(claim_ids=[gone.pk])
    assert claim_index_snapshot_store() == 1
    gone.delete()

    call_command("rebuild_claim_index", stdout=StringIO())

    assert not settings.CLAIM_INDEX_SNAPSHOT.exists()
    monkeypatch.setattr(claims.similarity, "_process_index", None)  # a new process: the database
    assert claim_index_snapshot_store() == 0
