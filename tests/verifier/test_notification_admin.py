"""The notification inbox in the admin: the unread count on every page, one's own notifications only,
opening one marks it read, and the switch for notification e-mail."""

from unittest import mock

import pytest
from django.urls import reverse

from tests.admin_helpers import claim_url
from tests.factories import UserFactory
from tests.verifier.conftest import claim_in_review
from verifier.models import Notification, NotificationPreference

pytestmark = pytest.mark.django_db

INBOX = reverse("admin:verifier_notification_changelist")
READ_ALL = reverse("admin:verifier_notification_read_all")
EMAIL = reverse("admin:verifier_notification_email")
UNREAD = f"{INBOX}?read=no"


@pytest.fixture(autouse=True)
def no_broker():
    with mock.patch("sources.services.enqueue_fetch"), mock.patch(
        "verifier.services.notifications.enqueue_notification_mail"
    ):
        yield


def submissions(author, count: int) -> list[Notification]:
    """`count` claims submitted by `author`, each notified to the reviewers by claim_submit."""
    notified: list[Notification] = []
    for number in range(count):
        claim = claim_in_review(author, text=f"Iran says {number + 1} drones were exported before the war")
        notified += Notification.objects.filter(claim=claim, event=Notification.Event.SUBMITTED)
    return notified


def test_every_admin_page_shows_the_unread_count(as_user, fact_checker, reviewer):
    [first, _] = submissions(fact_checker, 2)
    client = as_user(reviewer)
    link = f'<a href="{UNREAD}" id="notifications-link">Notifications <strong>(2 unread)</strong></a>'

    for url in (
        reverse("admin:index"),
        reverse("admin:claims_claim_changelist"),
        claim_url(first.claim),
        reverse("admin:claims_claim_review_queue"),
        reverse("admin:verifier_reviewlogentry_changelist"),
        INBOX,
    ):
        assert link in client.get(url).content.decode(), url


def test_without_unread_notifications_the_link_shows_no_count(as_user, reviewer):
    page = as_user(reviewer).get(reverse("admin:index")).content.decode()

    assert f'<a href="{INBOX}" id="notifications-link">Notifications</a>' in page


def test_the_inbox_lists_only_ones_own_notifications(as_user, fact_checker, reviewer, second_reviewer):
    mine = [n for n in submissions(fact_checker, 2) if n.recipient == reviewer]

    page = as_user(reviewer).get(INBOX).content.decode()

    for notification in mine:
        assert reverse("admin:verifier_notification_open", args=[notification.pk]) in page
    assert page.count("Open claim #") == 2
    assert page.count('<span class="badge badge-warn">New</span>') == 2


def test_a_staff_member_without_workflow_permissions_still_has_an_inbox(as_user):
    response = as_user(UserFactory()).get(INBOX)

    assert response.status_code == 200


def test_opening_a_notification_marks_it_read_and_goes_to_the_claim(as_user, fact_checker, reviewer):
    [notification] = [n for n in submissions(fact_checker, 1) if n.recipient == reviewer]
    client = as_user(reviewer)

    response = client.get(reverse("admin:verifier_notification_open", args=[notification.pk]))

    assert response.status_code == 302 and response["Location"] == claim_url(notification.claim)
    notification.refresh_from_db()
    assert notification.read_at is not None
    assert '<strong>(' not in client.get(reverse("admin:index")).content.decode()


def test_someone_elses_notification_cannot_be_opened(as_user, fact_checker, reviewer, second_reviewer):
    [theirs] = [n for n in submissions(fact_checker, 1) if n.recipient == second_reviewer]

    response = as_user(reviewer).get(reverse("admin:verifier_notification_open", args=[theirs.pk]))

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_all_as_read_takes_a_post_and_reads_only_ones_own(
    as_user, fact_checker, reviewer, second_reviewer
):
    submissions(fact_checker, 2)
    client = as_user(reviewer)

    assert client.get(READ_ALL).status_code == 405
    response = client.post(READ_ALL, follow=True)

    assert "2 notification(s) marked as read." in response.content.decode()
    assert not Notification.objects.filter(recipient=reviewer, read_at__isnull=True).exists()
    assert Notification.objects.filter(recipient=second_reviewer, read_at__isnull=True).count() == 2


def test_the_selected_notifications_can_be_marked_read(as_user, fact_checker, reviewer):
    first, second = [n for n in submissions(fact_checker, 2) if n.recipient == reviewer]

    as_user(reviewer).post(INBOX, {"action": "mark_read", "_selected_action": [first.pk]})

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.read_at is not None and second.read_at is None


def test_email_can_be_turned_off_and_on_from_the_inbox(as_user, reviewer):
    client = as_user(reviewer)
    assert "E-mail notifications are <strong>on</strong>" in client.get(INBOX).content.decode()

    off = client.post(EMAIL, {"email": "off"}, follow=True).content.decode()

    assert "Notification e-mail is off." in off and "E-mail notifications are <strong>off</strong>" in off
    assert NotificationPreference.objects.get(user=reviewer).email is False

    client.post(EMAIL, {"email": "on"})
    assert NotificationPreference.objects.get(user=reviewer).email is True


def test_turning_email_on_without_an_address_says_so(as_user):
    no_address = UserFactory(email="")

    page = as_user(no_address).post(EMAIL, {"email": "on"}, follow=True).content.decode()

    assert "your account has no e-mail address" in page


def test_notifications_cannot_be_added_changed_or_deleted_in_the_admin(as_user, fact_checker, reviewer):
    [notification] = [n for n in submissions(fact_checker, 1) if n.recipient == reviewer]
    client = as_user(reviewer)

    assert client.get(reverse("admin:verifier_notification_add")).status_code == 403
    delete = reverse("admin:verifier_notification_delete", args=[notification.pk])
    assert client.get(delete).status_code == 403
    change = client.post(
        reverse("admin:verifier_notification_change", args=[notification.pk]), {"text": "Edited"}
    )
    assert change.status_code == 403
    notification.refresh_from_db()
    assert notification.text != "Edited"


# Session and user; the e-mail preference; the changelist's count of the filtered rows; the user's and
# their groups' permissions; the page of notifications with their claims and actors; the unread
# count in the header.
INBOX_QUERIES = 8


@pytest.mark.parametrize("claims", [1, 6])
def test_the_inbox_query_count_does_not_grow_with_notifications(
    as_user, fact_checker, reviewer, django_assert_num_queries, claims
):
    submissions(fact_checker, claims)
    client = as_user(reviewer)

    with django_assert_num_queries(INBOX_QUERIES):
        assert client.get(INBOX).status_code == 200
