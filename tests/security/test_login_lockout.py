"""Login brute force (issue 9, finding 4): failures lock out the username and the address for a
cool-off; staff unlock in the admin or with axes_reset."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.utils import timezone

from tests.factories import PASSWORD, ReviewerFactory

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/"


@pytest.fixture
def target(settings):
    settings.AXES_FAILURE_LIMIT = 5
    return ReviewerFactory(username="reviewer")


def log_in(client, username, password, address="198.51.100.7", **headers):
    return client.post(
        LOGIN, {"username": username, "password": password, "next": "/admin/"},
        REMOTE_ADDR=address, **headers,
    )


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def fail(client, username, times, **kwargs):
    return [log_in(client, username, "wrong-password", **kwargs).status_code for _ in range(times)]


def test_the_right_password_after_repeated_failures_does_not_log_in(client, target):
    # The admin answers a wrong password with the form again (200); the lockout with a 429.
    assert fail(client, "reviewer", 6) == [200] * 4 + [429] * 2

    response = log_in(client, "reviewer", PASSWORD)

    assert response.status_code == 429
    assert "logins are locked" in response.content.decode()
    assert not logged_in(client)


def test_the_username_is_locked_from_every_address(client, target):
    for number in range(5):
        fail(client, "reviewer", 1, address=f"203.0.113.{number + 1}")

    assert log_in(client, "reviewer", PASSWORD, address="192.0.2.50").status_code == 429
    assert not logged_in(client)


def test_one_address_is_locked_for_every_username(client, target, settings):
    for number in range(5):
        fail(client, f"guess{number}", 1)

    assert log_in(client, "reviewer", PASSWORD).status_code == 429
    assert log_in(client, "reviewer", PASSWORD, address="192.0.2.50").status_code == 302
    assert logged_in(client)


def test_a_made_up_forwarded_for_does_not_escape_the_address_lockout(client, target):
    for number in range(5):
        fail(client, f"guess{number}", 1, HTTP_X_FORWARDED_FOR=f"203.0.113.{number + 1}")

    assert log_in(client, "reviewer", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.99").status_code == 429


def test_the_lockout_ends_after_the_cool_off(client, target, settings):
    fail(client, "reviewer", 5)
    assert log_in(client, "reviewer", PASSWORD).status_code == 429

    cooled_off = timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1)
    AccessAttempt.objects.update(attempt_time=cooled_off)

    assert log_in(client, "reviewer", PASSWORD).status_code == 302
    assert logged_in(client)


def test_a_success_before_the_limit_clears_the_failures(client, target):
    fail(client, "reviewer", 4)
    assert log_in(client, "reviewer", PASSWORD).status_code == 302
    client.logout()

    assert fail(client, "reviewer", 4) == [200] * 4
    assert log_in(client, "reviewer", PASSWORD).status_code == 302


def test_staff_unlock_a_user_in_the_admin(client, target, superuser):
    fail(client, "reviewer", 5)
    admin = type(client)()
    admin.force_login(superuser)
    listed = admin.get("/admin/axes/accessattempt/", {"locked_out": "yes"})
    assert listed.status_code == 200 and "reviewer" in listed.content.decode()

    unlocked = admin.post(
        "/admin/axes/accessattempt/",
        {
            "action": "delete_selected",
            "_selected_action": list(AccessAttempt.objects.values_list("pk", flat=True)),
            "post": "yes",
        },
    )

    assert unlocked.status_code == 302
    assert log_in(client, "reviewer", PASSWORD).status_code == 302


def test_staff_unlock_everyone_with_axes_reset(client, target):
    fail(client, "reviewer", 5)

    call_command("axes_reset", verbosity=0)

    assert log_in(client, "reviewer", PASSWORD).status_code == 302


def test_a_crafted_date_drill_down_of_the_attempts_is_a_bad_filter(client, superuser):
    client.force_login(superuser)

    response = client.get("/admin/axes/accessattempt/", {"attempt_time__year": "9" * 20})

    assert response.status_code == 302
    assert response["Location"].endswith("?e=1")
