"""Silver's contract for the medallion lesson: validation rules, the dedupe rule, a reference.

Each :class:`Rule` is written twice, side by side: as plain Python over one raw record
(JSON values) and as a Spark column over bronze, where every raw value is a string. A
record breaking any rule goes to quarantine with ``reason`` = the first broken rule in
the order listed (and ``reasons`` = all of them). A rule whose inputs are null passes
(SQL semantics), so an earlier rule such as ``revenue_not_numeric`` catches the null.

Dedupe rule (``LATEST_FIRST``): per key, the copy with the latest ``_ingested_at`` wins;
a tie (files ingested in one batch) goes to the greatest ``_source_file`` (files are
named in arrival order); copies still tied come from one file, and the greatest payload
hash makes the choice deterministic.

:func:`reference` runs the same rules and dedupe in plain Python over the raw files,
so tests compare Spark's layers with it row for row. It assumes that copies of one key
inside one file are identical (true of the generated files).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeVar

from pyspark.sql import Column
from pyspark.sql import functions as F

from pipeline_patterns.datagen import EVENT_TYPES

T = TypeVar("T")

TS_FORMAT = "yyyy-MM-dd'T'HH:mm:ss.SSSX"  # the generator's ISO-8601 UTC, milliseconds
TS_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
DELAY_RANGE = (-120, 1440)  # minutes: two hours early to one day late
ON_TIME_MINUTES = 15


# --- raw values, the way Spark reads them (primitivesAsString) -------------------------------

def text(record: dict, name: str) -> str | None:
    """A raw JSON value as bronze holds it: the JSON text of a number, or the string."""
    value = record.get(name)
    return value if value is None or isinstance(value, str) else json.dumps(value)


NUMBER = re.compile(r"\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*")


def is_blank(value: str | None) -> bool:
    return value is None or not value.strip()


def as_decimal(value: str | None) -> Decimal | None:
    """``try_cast(value AS decimal(12,2))``: None when missing, not a number or too large."""
    if value is None or not NUMBER.fullmatch(value):
        return None
    number = Decimal(value.strip())
    return number.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) if abs(number) < 10**10 else None


def as_float(value: str | None) -> float | None:
    """``try_cast(value AS double)`` for plain decimal notation."""
    return float(value) if value is not None and NUMBER.fullmatch(value) else None


def as_int(value: str | None) -> int | None:
    return int(value) if value is not None and re.fullmatch(r"\s*[+-]?\d+\s*", value) else None


def as_timestamp(value: str | None) -> datetime | None:
    if value is None or not TS_PATTERN.fullmatch(value):
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ")
    except ValueError:  # 2024-02-30
        return None


def flight_date(record: dict) -> date | None:
    year, month, day = (as_int(text(record, k)) for k in ("year", "month", "day"))
    if year is None or month is None or day is None:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


# --- the same values as Spark columns over bronze strings ------------------------------------

def revenue_col() -> Column:
    return F.col("revenue").try_cast("decimal(12,2)")


def event_ts_col() -> Column:
    return F.try_to_timestamp(F.col("timestamp"), F.lit(TS_FORMAT))


def flight_date_col() -> Column:
    return F.concat(F.col("year"), F.lit("-"), F.lpad("month", 2, "0"), F.lit("-"),
                    F.lpad("day", 2, "0")).try_cast("date")


def dep_delay_col() -> Column:
    return F.col("dep_delay").try_cast("double")


def _blank(name: str) -> Column:
    return F.col(name).isNull() | (F.trim(F.col(name)) == "")


@dataclass(frozen=True)
class Rule:
    name: str
    fails: Callable[[dict], bool]  # plain Python, on one raw record
    fails_col: Callable[[], Column]  # Spark, over bronze's string columns


def _below(value: float | Decimal | None, limit: float) -> bool:
    return value is not None and value < limit


def _revenue(r: dict) -> Decimal | None:
    return as_decimal(text(r, "revenue"))


def _delay(r: dict) -> float | None:
    return as_float(text(r, "dep_delay"))


EVENT_RULES = (
    Rule("missing_event_id", lambda r: is_blank(text(r, "event_id")), lambda: _blank("event_id")),
    Rule("missing_user_id", lambda r: is_blank(text(r, "user_id")), lambda: _blank("user_id")),
    Rule("missing_session_id", lambda r: is_blank(text(r, "session_id")), lambda: _blank("session_id")),
    Rule("unknown_event_type", lambda r: text(r, "event_type") not in EVENT_TYPES,
         lambda: F.col("event_type").isNull() | ~F.col("event_type").isin(*EVENT_TYPES)),
    Rule("revenue_not_numeric", lambda r: _revenue(r) is None, lambda: revenue_col().isNull()),
    Rule("negative_revenue", lambda r: _below(_revenue(r), 0), lambda: revenue_col() < 0),
    Rule("purchase_without_revenue",
         lambda r: text(r, "event_type") == "purchase" and (revenue := _revenue(r)) is not None and revenue <= 0,
         lambda: (F.col("event_type") == "purchase") & (revenue_col() <= 0)),
    Rule("bad_timestamp", lambda r: as_timestamp(text(r, "timestamp")) is None, lambda: event_ts_col().isNull()),
)

FLIGHT_RULES = (
    Rule("missing_key",
         lambda r: is_blank(text(r, "carrier")) or is_blank(text(r, "origin"))
         or as_int(text(r, "flight")) is None or as_int(text(r, "sched_dep_time")) is None,
         lambda: _blank("carrier") | _blank("origin") | F.col("flight").try_cast("int").isNull()
         | F.col("sched_dep_time").try_cast("int").isNull()),
    Rule("bad_flight_date", lambda r: flight_date(r) is None, lambda: flight_date_col().isNull()),
    Rule("dep_delay_missing", lambda r: text(r, "dep_delay") is None, lambda: F.col("dep_delay").isNull()),
    Rule("dep_delay_not_numeric", lambda r: text(r, "dep_delay") is not None and _delay(r) is None,
         lambda: F.col("dep_delay").isNotNull() & dep_delay_col().isNull()),
    Rule("dep_delay_out_of_range",
         lambda r: (delay := _delay(r)) is not None and not DELAY_RANGE[0] <= delay <= DELAY_RANGE[1],
         lambda: ~dep_delay_col().between(*DELAY_RANGE)),
)


def reasons(record: dict, rules: tuple[Rule, ...]) -> list[str]:
    """Every rule ``record`` breaks, in rule order (empty: the record is valid)."""
    return [rule.name for rule in rules if rule.fails(record)]


def _required(value: T | None, record: dict, what: str) -> T:
    if value is None:
        raise ValueError(f"a key is taken of valid records only; this one has no {what}: {record!r}")
    return value


def event_key(record: dict) -> str:
    return _required(text(record, "event_id"), record, "event_id")


def flight_key(record: dict) -> str:
    """``flight_date|carrier|flight|origin|sched_dep_time``, as silver builds it."""
    return "|".join([_required(flight_date(record), record, "flight date").isoformat(),
                     _required(text(record, "carrier"), record, "carrier"), str(as_int(text(record, "flight"))),
                     _required(text(record, "origin"), record, "origin"), str(as_int(text(record, "sched_dep_time")))])


# --- the plain-Python reference of bronze -> silver ------------------------------------------

@dataclass(frozen=True)
class Reference:
    bronze_rows: int
    rejects: Counter  # reason -> rows
    duplicates_removed: int
    silver: dict[str, dict]  # key -> the winning raw record

    @property
    def accounted(self) -> bool:
        return self.bronze_rows == len(self.silver) + sum(self.rejects.values()) + self.duplicates_removed


def reference(ingestions: list[list[tuple[str, tuple[dict, ...]]]], rules: tuple[Rule, ...],
              key: Callable[[dict], str]) -> Reference:
    """Silver as the rules define it. ``ingestions``: in order, each the (file name, records)
    ingested together (one ``_ingested_at``). Later ingestion wins, then the greater file name."""
    rejects: Counter[str] = Counter()
    best: dict[str, tuple[tuple[int, str], dict]] = {}
    rows, valid = 0, 0
    for batch, files in enumerate(ingestions):
        for name, records in files:
            for record in records:
                rows += 1
                broken = reasons(record, rules)
                if broken:
                    rejects[broken[0]] += 1
                    continue
                valid += 1
                k, rank = key(record), (batch, name)
                if k not in best or rank >= best[k][0]:
                    best[k] = (rank, record)
    silver = {k: record for k, (_, record) in best.items()}
    return Reference(rows, rejects, valid - len(silver), silver)
