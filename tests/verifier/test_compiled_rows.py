"""Queries compiled once and run for any list of ids (core.compiled_rows), as the API's pages read
their claims' evidence, verdicts and tags: the rows are those values() returns, whatever the
number of ids, and reads made together are still one statement each."""

import datetime
import uuid

import pytest
from django.db import connection
from django.db.models import BigIntegerField, Case, F, Q, Value, When
from django.test.utils import CaptureQueriesContext

from claims.models import Claim, Evidence
from core.compiled_rows import CompiledRows, OneOfIds, ShapedRows, ShapedUpdate, rows_together, values_rows
from sources.models import Source
from tests.verifier.conftest import IRAN_QUOTE
from verifier.models import Verdict
from verifier.selectors.evidence import EVIDENCE_COLUMNS, EVIDENCE_ROWS

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("queued")]

VERDICTS = CompiledRows(
    lambda ids: Verdict.objects.filter(OneOfIds("claim_id", ids))
    .order_by("claim_id", "-version")
    .values("claim_id", "version", "state", "approved_at", "evidence_fingerprint", "rating__label")
)


@pytest.fixture
def claims(make_published_claim) -> list[Claim]:
    return [
        make_published_claim(
            evidence=[(f"https://news{n}.example.org/story-{i}", IRAN_QUOTE) for i in range(n + 1)]
        )
        for n in range(3)
    ]


def test_the_rows_are_those_values_returns(claims):
    ids = [claim.pk for claim in claims]

    rows = EVIDENCE_ROWS.rows(ids)

    expected = list(Evidence.objects.filter(claim_id__in=ids).order_by("id").values(*EVIDENCE_COLUMNS))
    assert rows == expected
    assert len(rows) == 6
    moments = [row["source__last_fetched_at"] for row in rows]
    assert all(isinstance(moment, datetime.datetime) for moment in moments)
    assert all(moment.tzinfo is datetime.UTC for moment in moments)


def test_a_json_column_is_decoded_as_values_decodes_it(claims):
    ids = [claim.pk for claim in claims]

    rows = VERDICTS.rows(ids)

    expected = list(
        Verdict.objects.filter(claim_id__in=ids)
        .order_by("claim_id", "-version")
        .values("claim_id", "version", "state", "approved_at", "evidence_fingerprint", "rating__label")
    )
    assert rows == expected
    assert all(isinstance(row["evidence_fingerprint"], list) for row in rows)


def test_the_statement_is_the_same_for_any_number_of_ids(claims):
    with CaptureQueriesContext(connection) as queries:
        one = EVIDENCE_ROWS.rows([claims[0].pk])
        three = EVIDENCE_ROWS.rows([claim.pk for claim in claims])

    assert [len(one), len(three)] == [1, 6]
    statements = {query["sql"].split(" WHERE ")[0] for query in queries.captured_queries}
    assert len(queries.captured_queries) == 2
    assert len(statements) == 1


def test_ids_not_in_the_table_and_no_ids_read_nothing(claims):
    assert EVIDENCE_ROWS.rows([max(claim.pk for claim in claims) + 1]) == []
    with CaptureQueriesContext(connection) as queries:
        assert EVIDENCE_ROWS.rows([]) == []
    assert queries.captured_queries == []


def test_rows_read_together_are_each_their_own_statement(claims):
    ids = [claim.pk for claim in claims]

    with CaptureQueriesContext(connection) as queries:
        evidence, verdicts, none = rows_together((EVIDENCE_ROWS, ids), (VERDICTS, ids[:1]), (VERDICTS, []))

    assert len(queries.captured_queries) == 2
    assert evidence == EVIDENCE_ROWS.rows(ids)
    assert [row["claim_id"] for row in verdicts] == [ids[0]]
    assert none == []


def test_a_query_must_take_its_ids_once():
    twice = CompiledRows(
        lambda ids: Claim.objects.filter(OneOfIds("id", ids), OneOfIds("same_as_id", ids)).values("id")
    )

    with pytest.raises(ValueError, match="takes its ids once"):
        twice.rows([1])


def test_a_values_queryset_reads_as_iterating_it_does(claims):
    page = Claim.objects.values("id", "text", "published_at", "claimant__name").order_by("-published_at")[:2]

    rows = values_rows(page)

    assert rows == list(page)
    assert [row["id"] for row in rows] == [claims[2].pk, claims[1].pk]
    assert values_rows(Claim.objects.filter(pk__in=[]).values("id")) == []


def _older_than(moment: datetime.datetime, pk: int):
    return (
        Claim.objects.filter(published_at__lte=moment)
        .filter(Q(published_at__lt=moment) | Q(pk__lt=pk))
        .order_by("-published_at", "-pk")
        .values("id", "text", "published_at")[:2]
    )


