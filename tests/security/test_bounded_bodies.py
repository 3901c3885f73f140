"""Request bodies of the API (issue 9, findings 7, 8 and 10): nesting, NUL and size are bounded, and
every refusal is JSON."""

import json
from urllib.parse import urlencode

import pytest

from claims.models import Claim

pytestmark = pytest.mark.django_db

CLAIMS = "/api/v1/claims/"


@pytest.fixture
def writer(client_for, fact_checker):
    return client_for(fact_checker)


def post_raw(client, body: str | bytes, content_type="application/json"):
    return client.generic("POST", CLAIMS, body, content_type=content_type)


def test_a_100000_deep_json_body_is_a_400_not_a_recursion_error(writer):
    response = post_raw(writer, "[" * 100_000 + "]" * 100_000)

    assert response.status_code == 400
    assert "nested deeper" in response.json()["detail"]


def test_nesting_is_bounded_well_below_the_interpreter_limit(writer):
    # 33 levels: far from RecursionError, one past the bound.
    deep: object = []
    for _ in range(32):
        deep = [deep]
    deep = {"text": "Iran exported drones", "claimant": "Iran", "note": deep}

    response = post_raw(writer, json.dumps(deep))

    assert response.status_code == 400
    assert "nested deeper than 32 levels" in response.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {"text": "Iran exported\u0000 drones", "claimant": "Iran"},
        {"text": "Iran exported drones", "claimant": "Iran", "tags": ["drones", "\u0000"]},
        # Not a field the serializer reads: refused all the same, before anything looks at it.
        {"text": "Iran exported drones", "claimant": "Iran", "extra\u0000": "x"},
    ],
)
def test_a_nul_anywhere_in_a_json_body_is_a_400(writer, body):
    response = post_raw(writer, json.dumps(body))

    assert response.status_code == 400
    assert "NUL" in response.json()["detail"] or "Null characters" in response.json()["detail"]
    assert not Claim.objects.exists()


@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded"])
def test_a_body_over_the_upload_limit_is_a_json_413(writer, settings, content_type):
    text = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    body = (
        json.dumps({"text": text, "claimant": "Iran"})
        if content_type == "application/json"
        else urlencode({"text": text, "claimant": "Iran"})
    )

    response = post_raw(writer, body, content_type)

    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE) in response.json()["detail"]


def test_a_form_with_too_many_fields_is_a_json_400(writer, settings):
    fields = {f"field{number}": "x" for number in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)}

    response = post_raw(writer, urlencode(fields), "application/x-www-form-urlencoded")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "DATA_UPLOAD_MAX_NUMBER_FIELDS" in response.json()["detail"]
