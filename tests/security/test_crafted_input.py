"""Crafted cursors, filters and ids (issue 9, finding 8): a 400 or an empty result, never a 500."""

import base64
import json

import pytest

from tests.factories import ClaimFactory

pytestmark = pytest.mark.django_db

CLAIMS = "/api/v1/claims/"
FEED = "/api/v1/claimreview/"
TOO_LONG_ID = "9" * 26


def cursor_of(*fields) -> str:
    return base64.urlsafe_b64encode(json.dumps(fields).encode()).decode().rstrip("=")


@pytest.mark.parametrize("url", [CLAIMS, FEED])
@pytest.mark.parametrize(
    "cursor",
    [
        # Python reads it, but in UTC it is before year 1.
        cursor_of("published_at", "0001-01-01T00:00:00+14:00", 1, False, False),
        cursor_of("published_at", "9999-12-31T23:00:00-14:00", 1, False, False),
        # json reads 1e400 as infinity.
        base64.urlsafe_b64encode(b'["published_at", "2024-01-01T00:00Z", 1e400, false, false]').decode(),
        cursor_of("published_at", "2024-01-01T00:00:00+00:00", 10**20, False, False),
        cursor_of("published_at", "2024-01-01T00:00:00+00:00", 1.5, False, False),
        cursor_of("published_at", "2024-01-01T00:00:00+00:00", "1", False, False),
        cursor_of("published_at", "2024-01-01T00:00:00+00:00", 1, "yes", False),
        cursor_of("published_at", 20240101, 1, False, False),
        cursor_of({"published_at": 1}),
        base64.urlsafe_b64encode(b"\xff\xfe garbage").decode(),
        "%%%",
    ],
)
def test_a_crafted_cursor_is_a_400(api_client, published_claim, url, cursor):
    response = api_client.get(url, {"cursor": cursor})

    assert response.status_code == 400, response.content[:300]
    assert "cursor" in response.json()


@pytest.fixture
def staff_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.mark.parametrize(
    "query",
    [
        # str.isdigit() says yes to a superscript two; int() says no.
        {"source": "²"},
        {"assignee": "²"},
        {"source": TOO_LONG_ID},
        {"assignee": TOO_LONG_ID},
        {"source": "-1"},
    ],
)
def test_crafted_claim_list_filters_are_ignored(staff_client, fact_checker, query):
    claim = ClaimFactory(created_by=fact_checker)

    response = staff_client.get("/admin/claims/claim/", query)

    assert response.status_code == 200
    assert claim.text[:40] in response.content.decode()


def test_the_refetch_button_with_a_crafted_evidence_id_is_refused_politely(staff_client, fact_checker):
    claim = ClaimFactory(created_by=fact_checker)

    for evidence in ("²", TOO_LONG_ID):
        response = staff_client.post(
            f"/admin/claims/claim/{claim.pk}/refetch/", {"evidence": evidence}, follow=True
        )
        assert response.status_code == 200
        assert "no longer on this claim" in response.content.decode()


@pytest.mark.parametrize("year", ["9999", "9" * 20, "²"])
def test_a_crafted_date_drill_down_is_a_bad_filter(staff_client, year):
    response = staff_client.get("/admin/verifier/webhookdelivery/", {"created_at__year": year})

    # The admin's answer to any bad filter: back to the list with ?e=1.
    assert response.status_code == 302
    assert response["Location"].endswith("?e=1")


@pytest.mark.parametrize(
    "url",
    [
        "/admin/claims/claim/?claimant=Iran%00",
        "/admin/claims/claim/?status=draft%00",
        "/admin/claims/claim/?rating=false%00",
        "/admin/sources/source/?status=fetched%00",
        "/admin/sources/snapshot/?outcome=fetched%00",
        "/admin/verifier/verdict/?state=approved%00",
        "/admin/verifier/webhookdelivery/?outcome=delivered%00",
        "/admin/claims/claim/%00/change/",
    ],
)
def test_a_nul_in_an_admin_filter_is_a_400(staff_client, url):
    # On PostgreSQL every one of these was a DataError, a 500.
    response = staff_client.get(url)

    assert response.status_code == 400
    assert "NUL" in response.content.decode()


@pytest.mark.parametrize("query", ["q=drones%00", "claimant=Iran%00", "cursor=%00", "x%00=1"])
def test_a_nul_in_an_api_query_is_a_json_400(api_client, query):
    response = api_client.get(f"{CLAIMS}?{query}")

    assert response.status_code == 400
    assert "NUL" in response.json()["detail"]
