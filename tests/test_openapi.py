"""The OpenAPI schema: valid without warnings, and no GET it describes ends in a server error.

Schemathesis generates requests from the live schema and sends them to the WSGI application in
this process (so inside the test's database transaction), anonymously and with a staff token.
"""

import datetime
import os

import pytest
import schemathesis
from django.core.management import call_command
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error

from config.wsgi import application
from tests.factories import rating
from tests.verifier.conftest import record_fetch
from verifier.services.claims import claim_create
from verifier.services.evidence import evidence_add
from verifier.services.verdicts import claim_submit, verdict_approve, verdict_save_draft

pytestmark = pytest.mark.django_db


def test_the_schema_validates_without_warnings():
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", os.devnull)


def test_swagger_ui_is_served_from_the_installed_sidecar(client):
    page = client.get("/api/v1/docs/").content.decode()

    assert "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn.jsdelivr.net" not in page


def test_the_token_scheme_says_how_to_write_the_header_and_where_keys_come_from(client):
    schema = client.get("/api/v1/schema/?format=json").json()

    token_scheme = schema["components"]["securitySchemes"]["tokenAuth"]
    assert (token_scheme["in"], token_scheme["name"]) == ("header", "Authorization")
    assert "`Authorization: Token <key>`" in token_scheme["description"]
    assert "not the key alone" in token_scheme["description"]
    assert "manage.py drf_create_token USERNAME" in token_scheme["description"]
    assert token_scheme["description"] in schema["info"]["description"]


@pytest.fixture
def published(fact_checker, reviewer):
    """Two published claims and a draft, so the generated ids sometimes find something."""
    for number in range(2):
        claim = claim_create(
            actor=fact_checker,
            text=f"Iran says the drones were exported before the invasion ({number})",
            claimant_name="Iran",
            claim_date=datetime.date(2022, 10, 18),
            tags=["drones"],
        )
        evidence = evidence_add(
            actor=fact_checker, claim=claim, url=f"https://news.example.org/drones-{number}",
            quote="exported before the attack", stance="supports",
        )
        record_fetch(evidence.source, text="Iran says they were exported before the attack on Ukraine.")
        verdict_save_draft(actor=fact_checker, claim=claim, rating=rating("false"), summary="Not so.")
        claim_submit(actor=fact_checker, claim=claim)
        verdict_approve(actor=reviewer, claim=claim)
    claim_create(actor=fact_checker, text="A draft", claimant_name="Someone")


@pytest.fixture
def connection_kept():
    """Requests go through the real WSGI handler, whose end-of-request hook would close the
    test's database connection; Django's test client unhooks it the same way."""
    from django.core import signals
    from django.db import close_old_connections

    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (signals.request_started, signals.request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def unthrottled(settings):
    # Generated requests come by the hundred from one address.
    settings.API_THROTTLE_ANON = settings.API_THROTTLE_USER = "none"


@pytest.fixture
def staff_token(fact_checker):
    return Token.objects.get_or_create(user=fact_checker)[0].key


# Loaded from the application when this module is collected (schemathesis' fixture-based loading
# does not run under pytest 9).
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", application).include(method="GET")


@schema.parametrize()
@hypothesis_settings(
    max_examples=20, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)
def test_no_get_ends_in_a_server_error(case, published, staff_token, unthrottled, connection_kept):
    case.call_and_validate(checks=[not_a_server_error])
    case.call_and_validate(headers={"Authorization": f"Token {staff_token}"}, checks=[not_a_server_error])
