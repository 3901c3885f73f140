"""Request rates (verifier.api.throttling): anonymous clients by address, token holders by account."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from rest_framework.authtoken.models import Token

from config.env import env_rate, parse_rate
from core.rate_leases import counts_by_lease
from tests.factories import UserFactory
from verifier.api.throttling import AnonThrottle

pytestmark = pytest.mark.django_db

CLAIMS = "/api/v1/claims/"


@pytest.fixture
def small_rates(settings):
    settings.API_THROTTLE_ANON = "3/minute"
    settings.API_THROTTLE_USER = "5/minute"


@pytest.fixture
def api_client_user(db):
    """An API client's account as staff make one in the admin: no staff rights, only a token."""
    return UserFactory(username="newsroom-bot", is_staff=False)


def statuses(client, count, url=CLAIMS):
    return [client.get(url).status_code for _ in range(count)]


def test_anonymous_clients_get_the_anonymous_rate(api_client, small_rates):
    assert statuses(api_client, 4) == [200, 200, 200, 429]

    refused = api_client.get(CLAIMS)
    assert refused.json()["detail"].startswith("Request was throttled.")
    assert 1 <= int(refused["Retry-After"]) <= 60


def test_cached_responses_are_throttled_too(client, small_rates, published_claim):
    # The first response is rendered, the next ones come from the response cache.
    assert statuses(client, 4) == [200, 200, 200, 429]
    assert client.get(CLAIMS)["Retry-After"]


def test_a_token_gets_the_higher_rate(api_client, client_for, api_client_user, small_rates):
    with_token = client_for(api_client_user)

    assert statuses(api_client, 4) == [200, 200, 200, 429]
    assert statuses(with_token, 6) == [200] * 5 + [429]


def test_each_token_is_counted_on_its_own(client_for, small_rates):
    first, second = client_for(UserFactory(is_staff=False)), client_for(UserFactory(is_staff=False))

    assert statuses(first, 6)[-1] == 429
    assert statuses(second, 5) == [200] * 5


def test_none_lifts_a_limit(api_client, settings):
    settings.API_THROTTLE_ANON = "none"

    assert set(statuses(api_client, 20)) == {200}


def test_counts_live_in_the_shared_cache(rf, settings):
    from django.core.cache import cache

    settings.API_THROTTLE_ANON = "120/minute"
    request = rf.get(CLAIMS, REMOTE_ADDR="203.0.113.7")
    throttle = AnonThrottle()
    assert throttle.allow_request(request, None)

    window = int(throttle.timer() // 60)
    # Leased (Redis): the process took a sixteenth of the 120 allowed (core.rate_leases).
    assert cache.get(f"throttle_anon_203.0.113.7:{window}") == (7 if counts_by_lease() else 1)


def test_staff_create_an_api_client_token_in_the_admin(client, superuser, api_client_user, api_client):
    client.force_login(superuser)
    assert client.get("/admin/authtoken/tokenproxy/").status_code == 200

    created = client.post("/admin/authtoken/tokenproxy/add/", {"user": api_client_user.pk})

    assert created.status_code == 302, created.content.decode()[:2000]
    token = Token.objects.get(user=api_client_user)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api_client.get(CLAIMS).status_code == 200


@pytest.mark.parametrize(
    ("rate", "parsed"),
    [
        ("120/minute", (120, 60)),
        ("5/s", (5, 1)),
        ("1000/hour", (1000, 3600)),
        ("2/day", (2, 86400)),
        ("none", None),
    ],
)
def test_rates_are_read_strictly(rate, parsed):
    assert parse_rate(rate) == parsed


@pytest.mark.parametrize("rate", ["120", "fast", "120/fortnight", "-1/minute"])
def test_a_malformed_rate_stops_start_up(monkeypatch, rate):
    monkeypatch.setenv("API_THROTTLE_ANON", rate)

    with pytest.raises(ImproperlyConfigured, match="API_THROTTLE_ANON"):
        env_rate("API_THROTTLE_ANON", "120/minute")
