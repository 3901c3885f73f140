"""Reading an import file checks every row and writes nothing; writing keeps cells inert."""

import csv
import datetime
import io

import pytest
from django.core import signing

from claims.models import Claim
from tests.factories import ClaimantFactory
from verifier.csv_io import (
    EXPORT_COLUMNS,
    claims_csv_lines,
    import_token,
    import_token_claims,
    read_claims_csv,
)
from verifier.selectors.workflow import claims_for_export
from verifier.services.claims import NewClaim, claim_create

pytestmark = pytest.mark.django_db

HEADER = "claimant,text,date,appearance_url,tags\n"


def read(text: str, encoding: str = "utf-8"):
    return read_claims_csv(text.encode(encoding))


def test_a_good_row_becomes_a_claim_to_create():
    preview = read(
        HEADER + 'Iran,"Iran says the drones were exported before the invasion",2022-10-18,'
        "https://news.example.org/iran,Drones; Ukraine war\n"
    )

    assert preview.errors == []
    [row] = preview.rows
    assert row.line == 2
    assert row.errors == []
    assert row.claim == NewClaim(
        text="Iran says the drones were exported before the invasion",
        claimant_name="Iran",
        claim_date=datetime.date(2022, 10, 18),
        appearance_url="https://news.example.org/iran",
        tags=("Drones", "Ukraine war"),
    )
    assert (row.new_claimant, row.new_tags) == (True, ["Drones", "Ukraine war"])
    assert not Claim.objects.exists()


def test_each_bad_row_says_what_is_wrong_and_good_rows_stay_good():
    preview = read(
        HEADER
        + ",No claimant,,,\n"
        + "Iran,,,,\n"
        + "Iran,Bad date,18/10/2022,,\n"
        + "Iran,Future,2999-01-01,,\n"
        + "Iran,Bad URL,,javascript:alert(1),\n"
        + "Iran,Bad tag,,,!!!\n"
        + "Iran,Fine,,,\n"
    )

    errors = {row.line: row.errors for row in preview.rows}
    assert errors == {
        2: ["claimant: who made the claim is missing."],
        3: ["text: the claim's text is missing."],
        4: ["date: '18/10/2022' is not a date written as YYYY-MM-DD."],
        5: ["date: 2999-01-01 is in the future."],
        6: ["appearance_url: 'javascript:alert(1)' is not an http(s) URL."],
        7: ["tags: '!!!' has no letters or digits to name it by."],
        8: [],
    }
    assert [row.line for row in preview.valid] == [8]


def test_claims_already_recorded_or_repeated_are_refused(fact_checker):
    existing = claim_create(actor=fact_checker, text="Iran exported drones", claimant_name="Iran")

    preview = read(HEADER + "iran,Iran exported drones,,,\nRussia,New claim,,,\nRUSSIA,New  claim,,,\n")

    assert [row.errors for row in preview.rows] == [
        [f"already recorded as claim #{existing.pk}."],
        [],
        ["repeats line 3."],
    ]


def test_known_claimants_and_tags_are_not_marked_new(fact_checker):
    ClaimantFactory(name="Iran")
    claim_create(actor=fact_checker, text="Other", claimant_name="Iran", tags=["Drones"])

    [row] = read(HEADER + "IRAN,A claim,,,drones;Sanctions\n").rows

    assert (row.new_claimant, row.new_tags) == (False, ["Sanctions"])


def test_semicolons_a_byte_order_mark_and_header_aliases_are_understood():
    content = "\ufeffClaimant;Claim;Claim_date\nIran;Iran exported drones;2022-10-18\n"

    [row] = read(content).rows

    assert row.claim.text == "Iran exported drones"
    assert row.claim.claim_date == datetime.date(2022, 10, 18)


def test_a_file_without_the_required_columns_is_refused_whole():
    preview = read("name,words\nIran,Drones\n")

    assert preview.rows == []
    assert preview.errors == [
        "The first line must name the columns; claimant, text is missing. "
        "Columns: claimant, text, date, appearance_url, tags."
    ]


def test_a_file_that_is_not_utf8_is_refused():
    preview = read(HEADER + "Irán,Claim,,,\n", encoding="latin-1")

    assert preview.errors == ["The file is not UTF-8 text; save it as “CSV UTF-8” and try again."]


def test_too_many_rows_are_refused(monkeypatch):
    monkeypatch.setattr("verifier.csv_io.MAX_IMPORT_ROWS", 2)

    preview = read(HEADER + "".join(f"Iran,Claim {n},,,\n" for n in range(3)))

    assert preview.rows == []
    assert preview.errors == ["The file has more than 2 claims; split it into smaller files."]


def test_the_import_token_round_trips_for_its_user_only():
    claims = [NewClaim(text="A", claimant_name="Iran", claim_date=datetime.date(2022, 1, 2), tags=("x",))]
    token = import_token(claims, user_id=7)

    assert import_token_claims(token, user_id=7) == claims
    with pytest.raises(signing.BadSignature):
        import_token_claims(token, user_id=8)
    with pytest.raises(signing.BadSignature):
        import_token_claims(token[:-2] + "xx", user_id=7)


def test_exported_cells_that_look_like_formulas_stay_text(fact_checker):
    claim_create(actor=fact_checker, text="=HYPERLINK(\"http://evil.example\")", claimant_name="+Iran")

    lines = list(claims_csv_lines(claims_for_export(Claim.objects.all()), published=False))

    rows = list(csv.DictReader(io.StringIO("".join(lines))))
    assert list(rows[0]) == list(EXPORT_COLUMNS)
    assert rows[0]["text"] == "'=HYPERLINK(\"http://evil.example\")"
    assert rows[0]["claimant"] == "'+Iran"
