"""Bad rows on the real PostgreSQL 15: COPY stops at the first, the text staging load reports every one."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import sql

from pipeline_patterns import postgres
from pipeline_patterns.ingestion.bulk import fakes, pitfalls, rejects, rows
from pipeline_patterns.ingestion.bulk.loaders import arrow_csv
from pipeline_patterns.ingestion.bulk.rules import FLIGHT_RULES, IntRule, TextRule, TimestampRule, reason, sql_reason
from pipeline_patterns.ingestion.bulk.tables import FLIGHTS, Column, drop_table

pytestmark = pytest.mark.integration

EXPECTED = [(44, "dep_delay: not an integer"), (46, "month: outside 1..12"), (217, "distance: outside 1..10000"),
            (220, "air_time: not an integer"), (326, "carrier: missing (required)"),
            (385, "time_hour: not a calendar date"), (430, "origin: not a three-letter airport code")]


@pytest.fixture
def tables(unique):
    names = {"target": f"bulk_rj_{unique}", "rejects": f"bulk_rj_{unique}_rejects"}
    rejects.create_tables(names["target"], names["rejects"], FLIGHTS, FLIGHT_RULES)
    yield names
    with postgres.connect(autocommit=True) as conn:
        for t in names.values():
            conn.execute(drop_table(t))
        # the text staging table lives and dies inside the load's transaction
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE tablename LIKE %s",
                            (f"{names['target']}_text_%",)).fetchone() == (0,)


@pytest.fixture
def bad_csv(tmp_path):
    path = tmp_path / "flights_2013.csv"
    return path, fakes.bad_rows_csv(rows.flights(500), path, n_bad=7, seed=42)


def count(table: str) -> int:
    with postgres.connect() as conn:
        return postgres.one_row(conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))))[0]


def test_copy_stops_at_the_first_bad_row_and_loads_nothing(tables, bad_csv):
    path, _ = bad_csv
    stopped = pitfalls.plain_copy(path, tables["target"], FLIGHTS)
    assert stopped == pitfalls.CopyStopped(
        "InvalidTextRepresentation", 'invalid input syntax for type integer: "n/a"', 44,
        f'COPY {tables["target"]}, line 44, column dep_delay: "n/a"', 0)


def test_every_row_lands_in_the_target_or_the_rejects_with_its_line_and_reason(tables, bad_csv):
    path, bad = bad_csv
    report = rejects.load_csv(path, tables["target"], tables["rejects"], FLIGHTS, FLIGHT_RULES)
    assert (report.input_rows, report.loaded, report.rejected) == (500, 493, 7)
    assert count(tables["target"]) + count(tables["rejects"]) == rejects.count_records(path) == 500
    with postgres.connect() as conn:
        got = conn.execute(sql.SQL("SELECT file, line, reason, record ->> 'origin' FROM {} ORDER BY line").format(
            sql.Identifier(tables["rejects"]))).fetchall()
    assert [(line, why) for _, line, why, _ in got] == EXPECTED == [(b.line, r) for b, (_, r) in zip(bad, EXPECTED,
                                                                                                   strict=True)]
    assert {f for f, *_ in got} == {"flights_2013.csv"} and got[-1][3] == "JFKX"
    assert report.reasons == {r: 1 for _, r in EXPECTED}


def test_the_guides_continue_on_error_loses_the_bad_rows_silently(tables, bad_csv):
    path, bad = bad_csv
    assert "not recognized" in pitfalls.on_error_option(tables["target"], FLIGHTS)
    pitfalls.continue_on_error(path, tables["target"], FLIGHTS)
    assert count(tables["target"]) == 500 - len(bad) and count(tables["rejects"]) == 0


def test_the_real_flights_pass_every_rule(tables, tmp_path):
    path = tmp_path / "flights_all.csv"
    flights = rows.flights()
    path.write_bytes(",".join(FLIGHTS.names).encode() + b"\n" + arrow_csv(flights.arrow))
    report = rejects.load_csv(path, tables["target"], tables["rejects"], FLIGHTS, FLIGHT_RULES)
    assert (report.loaded, report.rejected) == (336_776, 0)


def test_a_ragged_row_or_a_wrong_header_stops_the_load_with_a_clear_error(tables, tmp_path):
    good = arrow_csv(rows.flights(3).arrow).decode().splitlines()
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("\n".join([",".join(FLIGHTS.names), good[0], good[1] + ",extra", good[2]]) + "\n")
    with pytest.raises(rejects.CsvShapeError, match=r"ragged.csv does not fit 20 text columns .* line 3"):
        rejects.load_csv(ragged, tables["target"], tables["rejects"], FLIGHTS, FLIGHT_RULES)
    swapped = tmp_path / "swapped.csv"
    swapped.write_text("\n".join([",".join(["year", "flight_id", *FLIGHTS.names[2:]]), *good]) + "\n")
    with pytest.raises(rejects.CsvShapeError, match="column name mismatch in header line"):
        rejects.load_csv(swapped, tables["target"], tables["rejects"], FLIGHTS, FLIGHT_RULES)
    assert count(tables["target"]) == count(tables["rejects"]) == 0


CASES = {
    (Column("n", "integer", False), IntRule(-5, 5)): [None, "", "0", "+5", "-5", "6", "-6", " 1", "1 ", "1.0", "1e3",
                                                        "٣", "99999999999999999999", "999999999999999999", "0x1"],
    (Column("n", "integer", True), IntRule(0, 10)): [None, "", "10", "11"],
    (Column("code", "text", False), TextRule("[A-Z]{3}", "an airport code")): [None, "", "JFK", "jfk", "JFKX", "JF\n"],
    (Column("ts", "timestamptz", False), TimestampRule()): [
        None, "", "2013-01-01 10:00:00+00", "2013-01-01T10:00:00Z", "2013-01-01 10:00:00.123456-05:30",
        "2012-02-29 00:00:00+00", "2013-02-29 00:00:00+00", "2013-04-31 00:00:00+00", "2013-12-31 23:59:59+1400",
        "2013-01-01 24:00:00+00", "2013-00-01 00:00:00+00", "1899-01-01 00:00:00+00", "2013-01-01 10:00+00",
        "2013-01-01 10:00:00+00\n", "2013-01-01 10:00:00 UTC"],
}


@pytest.mark.parametrize("case", list(CASES), ids=lambda c: f"{c[0].name}-{type(c[1]).__name__}-{c[0].nullable}")
def test_sql_and_python_give_the_same_reason_and_what_sql_passes_casts(case, tables):
    column, rule = case
    values = CASES[case]
    with postgres.connect() as conn:
        got = conn.execute(sql.SQL("SELECT {} FROM unnest(%s::text[]) WITH ORDINALITY AS v({}, i) ORDER BY i").format(
            sql_reason(column, rule), sql.Identifier(column.name)), (values,)).fetchall()
        assert [r[0] for r in got] == [reason(column, rule, v) for v in values]
        for value, (why,) in zip(values, got, strict=True):
            if why is None and value is not None:  # passed: the cast must not fail
                try:
                    conn.execute(sql.SQL("SELECT %s::{}").format(sql.SQL(column.pg_type)), (value,))
                except psycopg.Error as exc:
                    pytest.fail(f"{value!r} passed the rule but does not cast: {exc}")


def test_inline_credentials_are_readable_by_another_session(unique):
    marker = f"not-a-secret-{unique}"
    error, seen = pitfalls.visible_to_other_sessions(pitfalls.guide_statement("flights", marker))
    assert error == "SyntaxError" and seen.count(marker) == 2


def test_an_fstring_identifier_breaks_on_a_legal_name(unique):
    name = f"Flights {unique}"
    with postgres.connect(autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE TABLE {} (id int)").format(sql.Identifier(name)))
    try:
        with pytest.raises(psycopg.errors.SyntaxError):
            pitfalls.fstring_truncate(name)
        with postgres.connect(autocommit=True) as conn:
            conn.execute(sql.SQL("TRUNCATE TABLE {}").format(sql.Identifier(name)))
    finally:
        with postgres.connect(autocommit=True) as conn:
            conn.execute(drop_table(name))
