"""The CSV import's refusals are the services' rules (verifier.services.claims): a claim dated in
the future, or one already recorded, is refused by the API and the admin as by the import."""

import datetime

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from claims.models import Claim, Claimant
from core.errors import DomainError
from tests.admin_helpers import admin_form_data
from tests.factories import ClaimantFactory
from verifier.services.claims import NewClaim, claim_create, claim_update, claims_import

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("queued")]

CLAIMS = "/api/v1/claims/"
ADD = reverse("admin:claims_claim_add")
TOMORROW = timezone.localdate() + datetime.timedelta(days=1)


def test_the_api_refuses_a_claim_dated_in_the_future(client_for, fact_checker):
    response = client_for(fact_checker).post(
        CLAIMS, {"text": "Iran exported drones", "claimant": "Iran", "claim_date": TOMORROW.isoformat()}
    )

    assert response.status_code == 400
    assert response.json()["claim_date"] == [f"The claim date {TOMORROW} is in the future."]
    assert not Claim.objects.exists()


def test_the_api_refuses_a_claim_already_recorded(client_for, fact_checker):
    first = claim_create(actor=fact_checker, text="Iran exported drones", claimant_name="Iran")

    response = client_for(fact_checker).post(CLAIMS, {"text": " Iran exported drones ", "claimant": "IRAN"})

    assert response.status_code == 400
    assert response.json()["text"] == [f"IRAN making this claim is already recorded as claim #{first.pk}."]
    assert list(Claim.objects.all()) == [first]


def test_the_admin_refuses_a_claim_dated_in_the_future(client, fact_checker):
    client.force_login(fact_checker)
    iran = ClaimantFactory(name="Iran")
    data = admin_form_data(client.get(ADD))
    data.update(text="Iran exported drones", claimant=str(iran.pk), claim_date=TOMORROW.isoformat())

    response = client.post(ADD, data)

    # Shown again with every field as typed and the refusal on the date (issue 11: one save).
    assert response.context["adminform"].form.errors["claim_date"] == [
        f"The claim date {TOMORROW} is in the future."
    ]
    assert not Claim.objects.exists()


def test_an_edit_cannot_date_a_claim_in_the_future_or_make_it_a_duplicate(fact_checker):
    kept = claim_create(actor=fact_checker, text="Iran exported drones", claimant_name="Iran")
    other = claim_create(actor=fact_checker, text="Russia bought drones", claimant_name="Iran")

    with pytest.raises(DomainError, match="in the future"):
        claim_update(actor=fact_checker, claim=other, claim_date=TOMORROW)
    with pytest.raises(DomainError, match=f"already recorded as claim #{kept.pk}"):
        claim_update(actor=fact_checker, claim=other, text="Iran exported drones")

    other.refresh_from_db()
    assert (other.text, other.claim_date) == ("Russia bought drones", None)


def test_an_import_repeating_a_claim_imports_nothing(fact_checker):
    row = NewClaim(text="Iran exported drones", claimant_name="Iran")

    with pytest.raises(DomainError, match="already recorded"):
        claims_import(actor=fact_checker, claims=[row, row])

    assert not Claim.objects.exists()


def test_claimant_names_are_unique_whatever_their_case_in_the_database(db):
    Claimant.objects.create(name="Iran")

    with pytest.raises(IntegrityError), transaction.atomic():
        Claimant.objects.create(name="IRAN")
