"""CSV import (preview, then confirm) and the export of published claims, in the admin."""

import csv
import io
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from claims.models import Claim
from tests.admin_helpers import drafted_claim
from tests.factories import rating
from verifier.models import ReviewLogEntry
from verifier.services.evidence import evidence_add
from verifier.services.verdicts import claim_submit, verdict_approve, verdict_save_draft

pytestmark = pytest.mark.django_db

IMPORT = reverse("admin:claims_claim_import")
EXPORT = reverse("admin:claims_claim_export_published")
CHANGELIST = reverse("admin:claims_claim_changelist")
FILE = (
    "claimant,text,date,appearance_url,tags\n"
    "Iran,Iran says the drones were exported before the invasion,2022-10-18,"
    "https://news.example.org/iran,Drones\n"
    "John Kirby,Russia has acquired hundreds of drones from Iran,2022-10-20,,Drones;Russia\n"
    "Nobody,,not a date,,\n"
)


@pytest.fixture(autouse=True)
def no_broker():
    with mock.patch("sources.services.enqueue_fetch"):
        yield


def upload(client, content: str = FILE):
    return client.post(IMPORT, {"file": SimpleUploadedFile("claims.csv", content.encode(), "text/csv")})


def test_the_preview_shows_each_row_and_its_errors_and_writes_nothing(as_user, fact_checker):
    response = upload(as_user(fact_checker))

    assert response.status_code == 200
    preview = response.context["preview"]
    assert [row.line for row in preview.valid] == [2, 3]
    assert [row.line for row in preview.invalid] == [4]
    page = response.content.decode()
    assert "text: the claim&#x27;s text is missing." in page
    assert "date: &#x27;not a date&#x27; is not a date written as YYYY-MM-DD." in page
    assert "Import 2 claims as drafts" in page
    assert not Claim.objects.exists()


def test_confirming_creates_the_previewed_claims_through_the_service(as_user, fact_checker):
    client = as_user(fact_checker)
    token = upload(client).context["token"]

    response = client.post(IMPORT, {"token": token, "confirm": "1"}, follow=True)

    assert response.redirect_chain[-1][0] == CHANGELIST
    assert "Imported 2 claims as drafts." in [str(m) for m in response.context["messages"]]
    claims = Claim.objects.order_by("pk")
    assert [(c.claimant.name, c.status, c.created_by) for c in claims] == [
        ("Iran", Claim.Status.DRAFT, fact_checker),
        ("John Kirby", Claim.Status.DRAFT, fact_checker),
    ]
    assert sorted(claims[1].tags.values_list("name", flat=True)) == ["Drones", "Russia"]
    assert ReviewLogEntry.objects.filter(action=ReviewLogEntry.Action.CREATE).count() == 2


def test_an_altered_or_borrowed_token_imports_nothing(as_user, fact_checker, other_fact_checker):
    client = as_user(fact_checker)
    token = upload(client).context["token"]

    altered = client.post(IMPORT, {"token": token[:-3] + "abc", "confirm": "1"}, follow=True)
    borrowed = as_user(other_fact_checker).post(IMPORT, {"token": token, "confirm": "1"}, follow=True)

    for response in (altered, borrowed):
        assert [str(m) for m in response.context["messages"]] == [
            "The preview has expired or was altered; upload the file again."
        ]
    assert not Claim.objects.exists()


def test_reviewers_cannot_import(as_user, reviewer):
    client = as_user(reviewer)

    assert client.get(IMPORT).status_code == 403
    assert upload(client).status_code == 403
    assert "Import CSV" not in client.get(CHANGELIST).content.decode()
    assert not Claim.objects.exists()


def test_export_published_has_each_published_claim_with_its_published_verdict(
    as_user, fact_checker, reviewer
):
    published = drafted_claim(fact_checker)
    claim_submit(actor=fact_checker, claim=published)
    verdict_approve(actor=reviewer, claim=published)
    # A correction being drafted stays out of the published record.
    verdict_save_draft(actor=fact_checker, claim=published, rating=rating("false"), summary="Draft.")
    evidence_add(
        actor=fact_checker, claim=published, url="https://news.example.org/new", quote="q", stance="context"
    )
    drafted_claim(fact_checker, text="Never published", url="https://news.example.org/draft")

    response = as_user(reviewer).get(EXPORT)

    assert response["Content-Disposition"].startswith('attachment; filename="published-claims-')
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 1
    row = rows[0]
    assert (row["id"], row["status"], row["rating"], row["verdict_version"], row["verdict_state"]) == (
        str(published.pk),
        "published",
        "Misleading",
        "1",
        "approved",
    )
    assert row["summary"] == "Iran admits supplying drones but disputes the timing."
    assert row["reviewer"] == reviewer.username
    assert row["evidence_urls"] == "https://news.example.org/iran-drones"
    assert row["public_url"].endswith(f"/claims/{published.pk}/")


def test_export_streams_in_a_fixed_number_of_queries(
    as_user, fact_checker, reviewer, django_assert_max_num_queries
):
    for number in range(6):
        claim = drafted_claim(fact_checker, text=f"Claim {number}", url=f"https://n{number}.example.org/")
        claim_submit(actor=fact_checker, claim=claim)
        verdict_approve(actor=reviewer, claim=claim)
    client = as_user(reviewer)

    # Session, user, permissions (2), then claims, tags, verdicts and evidence once per chunk.
    with django_assert_max_num_queries(8):
        lines = list(client.get(EXPORT).streaming_content)

    assert len(lines) == 7
