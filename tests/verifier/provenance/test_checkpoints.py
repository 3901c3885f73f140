"""Signed review-log checkpoints, and verify_review_log --checkpoint catching what changed since."""

import io
import json

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

from config.celery import app
from core.errors import DomainError
from tests.factories import rating
from verifier.models import ReviewLogEntry
from verifier.provenance.merkle import checkpoint_message
from verifier.provenance.models import ReviewLogCheckpoint
from verifier.provenance.selectors import (
    checkpoint_document,
    review_log_checkpoint_latest,
    review_log_package_part,
)
from verifier.provenance.services import review_log_checkpoint_store
from verifier.provenance.signing import signature_valid
from verifier.services.verdicts import verdict_save_draft
from verifier.tasks import store_review_log_checkpoint

pytestmark = pytest.mark.django_db


def delete_entries(*sequences: int) -> None:
    # The model refuses delete(); someone with database access does not ask it.
    with connection.cursor() as cursor:
        for sequence in sequences:
            cursor.execute(f"DELETE FROM {ReviewLogEntry._meta.db_table} WHERE sequence = %s", [sequence])


def saved_checkpoint(tmp_path) -> str:
    path = tmp_path / "checkpoint.json"
    checkpoint = review_log_checkpoint_store()
    assert checkpoint is not None
    path.write_text(json.dumps(checkpoint_document(checkpoint)))
    return str(path)


def verify(checkpoint_path: str) -> str:
    err = io.StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("verify_review_log", "--checkpoint", checkpoint_path, stderr=err)
    assert failure.value.returncode == 1
    return err.getvalue()


def test_a_checkpoint_signs_the_size_and_head_of_the_log(published_claim):
    checkpoint = review_log_checkpoint_store()
    document = checkpoint_document(checkpoint)

    assert checkpoint.size == ReviewLogEntry.objects.count()
    assert set(document) == {"size", "head", "created", "signature", "publicKey"}
    message = checkpoint_message(size=checkpoint.size, head=checkpoint.head, created=document["created"])
    assert signature_valid(document["publicKey"], message, document["signature"])


def test_an_approval_signs_a_checkpoint_covering_it(published_claim):
    approval = ReviewLogEntry.objects.get(claim=published_claim, action=ReviewLogEntry.Action.APPROVE)

    assert review_log_checkpoint_latest().size == approval.sequence == ReviewLogEntry.objects.count()


def test_the_beat_checkpoint_covers_entries_appended_since_the_last_approval(published_claim, fact_checker):
    verdict_save_draft(
        actor=fact_checker, claim=published_claim, rating=rating("false"), summary="Corrected."
    )
    assert review_log_checkpoint_latest().size == ReviewLogEntry.objects.count() - 1

    assert store_review_log_checkpoint() == ReviewLogEntry.objects.count()
    assert review_log_checkpoint_latest().size == ReviewLogEntry.objects.count()


@pytest.mark.parametrize("entry", ["store-review-log-checkpoint", "request-missing-trusted-timestamps"])
def test_beat_runs_the_provenance_sweeps(entry):
    assert settings.CELERY_BEAT_SCHEDULE[entry]["task"] in app.tasks


def test_nothing_new_in_the_log_means_no_new_checkpoint(published_claim):
    first = review_log_checkpoint_store()

    assert review_log_checkpoint_store() == first
    assert ReviewLogCheckpoint.objects.count() == 1


def test_an_empty_log_has_no_checkpoint():
    assert review_log_checkpoint_store() is None


def test_a_log_with_a_hole_is_not_signed(published_claim):
    delete_entries(2)

    with pytest.raises(DomainError, match="no entry #2"):
        review_log_checkpoint_store()


def test_an_intact_log_matches_its_checkpoint(published_claim, make_published_claim, tmp_path):
    path = saved_checkpoint(tmp_path)
    make_published_claim()  # the log grows after the checkpoint; that is fine
    out = io.StringIO()

    call_command("verify_review_log", "--checkpoint", path, stdout=out)

    assert "matches the checkpoint" in out.getvalue()


def test_deleting_the_newest_entry_is_caught(published_claim, tmp_path):
    path = saved_checkpoint(tmp_path)
    newest = ReviewLogEntry.objects.order_by("-sequence").first().sequence
    delete_entries(newest)

    # The chain alone cannot see it: what is left still links up.
    call_command("verify_review_log", stdout=io.StringIO())
    assert f"the log holds only {newest - 1}" in verify(path)


def test_an_edited_entry_with_its_hashes_rewritten_is_caught(published_claim, tmp_path):
    path = saved_checkpoint(tmp_path)
    # Rewriting the whole chain after the edit keeps it internally consistent.
    entries = list(ReviewLogEntry.objects.order_by("sequence"))
    previous = entries[0].previous_hash
    for entry in entries:
        if entry.sequence == 2:
            entry.comment = "Looked fine to me."
        entry.previous_hash = previous
        entry.entry_hash = entry.compute_hash()
        ReviewLogEntry.objects.filter(pk=entry.pk).update(
            comment=entry.comment, previous_hash=entry.previous_hash, entry_hash=entry.entry_hash
        )
        previous = entry.entry_hash

    call_command("verify_review_log", stdout=io.StringIO())
    assert "no longer hash to the checkpoint's head" in verify(path)


def test_reordered_entries_are_caught(published_claim, tmp_path):
    path = saved_checkpoint(tmp_path)
    first, second = ReviewLogEntry.objects.filter(sequence__in=[1, 2]).order_by("sequence")
    ReviewLogEntry.objects.filter(pk=first.pk).update(sequence=1000)
    ReviewLogEntry.objects.filter(pk=second.pk).update(sequence=1)
    ReviewLogEntry.objects.filter(pk=first.pk).update(sequence=2)

    assert "no longer hash to the checkpoint's head" in verify(path)


def test_a_forged_checkpoint_is_refused(published_claim, tmp_path):
    document = checkpoint_document(review_log_checkpoint_store())
    document["size"] += 1
    path = tmp_path / "forged.json"
    path.write_text(json.dumps(document))

    assert "signature does not verify" in verify(str(path))


def test_a_claims_entries_come_with_proofs_into_the_covering_checkpoint(
    published_claim, make_published_claim
):
    approval = ReviewLogEntry.objects.filter(claim=published_claim).order_by("-sequence").first()
    covering = review_log_checkpoint_store()
    make_published_claim()
    review_log_checkpoint_store()

    entries, checkpoint = review_log_package_part(
        claim_id=published_claim.pk, up_to_sequence=approval.sequence
    )

    assert checkpoint == checkpoint_document(covering)
    assert [entry["content"]["sequence"] for entry in entries] == list(
        ReviewLogEntry.objects.filter(claim=published_claim).values_list("sequence", flat=True)
    )
    assert all(entry["proof"] for entry in entries)
