"""The read API builds its bodies without serializers (verifier.selectors.records,
verifier.claimreview): each body is exactly what the OpenAPI schema it publishes says, no field
missing, none extra, every type and null where the schema allows it."""

from typing import Any

import jsonschema
import pytest
from drf_spectacular.generators import SchemaGenerator

from tests.factories import rating
from tests.verifier.conftest import IRAN_QUOTE, record_fetch
from verifier.services.claims import claim_create
from verifier.services.verdicts import claim_submit, verdict_approve, verdict_save_draft

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("queued")]


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def response_schema(
    openapi: dict[str, Any], path: str, media_type: str = "application/json"
) -> dict[str, Any]:
    """The 200 response body of GET `path` as a JSON Schema that refuses undeclared fields."""
    operation = openapi["paths"][path]["get"]
    described = operation["responses"]["200"]["content"][media_type]["schema"]
    definitions = {name: _strict(schema) for name, schema in openapi["components"]["schemas"].items()}
    return {**_strict(described), "$defs": definitions}


def _strict(schema: Any) -> Any:
    # OpenAPI 3.0 to JSON Schema: `nullable` becomes a null alternative, references point at $defs,
    # and an object lists all it may hold.
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    converted = {key: _strict(value) for key, value in schema.items() if key != "nullable"}
    if "$ref" in converted:
        converted["$ref"] = converted["$ref"].replace("#/components/schemas/", "#/$defs/")
    if "properties" in converted:
        converted.setdefault("additionalProperties", False)
    if schema.get("nullable"):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


def assert_matches(body: Any, schema: dict[str, Any]) -> None:
    jsonschema.validate(body, schema, cls=jsonschema.Draft202012Validator)


@pytest.fixture
def corrected_claim(make_published_claim, fact_checker, reviewer):
    """A published claim corrected once, citing a fetched and a never-fetched source."""
    claim = make_published_claim(
        evidence=[("https://news.example.org/fetched", IRAN_QUOTE)], tags=("drones", "iran")
    )
    make_published_claim(evidence=[("https://news.example.org/unfetched", IRAN_QUOTE)], fetched=False)
    verdict_save_draft(
        actor=fact_checker, claim=claim, rating=rating("mostly-false"), summary="Corrected.",
        correction_note="Rating corrected after new reporting.",
    )
    claim_submit(actor=fact_checker, claim=claim)
    verdict_approve(actor=reviewer, claim=claim)
    return claim


def test_the_claim_list_is_what_the_schema_says(api_client, openapi, corrected_claim):
    body = api_client.get("/api/v1/claims/").json()

    assert len(body["results"]) == 2
    assert [item["verdict"]["corrections"] != [] for item in body["results"]] == [False, True]
    assert_matches(body, response_schema(openapi, "/api/v1/claims/"))


def test_a_claim_is_what_the_schema_says(api_client, openapi, corrected_claim):
    body = api_client.get(f"/api/v1/claims/{corrected_claim.pk}/").json()

    assert_matches(body, response_schema(openapi, "/api/v1/claims/{id}/"))


def test_a_draft_without_a_rating_is_what_the_schema_says(client_for, fact_checker, openapi):
    claim = claim_create(actor=fact_checker, text="A draft", claimant_name="Someone")
    verdict_save_draft(actor=fact_checker, claim=claim, rating=None, summary="")

    body = client_for(fact_checker).get(f"/api/v1/claims/{claim.pk}/").json()

    assert body["verdict"]["rating"] is None
    assert_matches(body, response_schema(openapi, "/api/v1/claims/{id}/"))


def test_a_claimreview_is_what_the_schema_says(api_client, openapi, corrected_claim):
    response = api_client.get(f"/api/v1/claims/{corrected_claim.pk}/claimreview/")

    schema = response_schema(openapi, "/api/v1/claims/{id}/claimreview/", "application/ld+json")
    assert "dateModified" in response.json()
    assert_matches(response.json(), schema)


def test_the_claimreview_feed_is_what_the_schema_says(api_client, openapi, corrected_claim):
    body = api_client.get("/api/v1/claimreview/").json()

    assert len(body["dataFeedElement"]) == 2
    assert_matches(body, response_schema(openapi, "/api/v1/claimreview/", "application/ld+json"))


def test_a_flagged_claim_is_what_the_schema_says(api_client, openapi, make_published_claim):
    claim = make_published_claim(
        evidence=[
            ("https://news.example.org/rewritten", IRAN_QUOTE),
            ("https://news.example.org/gone", IRAN_QUOTE),
        ]
    )
    never_fetched = make_published_claim(
        evidence=[("https://news.example.org/later", IRAN_QUOTE)], fetched=False
    )
    for item in claim.evidence.all():
        gone = item.source.url.endswith("/gone")
        record_fetch(item.source, text="" if gone else "Rewritten.", http_status=404 if gone else 200)
    record_fetch(never_fetched.evidence.get().source, text="Fetched once published.")
    record_fetch(never_fetched.evidence.get().source, text="And rewritten since.")

    body = api_client.get("/api/v1/claims/").json()

    assert sorted(len(item["flag"]) for item in body["results"]) == [1, 2]
    assert None in [entry["approved_snapshot"] for item in body["results"] for entry in item["flag"]]
    assert_matches(body, response_schema(openapi, "/api/v1/claims/"))
