"""Missing trusted timestamps are visible in the admin, with a "Retry now" that queues the sweep;
the authority is the local RFC 3161 server of these tests, over real HTTP."""

from unittest import mock

import pytest
from celery import current_app

from tests.verifier.provenance.packages import fetch_now
from verifier import tasks  # noqa: F401 (registers the tasks the admin queues by name)
from verifier.provenance.models import TrustedTimestamp
from verifier.provenance.services import TIMESTAMP_TASK, trusted_timestamps_request_missing
from verifier.services.claims import claim_create
from verifier.services.evidence import evidence_add

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/provenance/trustedtimestamp/"
RETRY = "/admin/provenance/trustedtimestamp/retry/"


def capture_of(site, fact_checker, path: str):
    site.expect_request(path).respond_with_data(f"<html><body><p>Page {path}.</p></body></html>")
    claim = claim_create(actor=fact_checker, text=f"A claim citing {path}", claimant_name="Iran")
    evidence = evidence_add(
        actor=fact_checker, claim=claim, url=site.url_for(path), quote="Page", stance="supports"
    )
    return fetch_now(evidence.source)


def test_missing_tokens_are_listed_and_retry_now_gets_them(site, tsa, fact_checker, superuser, as_user):
    tsa.failing = True
    failed = capture_of(site, fact_checker, "/first")
    assert trusted_timestamps_request_missing() == 0  # the authority answered 503
    unasked = capture_of(site, fact_checker, "/second")
    admin = as_user(superuser)

    page = admin.get(CHANGELIST).content.decode()

    assert "Missing tokens" in page
    waiting = page.split("Asked for, not had yet", 1)[1].split("</table>", 1)[0]
    assert failed.warc_sha256 in waiting and "503" in waiting
    not_asked = page.split("Captures not asked for yet (1)", 1)[1].split("</table>", 1)[0]
    assert unasked.warc_sha256 in not_asked and f"/admin/sources/snapshot/{unasked.pk}/change/" in not_asked
    assert f'action="{RETRY}"' in page and "Retry now" in page

    tsa.failing = False
    with mock.patch("verifier.provenance.services.task_queue", return_value=True) as task_queue:
        answer = admin.post(RETRY, follow=True)
    assert "every missing token is asked for again now" in answer.content.decode()
    ((_, queued),) = task_queue.call_args_list
    assert queued["name"] == TIMESTAMP_TASK

    # What the worker runs for that message: the failure minutes ago does not hold the retry back.
    assert current_app.tasks[queued["name"]](*queued["args"]) == 2

    assert TrustedTimestamp.objects.filter(token=b"").count() == 0
    assert "Every capture and package has its token" in admin.get(CHANGELIST).content.decode()


def test_the_beat_sweep_itself_still_waits_before_asking_again(site, tsa, fact_checker):
    tsa.failing = True
    capture_of(site, fact_checker, "/first")
    trusted_timestamps_request_missing()
    tsa.failing = False

    assert current_app.tasks[TIMESTAMP_TASK]() == 0


def test_a_missing_package_token_is_listed(tsa, superuser, as_user):
    tsa.failing = True
    digest = "ab" * 32
    TrustedTimestamp.objects.create(digest=digest, kind=TrustedTimestamp.Kind.PACKAGE, last_error="down")

    page = as_user(superuser).get(CHANGELIST).content.decode()

    assert "Evidence package" in page and digest in page


def test_without_an_authority_the_page_says_nothing_is_timestamped(settings, superuser, as_user):
    settings.VERIFIER_TSA_URL = ""

    page = as_user(superuser).get(CHANGELIST).content.decode()
    retried = as_user(superuser).post(RETRY, follow=True).content.decode()

    assert "No timestamp authority is configured" in page and "Retry now" not in page
    assert "No timestamp authority is configured" in retried


def test_the_desk_sees_missing_tokens_and_may_retry(tsa, fact_checker, reviewer, as_user):
    # Both groups are given the page by migration provenance/0002, not only superusers.
    for person in (fact_checker, reviewer):
        desk = as_user(person)
        assert "Every capture and package has its token" in desk.get(CHANGELIST).content.decode()
        with mock.patch("verifier.provenance.services.task_queue", return_value=True) as task_queue:
            assert desk.post(RETRY).status_code == 302
        assert task_queue.call_count == 1


def test_only_staff_with_the_permission_reach_the_retry(client, as_user, django_user_model):
    assert client.post(RETRY).status_code == 302  # to the login page
    staff_without_a_group = django_user_model.objects.create_user("intern", password="x", is_staff=True)
    assert as_user(staff_without_a_group).post(RETRY).status_code == 403
