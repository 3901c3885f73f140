"""An appearance URL with a user name or password in it (issue 9, finding 10) is refused by the API,
the admin (adding and changing) and the CSV import alike: published, it would hand the login to
every reader."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from claims.models import Claim
from tests.admin_helpers import admin_form_data, claim_url
from tests.factories import ClaimantFactory, ClaimFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("queued")]

CLAIMS = "/api/v1/claims/"
WITH_CREDENTIALS = "https://editor:hunter2@news.example.org/iran-drones"


def test_the_api_refuses_a_new_claim_whose_url_carries_credentials(client_for, fact_checker):
    response = client_for(fact_checker).post(
        CLAIMS,
        {"text": "Iran exported the drones", "claimant": "Iran", "appearance_url": WITH_CREDENTIALS},
        format="json",
    )

    assert response.status_code == 400, response.content
    assert "user name or password" in str(response.json()["appearance_url"])
    assert not Claim.objects.exists()


def test_the_admin_refuses_credentials_put_into_an_existing_claim(as_user, fact_checker):
    client = as_user(fact_checker)
    claim = ClaimFactory(appearance_url="https://news.example.org/iran-drones")
    data = admin_form_data(client.get(claim_url(claim)))
    data.update(appearance_url="https://editor@news.example.org/iran-drones")

    response = client.post(claim_url(claim), data)

    # Shown again with the edit in place and the refusal on the field (issue 11: one save).
    form = response.context["adminform"].form
    assert form["appearance_url"].value() == "https://editor@news.example.org/iran-drones"
    assert "user name or password" in str(form.errors["appearance_url"])
    claim.refresh_from_db()
    assert claim.appearance_url == "https://news.example.org/iran-drones"


def test_the_admin_refuses_a_claim_whose_url_carries_credentials(as_user, fact_checker):
    client = as_user(fact_checker)
    add = reverse("admin:claims_claim_add")
    data = admin_form_data(client.get(add))
    data.update(
        text="Iran exported the drones",
        claimant=str(ClaimantFactory(name="Iran").pk),
        appearance_url=WITH_CREDENTIALS,
    )

    response = client.post(add, data)

    assert "user name or password" in str(response.context["adminform"].form.errors["appearance_url"])
    assert not Claim.objects.exists()


def test_the_csv_import_refuses_a_row_whose_url_carries_credentials(as_user, fact_checker):
    client = as_user(fact_checker)
    upload = SimpleUploadedFile(
        "claims.csv",
        f"claimant,text,appearance_url\nIran,Iran exported the drones,{WITH_CREDENTIALS}\n".encode(),
        "text/csv",
    )

    response = client.post(reverse("admin:claims_claim_import"), {"file": upload})

    assert "user name or password" in response.content.decode()
    assert not response.context.get("token")
