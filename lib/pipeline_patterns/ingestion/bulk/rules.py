"""Typed validation of text fields: one rule per column, in plain Python and as SQL over a text staging table.

A rule names what a field must be — an integer in a range, text matching a pattern, a timestamp
with a UTC offset on a real calendar day — and each broken rule gives a reason ``"<column>:
<problem>"``. :func:`reason` checks one value in Python (the reference, unit-tested);
:func:`sql_reason` builds the same check as a SQL ``CASE`` over a ``text`` column (what
:mod:`.rejects` runs on a whole file at once); :func:`sql_check` is the rule as a ``CHECK``
constraint on the typed target, so that a direct ``COPY`` refuses what the rules refuse.

Guarantee: a value the SQL rule passes casts to the column's type without error (PostgreSQL 15
has no ``pg_input_is_valid``): integers are matched as ASCII digits before any cast, timestamps
by a pattern that bounds every field before the calendar check and the cast. Python and SQL give
the same reason for the same value (an integration test runs both over the awkward cases).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from psycopg import sql

from pipeline_patterns.ingestion.bulk.tables import Column

INTEGER = r"[+-]?[0-9]{1,18}"
TIMESTAMP = (r"(19|20)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[ T]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
             r"(\.[0-9]{1,6})?(Z|[+-](0[0-9]|1[0-4])(:?[0-5][0-9])?)")
TIMESTAMP_PROBLEM = "not a timestamp with a UTC offset (YYYY-MM-DD HH:MM:SS+00)"


@dataclass(frozen=True)
class IntRule:
    lo: int
    hi: int


@dataclass(frozen=True)
class TextRule:
    pattern: str
    description: str


@dataclass(frozen=True)
class TimestampRule:
    pass


Rule = IntRule | TextRule | TimestampRule


def reason(column: Column, rule: Rule, value: str | None) -> str | None:
    """Why ``value`` breaks the column's rule, or None if it is fine (None is NULL: fine when nullable)."""
    problem = None
    if value is None:
        problem = None if column.nullable else "missing (required)"
    elif isinstance(rule, IntRule):
        if not re.fullmatch(INTEGER, value):
            problem = "not an integer"
        elif not rule.lo <= int(value) <= rule.hi:
            problem = f"outside {rule.lo}..{rule.hi}"
    elif isinstance(rule, TextRule):
        if not re.fullmatch(rule.pattern, value):
            problem = f"not {rule.description}"
    elif not re.fullmatch(TIMESTAMP, value):
        problem = TIMESTAMP_PROBLEM
    elif int(value[8:10]) > calendar.monthrange(int(value[:4]), int(value[5:7]))[1]:
        problem = "not a calendar date"
    return None if problem is None else f"{column.name}: {problem}"


def first_reason(columns: Sequence[Column], rules: Mapping[str, Rule], record: Sequence[str | None]) -> str | None:
    """The first broken rule of a record, in column order (what lands in the rejects table)."""
    return next((r for c, v in zip(columns, record, strict=True) if (r := reason(c, rules[c.name], v))), None)


def _problem(column: Column, text: str) -> sql.Composable:
    return sql.Literal(f"{column.name}: {text}")


def sql_reason(column: Column, rule: Rule) -> sql.Composed:
    """The rule as ``CASE ... END`` over the text column: a reason, or NULL when the value is fine."""
    v = sql.Identifier(column.name)
    whens = [sql.SQL("WHEN {v} IS NULL THEN {r}").format(
        v=v, r=sql.NULL if column.nullable else _problem(column, "missing (required)"))]
    if isinstance(rule, IntRule):
        whens += [sql.SQL("WHEN {v} !~ {p} THEN {r}").format(v=v, p=sql.Literal(f"^{INTEGER}$"),
                                                           r=_problem(column, "not an integer")),
                  sql.SQL("WHEN {v}::bigint NOT BETWEEN {lo} AND {hi} THEN {r}").format(
                      v=v, lo=sql.Literal(rule.lo), hi=sql.Literal(rule.hi),
                      r=_problem(column, f"outside {rule.lo}..{rule.hi}"))]
    elif isinstance(rule, TextRule):
        whens.append(sql.SQL("WHEN {v} !~ {p} THEN {r}").format(
            v=v, p=sql.Literal(f"^({rule.pattern})$"), r=_problem(column, f"not {rule.description}")))
    else:
        last_day = sql.SQL("extract(day FROM make_date(substr({v}, 1, 4)::int, substr({v}, 6, 2)::int, 1) "
                           "+ interval '1 month - 1 day')").format(v=v)
        whens += [sql.SQL("WHEN {v} !~ {p} THEN {r}").format(v=v, p=sql.Literal(f"^({TIMESTAMP})$"),
                                                           r=_problem(column, TIMESTAMP_PROBLEM)),
                  sql.SQL("WHEN substr({v}, 9, 2)::int > {d} THEN {r}").format(
                      v=v, d=last_day, r=_problem(column, "not a calendar date"))]
    return sql.SQL("CASE {} END").format(sql.SQL(" ").join(whens))


def sql_first_reason(columns: Sequence[Column], rules: Mapping[str, Rule]) -> sql.Composed:
    """``COALESCE`` of every column's reason, in column order: the first broken rule, or NULL."""
    return sql.SQL("COALESCE({})").format(sql.SQL(", ").join(sql_reason(c, rules[c.name]) for c in columns))


def sql_check(column: Column, rule: Rule) -> sql.Composed | None:
    """The rule as a ``CHECK`` on the typed column (a range or a pattern; a timestamp's type is its check)."""
    v = sql.Identifier(column.name)
    if isinstance(rule, IntRule):
        return sql.SQL("{} BETWEEN {} AND {}").format(v, sql.Literal(rule.lo), sql.Literal(rule.hi))
    if isinstance(rule, TextRule):
        return sql.SQL("{} ~ {}").format(v, sql.Literal(f"^({rule.pattern})$"))
    return None


def checks(columns: Sequence[Column], rules: Mapping[str, Rule]) -> list[sql.Composed]:
    return [c for col in columns if (c := sql_check(col, rules[col.name])) is not None]


def _minutes(lo: int = -1_440, hi: int = 1_440) -> IntRule:
    return IntRule(lo, hi)


CLOCK = IntRule(0, 2_400)  # hhmm local time; 2400 is how the data writes midnight
AIRPORT = TextRule("[A-Z]{3}", "a three-letter airport code")
FLIGHT_RULES: dict[str, Rule] = {
    "flight_id": IntRule(0, 10**12), "year": IntRule(1900, 2100), "month": IntRule(1, 12), "day": IntRule(1, 31),
    "dep_time": CLOCK, "sched_dep_time": CLOCK, "dep_delay": _minutes(), "arr_time": CLOCK,
    "sched_arr_time": CLOCK, "arr_delay": _minutes(),
    "carrier": TextRule("[A-Z0-9]{2}", "a two-character carrier code"),
    "flight": IntRule(1, 9_999), "tailnum": TextRule("[A-Z0-9]{1,8}", "a tail number (1-8 capitals or digits)"),
    "origin": AIRPORT, "dest": AIRPORT, "air_time": IntRule(1, 1_440), "distance": IntRule(1, 10_000),
    "hour": IntRule(0, 23), "minute": IntRule(0, 59), "time_hour": TimestampRule(),
}
"""The flights' contract: every row of the real table passes it (checked by the tests)."""
