"""A CSV import's preview token (issue 9, finding 9): confirming it again imports nothing more."""

import threading

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse

from claims.models import Claim
from core.errors import DomainError
from verifier.csv_io import import_confirm, import_token, read_claims_csv

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("queued")]

IMPORT = reverse("admin:claims_claim_import")
FILE = (
    "claimant,text,date\n"
    "Iran,Iran says the drones were exported before the invasion,2022-10-18\n"
    "John Kirby,Russia has acquired hundreds of drones from Iran,2022-10-20\n"
)


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_replaying_a_confirmed_preview_creates_nothing_more(as_user, fact_checker):
    client = as_user(fact_checker)
    preview = client.post(IMPORT, {"file": SimpleUploadedFile("claims.csv", FILE.encode(), "text/csv")})
    token = preview.context["token"]

    first, *replays = [
        client.post(IMPORT, {"token": token, "confirm": "1"}, follow=True) for _ in range(3)
    ]

    assert messages_of(first) == ["Imported 2 claims as drafts."]
    for replay in replays:
        assert messages_of(replay) == ["Nothing was imported: this preview was already imported."]
    assert Claim.objects.count() == 2


def test_a_refused_import_leaves_its_token_usable(fact_checker, reviewer):
    token = import_token(
        [row.claim for row in read_claims_csv(FILE.encode()).valid if row.claim], user_id=reviewer.pk
    )
    # Reviewers may not import: the refusal must not burn the token.
    with pytest.raises(DomainError):
        import_confirm(actor=reviewer, token=token)
    reviewer.groups.add(*fact_checker.groups.all())
    promoted = type(reviewer).objects.get(pk=reviewer.pk)

    assert len(import_confirm(actor=promoted, token=token)) == 2


@pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"),
    reason="SQLite serialises writers: the race needs PostgreSQL's concurrent transactions",
)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_confirms_at_once_import_once(fact_checker):
    token = import_token(
        [row.claim for row in read_claims_csv(FILE.encode()).valid if row.claim], user_id=fact_checker.pk
    )
    outcomes: list[str] = []
    start = threading.Barrier(2)

    def confirm() -> None:
        start.wait()
        try:
            import_confirm(actor=fact_checker, token=token)
            outcomes.append("imported")
        except DomainError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=confirm) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["imported", "refused"]
    assert Claim.objects.count() == 2
