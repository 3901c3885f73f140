"""Issue 14: database connections cut while reviewers approve (PostgreSQL): never a 500, exactly one
approval per verdict, and the review log's hash chain intact."""

import json
import random
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import close_old_connections, connection
from rest_framework.authtoken.models import Token

from claims.models import Claim
from tests.factories import FactCheckerFactory, ReviewerFactory, rating
from tests.processes import WebProcess
from verifier.models import ReviewLogEntry, Verdict
from verifier.services.claims import claim_create
from verifier.services.evidence import evidence_add
from verifier.services.review_log import review_log_problems
from verifier.services.verdicts import claim_submit, verdict_save_draft

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("queued"),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_terminate_backend is PostgreSQL's"),
]


def claim_in_review(author, number: int) -> Claim:
    claim = claim_create(actor=author, text=f"Iran exported drone batch {number} early", claimant_name="Iran")
    evidence_add(
        actor=author, claim=claim, url=f"https://news.example.org/batch-{number}",
        quote="these drones were exported before the attack on Ukraine", stance="supports",
    )
    verdict_save_draft(
        actor=author, claim=claim, rating=rating("misleading"), summary="Exported before.",
        explanation="Iran admits supplying drones but disputes the timing.",
    )
    claim_submit(actor=author, claim=claim)
    return claim


def approve(base_url: str, token: str, claim_id: int) -> int:
    request = urllib.request.Request(
        f"{base_url}/api/v1/claims/{claim_id}/approve/",
        data=json.dumps({"comment": ""}).encode(),
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def approve_until_answered(base_url: str, token: str, claim_id: int) -> list[int]:
    """What a reviewer's client does: on 503, waits a moment and tries again."""
    statuses = [approve(base_url, token, claim_id)]
    while statuses[-1] == 503 and len(statuses) < 60:
        time.sleep(0.5)
        statuses.append(approve(base_url, token, claim_id))
    return statuses


def terminate_connections_until(
    stop: threading.Event, terminated: list[int], *, started: threading.Event
) -> None:
    """Once `started` is set, cuts every other connection to the test database, over and over."""
    started.wait(timeout=60)
    try:
        with connection.cursor() as cursor:
            while not stop.is_set():
                # Irregular gaps: some approvals finish, others are cut at any step of their
                # transaction. Short enough that several cuts land while the approvals run, which
                # take about a second in all.
                time.sleep(random.uniform(0.05, 0.3))
                cursor.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
                terminated.append(cursor.fetchone()[0])
    finally:
        connection.close()


def test_connections_terminated_during_approvals_give_one_approval_each_and_no_500():
    author = FactCheckerFactory()
    claims = [claim_in_review(author, number) for number in range(40)]
    tokens = [Token.objects.create(user=ReviewerFactory()).key for _ in range(2)]
    web = WebProcess(workers=2, threads=4)
    stop, started, terminated = threading.Event(), threading.Event(), []
    killer = threading.Thread(
        target=terminate_connections_until, args=(stop, terminated), kwargs={"started": started}
    )
    try:
        web.start()
        connection.close()  # the killer cuts this thread's connection too
        killer.start()
        with ThreadPoolExecutor(max_workers=8) as pool:
            # Both reviewers approve every claim at once, while connections are being cut.
            answers = list(
                pool.map(
                    lambda job: started.set() or approve(web.base_url, *job),
                    [(token, claim.pk) for claim in claims for token in tokens],
                )
            )
            stop.set()
            killer.join(timeout=30)
            recovered = time.monotonic()
            retried = list(
                pool.map(
                    lambda job: approve_until_answered(web.base_url, *job),
                    [job for job, status in zip(
                        [(token, claim.pk) for claim in claims for token in tokens], answers, strict=True
                    ) if status == 503],
                )
            )
        print(f"answers under the fault: {sorted(answers)}; retries settled "
              f"{time.monotonic() - recovered:.1f} s after the fault ended")
    finally:
        stop.set()
        killer.join(timeout=30)
        web.stop()

    close_old_connections()
    every_status = answers + [status for statuses in retried for status in statuses]
    assert sum(terminated) > 0, "the fault hit the web's connections"
    assert 503 in answers, "some approvals met a cut connection"
    assert set(every_status) <= {200, 409, 503}, every_status
    assert all(statuses[-1] in (200, 409) for statuses in retried), retried
    for claim in claims:
        assert ReviewLogEntry.objects.filter(claim=claim, action=ReviewLogEntry.Action.APPROVE).count() == 1
        assert Verdict.objects.get(claim=claim).state == Verdict.State.APPROVED
    assert review_log_problems() == []
    assert "Internal Server Error" not in web.log()
    assert "Traceback" not in web.log()
