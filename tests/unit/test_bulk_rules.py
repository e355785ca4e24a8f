"""Lesson 14's typed validation rules in plain Python, and the bad-rows CSV they are run on (no services)."""

from __future__ import annotations

import csv

import pytest

from pipeline_patterns.ingestion.bulk import fakes, rows
from pipeline_patterns.ingestion.bulk.rules import (
    FLIGHT_RULES,
    IntRule,
    TextRule,
    TimestampRule,
    checks,
    first_reason,
    reason,
    sql_check,
    sql_reason,
)
from pipeline_patterns.ingestion.bulk.tables import FLIGHTS, Column

MONTH = Column("month", "integer", nullable=False)
DELAY = Column("dep_delay", "integer", nullable=True)
WHEN = Column("time_hour", "timestamptz", nullable=False)
CARRIER = Column("carrier", "text", nullable=False)


@pytest.mark.parametrize(("value", "expected"), [
    ("1", None), ("+12", None), ("007", None), ("-1", "month: outside 1..12"),
    ("13", "month: outside 1..12"), ("0", "month: outside 1..12"),
    ("n/a", "month: not an integer"), ("12.5", "month: not an integer"), ("", "month: not an integer"),
    (" 5", "month: not an integer"), ("1_0", "month: not an integer"), ("١٢", "month: not an integer"),
    ("9" * 19, "month: not an integer"), (None, "month: missing (required)"),
])
def test_an_integer_is_ascii_digits_in_range(value, expected):
    assert reason(MONTH, IntRule(1, 12), value) == expected


def test_null_passes_a_nullable_column_and_its_range_still_applies():
    assert reason(DELAY, IntRule(-1440, 1440), None) is None
    assert reason(DELAY, IntRule(-1440, 1440), "-1441") == "dep_delay: outside -1440..1440"


@pytest.mark.parametrize(("value", "expected"), [
    ("2013-01-01 10:00:00+00:00", None), ("2013-01-01T10:00:00Z", None), ("2013-01-01 10:00:00.000000Z", None),
    ("2012-02-29 00:00:00+00", None), ("2013-12-31 23:59:59-0500", None),
    ("2013-02-29 00:00:00+00", "time_hour: not a calendar date"),
    ("2013-02-30 05:00:00+00", "time_hour: not a calendar date"),
    ("2013-04-31 00:00:00+00", "time_hour: not a calendar date"),
    ("2013-01-01 10:00:00", "time_hour: not a timestamp with a UTC offset (YYYY-MM-DD HH:MM:SS+00)"),
    ("2013-13-01 10:00:00+00", "time_hour: not a timestamp with a UTC offset (YYYY-MM-DD HH:MM:SS+00)"),
    ("2013-01-01 24:00:00+00", "time_hour: not a timestamp with a UTC offset (YYYY-MM-DD HH:MM:SS+00)"),
    ("2013-01-01 10:00:00+00\n", "time_hour: not a timestamp with a UTC offset (YYYY-MM-DD HH:MM:SS+00)"),
])
def test_a_timestamp_has_an_offset_and_a_real_day(value, expected):
    assert reason(WHEN, TimestampRule(), value) == expected


def test_text_matches_its_whole_pattern():
    rule = TextRule("[A-Z0-9]{2}", "a two-character carrier code")
    assert [reason(CARRIER, rule, v) for v in ("UA", "9E", "ua", "UAX", "")] == [
        None, None, *["carrier: not a two-character carrier code"] * 3]


def test_the_first_broken_rule_in_column_order_is_the_reason():
    record = ["1", "2013", "13", "1", "517", "515", "n/a", "830", "819", "11", "UA", "1545", "N14228", "EWR", "IAH",
              "227", "1400", "5", "15", "2013-01-01 10:00:00+00"]
    assert first_reason(FLIGHTS.columns, FLIGHT_RULES, record) == "month: outside 1..12"
    record[2] = "1"
    assert first_reason(FLIGHTS.columns, FLIGHT_RULES, record) == "dep_delay: not an integer"
    record[6] = None
    assert first_reason(FLIGHTS.columns, FLIGHT_RULES, record) is None


def test_the_rules_compose_to_sql_with_literals_and_identifiers():
    assert sql_check(MONTH, IntRule(1, 12)).as_string() == '"month" BETWEEN 1 AND 12'
    assert sql_check(WHEN, TimestampRule()) is None
    assert sql_reason(MONTH, IntRule(1, 12)).as_string() == (
        "CASE WHEN \"month\" IS NULL THEN 'month: missing (required)' "
        "WHEN \"month\" !~ '^[+-]?[0-9]{1,18}$' THEN 'month: not an integer' "
        "WHEN \"month\"::bigint NOT BETWEEN 1 AND 12 THEN 'month: outside 1..12' END")
    assert sql_reason(DELAY, IntRule(0, 1)).as_string().startswith('CASE WHEN "dep_delay" IS NULL THEN NULL ')
    # every column but the timestamp has a CHECK on the typed target
    assert len(checks(FLIGHTS.columns, FLIGHT_RULES)) == len(FLIGHTS.columns) - 1


def test_the_bad_rows_csv_breaks_exactly_the_rows_it_reports(tmp_path):
    sample = rows.flights(500)
    path = tmp_path / "flights.csv"
    bad = fakes.bad_rows_csv(sample, path, n_bad=7, seed=42)
    assert [(b.line, b.column, b.value) for b in bad] == [
        (44, "dep_delay", "n/a"), (46, "month", "13"), (217, "distance", "99999999999"), (220, "air_time", "12.5"),
        (326, "carrier", ""), (385, "time_hour", "2013-02-30 05:00:00+00"), (430, "origin", "JFKX")]
    with open(path, newline="") as f:
        records = list(csv.reader(f))
    assert records[0] == FLIGHTS.names and len(records) == 501
    reasons = {line: first_reason(FLIGHTS.columns, FLIGHT_RULES, [v if v != "" else None for v in rec])
               for line, rec in enumerate(records[1:], start=2)}
    broken = {line: r for line, r in reasons.items() if r}
    assert broken == {44: "dep_delay: not an integer", 46: "month: outside 1..12", 217: "distance: outside 1..10000",
                      220: "air_time: not an integer", 326: "carrier: missing (required)",
                      385: "time_hour: not a calendar date", 430: "origin: not a three-letter airport code"}
    assert fakes.bad_rows_csv(sample, tmp_path / "again.csv", 7, 42) == bad
    assert [b.line for b in fakes.bad_rows_csv(sample, tmp_path / "other.csv", 7, 7)] != [b.line for b in bad]


def test_the_bad_rows_csv_refuses_more_bad_rows_than_rows(tmp_path):
    with pytest.raises(ValueError, match=r"n_bad must be 0..3"):
        fakes.bad_rows_csv(rows.flights(3), tmp_path / "x.csv", n_bad=4, seed=1)
