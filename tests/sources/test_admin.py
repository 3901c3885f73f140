"""The source and snapshot admin: read-only records of every fetch, and a re-fetch action."""

from unittest import mock

import pytest
from django.urls import reverse

from sources.models import Snapshot, Source
from tests.admin_helpers import drafted_claim

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def queued():
    with mock.patch("sources.services.enqueue_fetch") as enqueue:
        yield enqueue


@pytest.fixture
def as_user(client):
    def login(user):
        client.force_login(user)
        return client

    return login


@pytest.mark.parametrize("role", ["fact_checker", "reviewer", "superuser"])
def test_source_and_snapshot_pages_render_for_every_role(role, request, as_user, fact_checker):
    claim = drafted_claim(fact_checker)
    source = Source.objects.get()
    snapshot = Snapshot.objects.get()
    client = as_user(request.getfixturevalue(role))

    for url in (
        reverse("admin:sources_source_changelist"),
        reverse("admin:sources_source_change", args=[source.pk]),
        reverse("admin:sources_snapshot_changelist"),
        reverse("admin:sources_snapshot_change", args=[snapshot.pk]),
    ):
        assert client.get(url).status_code == 200, url
    source_page = client.get(reverse("admin:sources_source_change", args=[source.pk]))
    assert reverse("admin:claims_claim_change", args=[claim.pk]) in source_page.content.decode()
    assert reverse("admin:sources_snapshot_change", args=[snapshot.pk]) in source_page.content.decode()


def test_snapshot_list_leaves_the_extracted_text_unloaded(as_user, fact_checker):
    drafted_claim(fact_checker)

    response = as_user(fact_checker).get(reverse("admin:sources_snapshot_changelist"))

    (snapshot,) = response.context["cl"].result_list
    assert "text" in snapshot.get_deferred_fields()


def test_sources_and_snapshots_are_read_only_even_for_superusers(as_user, superuser, fact_checker):
    drafted_claim(fact_checker)
    source, snapshot = Source.objects.get(), Snapshot.objects.get()
    client = as_user(superuser)

    assert client.get(reverse("admin:sources_source_add")).status_code == 403
    assert client.get(reverse("admin:sources_snapshot_add")).status_code == 403
    assert (
        client.post(
            reverse("admin:sources_source_change", args=[source.pk]), {"url": "https://evil.example/"}
        ).status_code
        == 403
    )
    assert (
        client.post(reverse("admin:sources_snapshot_delete", args=[snapshot.pk])).status_code == 403
    )
    assert Source.objects.get().url == "https://news.example.org/iran-drones"


def test_fact_checker_re_fetches_sources_with_the_action(
    as_user, fact_checker, queued, django_capture_on_commit_callbacks
):
    drafted_claim(fact_checker)
    source = Source.objects.get()
    Source.objects.filter(pk=source.pk).update(status=Source.Status.FETCHED, fetch_token=None)
    queued.reset_mock()

    with django_capture_on_commit_callbacks(execute=True):
        response = as_user(fact_checker).post(
            reverse("admin:sources_source_changelist"),
            {"action": "refetch", "_selected_action": [str(source.pk)]},
            follow=True,
        )

    assert "Queued a fetch of 1 source." in [str(m) for m in response.context["messages"]]
    source.refresh_from_db()
    assert source.status == Source.Status.PENDING
    queued.assert_called_once_with(source_id=source.pk, token=source.fetch_token)


def test_reviewers_are_not_offered_the_re_fetch_action(as_user, reviewer, fact_checker, queued):
    drafted_claim(fact_checker)
    queued.reset_mock()
    client = as_user(reviewer)

    page = client.get(reverse("admin:sources_source_changelist"))
    client.post(
        reverse("admin:sources_source_changelist"),
        {"action": "refetch", "_selected_action": [str(Source.objects.get().pk)]},
    )

    assert "refetch" not in page.content.decode()
    queued.assert_not_called()