def test_a_shaped_query_reads_the_rows_of_each_calls_values(claims):
    shaped = ShapedRows()
    newest = claims[2]

    for claim in (newest, claims[1], claims[0]):
        rows = shaped.rows("older", _older_than, claim.published_at, claim.pk)

        assert rows == list(_older_than(claim.published_at, claim.pk))
    assert [row["id"] for row in shaped.rows("older", _older_than, newest.published_at, newest.pk)] == [
        claims[1].pk,
        claims[0].pk,
    ]
    assert shaped.rows("older", _older_than, claims[0].published_at, claims[0].pk) == []


def test_a_shaped_query_is_compiled_once_per_key(claims):
    shaped = ShapedRows()
    built = []

    def older_than(moment, pk):
        built.append((moment, pk))
        return _older_than(moment, pk)

    for claim in claims:
        shaped.rows("older", older_than, claim.published_at, claim.pk)
    shaped.rows("older, again", older_than, claims[0].published_at, claims[0].pk)

    # Built with the probe values, once per key, never with a call's own.
    assert len(built) == 2
    assert not {pk for _, pk in built} & {claim.pk for claim in claims}


def test_a_value_the_query_does_not_take_as_a_parameter_is_refused(claims):
    shaped = ShapedRows()

    with pytest.raises(ValueError, match="not a parameter"):
        shaped.rows("ignores its value", lambda pk: Claim.objects.values("id"), claims[0].pk)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_statements_compiled_once_are_prepared_on_postgresql_and_one_offs_are_not(claims):
    ids = [claim.pk for claim in claims]
    one_off = Claim.objects.filter(pk__in=ids).values(one_off_read=F("id")).order_by("id")

    EVIDENCE_ROWS.rows(ids)
    values_rows(one_off)

    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [statement for (statement,) in cursor.fetchall()]
    assert any('FROM "claims_evidence"' in statement for statement in prepared)
    assert not any('"one_off_read"' in statement for statement in prepared)
    ShapedUpdate().update(
        "checked", _checked, ids[0], "found", datetime.datetime(2024, 5, 6, tzinfo=datetime.UTC)
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [statement for (statement,) in cursor.fetchall()]
    assert any(statement.startswith('UPDATE "claims_evidence"') for statement in prepared)
    assert EVIDENCE_ROWS.rows(ids) == list(
        Evidence.objects.filter(claim_id__in=ids).order_by("id").values(*EVIDENCE_COLUMNS)
    )


def _checked(evidence_id: int, status: str, moment: datetime.datetime):
    return Evidence.objects.filter(pk=evidence_id), {"quote_status": status, "quote_checked_at": moment}


def test_a_shaped_update_writes_each_calls_values_and_counts_its_rows(claims):
    shaped = ShapedUpdate()
    built = []

    def checked(evidence_id, status, moment):
        built.append(evidence_id)
        return _checked(evidence_id, status, moment)

    first, second = Evidence.objects.order_by("id")[:2]
    moment = datetime.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=datetime.UTC)

    assert shaped.update("checked", checked, first.pk, "not_found", moment) == 1
    assert shaped.update("checked", checked, second.pk, "no_text", moment + datetime.timedelta(days=1)) == 1
    assert shaped.update("checked", checked, 987_654, "found", moment) == 0

    rows = Evidence.objects.filter(pk__in=[first.pk, second.pk]).order_by("id")
    assert [(e.quote_status, e.quote_checked_at) for e in rows] == [
        ("not_found", moment),
        ("no_text", moment + datetime.timedelta(days=1)),
    ]
    # Built once, with the probe values, never with a call's own.
    assert len(built) == 1
    assert built[0] not in {first.pk, second.pk}


def test_a_shaped_update_takes_uuids_and_values_inside_expressions(claims):
    """A UUID is given as each database stores it (a hex string on SQLite), and an int inside an
    expression in the sized type PostgreSQL's backend gives it in."""
    shaped = ShapedUpdate()
    source = Source.objects.filter(fetch_token__isnull=False).order_by("id").first()
    snapshot = source.snapshots.order_by("id").first()

    def settle(source_id, token, reason, snapshot_id):
        pointed = Case(
            When(latest_snapshot__isnull=True, then=Value(snapshot_id)),
            default=Value(snapshot_id),
            output_field=BigIntegerField(),
        )
        return Source.objects.filter(pk=source_id, fetch_token=token), {
            "outcome_reason": reason,
            "latest_snapshot": pointed,
        }

    assert shaped.update("settle", settle, source.pk, uuid.uuid4(), "another fetch's", snapshot.pk) == 0
    assert shaped.update("settle", settle, source.pk, source.fetch_token, "settled", snapshot.pk) == 1

    source.refresh_from_db()
    assert (source.outcome_reason, source.latest_snapshot_id) == ("settled", snapshot.pk)


def test_a_shaped_update_is_one_query_as_django_records_them(claims):
    shaped = ShapedUpdate()
    evidence = Evidence.objects.order_by("id").first()
    moment = datetime.datetime(2024, 5, 6, tzinfo=datetime.UTC)

    with CaptureQueriesContext(connection) as queries:
        shaped.update("checked", _checked, evidence.pk, "found", moment)

    assert len(queries) == 1
    assert queries[0]["sql"].startswith('UPDATE "claims_evidence"')
