"""seed_demo loads the demo through the real workflow; verify_review_log catches tampering."""

import io
import re

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import CommandError, call_command
from django.db import connection

from claims.models import Claim, Claimant, Evidence, Tag
from core.roles import FACT_CHECKERS, REVIEWERS
from sources.models import Source
from verifier.models import ReviewLogEntry, Verdict
from verifier.services.review_log import review_log_problems

pytestmark = pytest.mark.django_db

User = get_user_model()
SEEDED_MODELS = (Claim, Claimant, Tag, Evidence, Source, Verdict, ReviewLogEntry, User)


def seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def printed_password(output: str, username: str) -> str:
    match = re.search(rf"^\s+{username}\s+(\S+)\s", output, re.MULTILINE)
    assert match, f"no password printed for {username}:\n{output}"
    return match.group(1)


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in SEEDED_MODELS}


def test_seed_demo_loads_the_seed_articles_claims_with_claimants_dates_and_evidence():
    seed()

    claims = Claim.objects.select_related("claimant")
    assert claims.count() == 7
    iran = claims.get(text="Iran says the drones were exported before the invasion.")
    assert iran.claimant.name == "Iran"
    assert iran.claimant.url == "https://en.wikipedia.org/wiki/Iran"
    assert str(iran.claim_date) == "2022-10-20"
    assert iran.appearance_url.startswith("https://")
    assert iran.tags.exists()
    assert all(claim.evidence.exists() for claim in claims)
    assert Source.objects.filter(url__contains="Resolution_2231").exists()


def test_seed_demo_publishes_a_claim_through_the_workflow_by_both_demo_users():
    seed()

    factchecker = User.objects.get(username="factchecker")
    reviewer = User.objects.get(username="reviewer")
    published = Claim.objects.get(status=Claim.Status.PUBLISHED)
    verdict = published.verdicts.get()
    assert verdict.state == Verdict.State.APPROVED
    assert (verdict.author, verdict.reviewer) == (factchecker, reviewer)
    log = list(published.review_log.values_list("action", "actor__username"))
    assert ("submit", "factchecker") in log
    assert ("approve", "reviewer") in log
    assert Claim.objects.filter(status=Claim.Status.IN_REVIEW).exists()
    assert review_log_problems() == []


def test_seed_demo_users_are_staff_in_their_groups_and_the_printed_passwords_work():
    output = seed()

    assert "for local use only" in output
    for username, group in (("factchecker", FACT_CHECKERS), ("reviewer", REVIEWERS)):
        user = User.objects.get(username=username)
        assert user.is_staff
        assert list(user.groups.values_list("name", flat=True)) == [group]
        assert authenticate(username=username, password=printed_password(output, username)) == user


def test_seed_demo_twice_creates_nothing_new_and_prints_working_passwords_again():
    seed()
    before = counts()

    output = seed()

    assert counts() == before
    assert "0 claims created" in output
    password = printed_password(output, "reviewer")
    assert authenticate(username="reviewer", password=password) is not None


def verify_review_log() -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("verify_review_log", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_verify_review_log_reports_an_intact_chain_with_its_entry_count():
    seed()

    out, _ = verify_review_log()

    assert f"OK: the review log chain of {ReviewLogEntry.objects.count()} entries is intact" in out


def test_verify_review_log_detects_an_edited_entry_and_exits_1():
    seed()
    ReviewLogEntry.objects.filter(sequence=2).update(comment="Nothing to see here.")

    err = io.StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("verify_review_log", stderr=err)

    assert failure.value.returncode == 1
    assert "entry #2: content does not match its hash (edited)" in err.getvalue()


def test_verify_review_log_detects_a_deleted_entry_and_exits_1():
    seed()
    # The model refuses delete(); someone with database access does not ask it.
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {ReviewLogEntry._meta.db_table} WHERE sequence = 3")

    err = io.StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("verify_review_log", stderr=err)

    assert failure.value.returncode == 1
    assert "entry #4: expected #3; an entry was deleted" in err.getvalue()
