"""X-Forwarded-For and the anonymous throttle (issue 9, finding 3): a client cannot pick its address."""

import random

import pytest

from verifier.api.client_address import client_address

pytestmark = pytest.mark.django_db

CLAIMS = "/api/v1/claims/"


@pytest.fixture
def three_a_minute(settings):
    settings.API_THROTTLE_ANON = "3/minute"


def random_address() -> str:
    return ".".join(str(random.randint(1, 254)) for _ in range(4))


def statuses(client, url, forwarded_for):
    return [client.get(url, HTTP_X_FORWARDED_FOR=hop).status_code for hop in forwarded_for]


@pytest.mark.parametrize("url", [CLAIMS, "/api/v1/claimreview/"])
def test_a_random_forwarded_for_does_not_dodge_the_anonymous_rate(api_client, three_a_minute, url):
    assert statuses(api_client, url, [random_address() for _ in range(6)]) == [200] * 3 + [429] * 3


def test_nor_on_responses_served_from_the_cache(client, three_a_minute, published_claim):
    # The first response is rendered, the rest come from the response cache's early throttle check.
    assert statuses(client, CLAIMS, [random_address() for _ in range(5)]) == [200] * 3 + [429] * 2


def test_behind_one_trusted_proxy_the_address_it_saw_is_the_client(api_client, three_a_minute, settings):
    settings.TRUSTED_PROXIES = 1
    # The proxy appends the address it received the request from; what comes before is the client's.
    spoofed = [f"{random_address()}, 198.51.100.7" for _ in range(4)]

    assert statuses(api_client, CLAIMS, spoofed) == [200] * 3 + [429]
    assert statuses(api_client, CLAIMS, ["198.51.100.8"]) == [200]


@pytest.mark.parametrize(
    ("trusted", "forwarded_for", "client"),
    [
        (0, "198.51.100.7", "10.0.0.2"),
        (1, "203.0.113.9, 198.51.100.7", "198.51.100.7"),
        (2, "203.0.113.9, 198.51.100.7, 10.0.0.3", "198.51.100.7"),
        # Fewer hops than proxies: the request skipped one; the leftmost is the nearest to the client.
        (2, "198.51.100.7", "198.51.100.7"),
        (1, "", "10.0.0.2"),
        # What a proxy appends is an address; anything else was not written by one.
        (1, "203.0.113.9, not-an-address", "10.0.0.2"),
    ],
)
def test_the_client_address_trusts_exactly_the_configured_proxies(
    rf, settings, trusted, forwarded_for, client
):
    settings.TRUSTED_PROXIES = trusted
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded_for)

    assert client_address(request) == client
