"""Lesson 15's source and target in PostgreSQL: a month of seeded sales, and the daily revenue table the ETL fills.

One schema per lesson run or test (``l15_<suffix>``), so runs never share rows. The source ``sales`` holds one row
per sale (``created_at`` spread over the month, fixed by ``seed``); the target ``daily_revenue`` holds one row per
day and customer. ``loaded_by`` names the DAG run that wrote a row and is left out of :func:`checksum`. A
reprocessing backfill keeps its runs' ids, so to see that it rewrote a day, :func:`stamp` the column first.

:func:`reference` recomputes the target straight from the source in one SQL query; it shares no code with the ETL
(``idempotent_etl``), so the two agreeing is evidence, not a tautology.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from psycopg import sql

from pipeline_patterns import postgres
from pipeline_patterns.postgres import one_row


@dataclass(frozen=True)
class SalesSpec:
    """How much source to make: ``days`` days from ``first_day``, ``sales_per_day`` sales among ``customers``."""

    first_day: date = date(2024, 3, 1)
    days: int = 31
    customers: int = 200
    sales_per_day: int = 600
    seed: int = 42

    def __post_init__(self) -> None:
        for name in ("days", "customers", "sales_per_day"):
            if getattr(self, name) < 1:
                raise ValueError(f"SalesSpec.{name} must be at least 1; got {getattr(self, name)}")

    @property
    def end(self) -> date:
        """The first day after the source (half-open: [first_day, end))."""
        return self.first_day + timedelta(days=self.days)


def seeded_sales(spec: SalesSpec) -> list[tuple[int, int, int, datetime]]:
    """The source rows (sale_id, customer_id, amount_cents, created_at), the same for the same spec."""
    rng = random.Random(spec.seed)
    rows: list[tuple[int, int, int, datetime]] = []
    for day in range(spec.days):
        midnight = datetime.combine(spec.first_day + timedelta(days=day), datetime.min.time(), tzinfo=UTC)
        for _ in range(spec.sales_per_day):
            created = midnight + timedelta(seconds=rng.randrange(86_400), microseconds=rng.randrange(1_000_000))
            rows.append((len(rows) + 1, rng.randrange(1, spec.customers + 1), rng.randrange(100, 50_000), created))
    return rows


def create(schema: str, spec: SalesSpec) -> int:
    """Create ``schema`` with the seeded ``sales`` and an empty ``daily_revenue``; the sales rows written."""
    s = sql.Identifier(schema)
    rows = seeded_sales(spec)
    with postgres.connect() as conn, conn.transaction():
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(s))
        conn.execute(sql.SQL("CREATE TABLE {}.sales (sale_id bigint PRIMARY KEY, customer_id int NOT NULL, "
                             "amount_cents bigint NOT NULL, created_at timestamptz NOT NULL)").format(s))
        conn.execute(sql.SQL("CREATE INDEX ON {}.sales (created_at)").format(s))
        conn.execute(sql.SQL("CREATE TABLE {}.daily_revenue (day date NOT NULL, customer_id int NOT NULL, "
                             "sales int NOT NULL, revenue_cents bigint NOT NULL, loaded_by text NOT NULL, "
                             "PRIMARY KEY (day, customer_id))").format(s))
        with conn.cursor().copy(sql.SQL("COPY {}.sales (sale_id, customer_id, amount_cents, created_at) "
                                        "FROM STDIN").format(s)) as copy:
            for row in rows:
                copy.write_row(row)
    return len(rows)


def drop(schema: str) -> None:
    """Drop the schema and everything in it (autocommit: an idle reader's transaction cannot hold it)."""
    with postgres.connect(autocommit=True) as conn:
        conn.execute("SET lock_timeout = '10s'")
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def reference(schema: str, first_day: date, end: date) -> set[tuple[date, int, int, int]]:
    """What ``daily_revenue`` must hold for [first_day, end), computed straight from the source."""
    with postgres.connect(autocommit=True) as conn:
        rows = conn.execute(sql.SQL(
            "SELECT (created_at AT TIME ZONE 'UTC')::date AS day, customer_id, count(*)::int, "
            "sum(amount_cents)::bigint FROM {}.sales WHERE created_at >= %s AND created_at < %s GROUP BY 1, 2").format(
                sql.Identifier(schema)),
            (_midnight(first_day), _midnight(end))).fetchall()
    return set(rows)


def target_rows(schema: str) -> set[tuple[date, int, int, int]]:
    """``daily_revenue`` without ``loaded_by``: comparable with :func:`reference`."""
    with postgres.connect(autocommit=True) as conn:
        rows = conn.execute(sql.SQL("SELECT day, customer_id, sales, revenue_cents FROM {}.daily_revenue").format(
            sql.Identifier(schema))).fetchall()
    return set(rows)


def rows_checksum(rows) -> str:
    """The md5 :func:`checksum` computes in PostgreSQL, over (day, customer_id, sales, revenue_cents) rows in Python."""
    text = ";".join(",".join(str(v) for v in row) for row in sorted(rows))
    return hashlib.md5(text.encode()).hexdigest()


def checksum(schema: str) -> str:
    """An md5 over every target row in key order (``loaded_by`` left out); the same data gives the same sum."""
    with postgres.connect(autocommit=True) as conn:
        return str(one_row(conn.execute(sql.SQL(
            "SELECT md5(coalesce(string_agg(concat_ws(',', day, customer_id, sales, revenue_cents), ';' "
            "ORDER BY day, customer_id), '')) FROM {}.daily_revenue").format(sql.Identifier(schema))))[0])


def loaded_by(schema: str) -> dict[date, str]:
    """Which DAG run last wrote each day."""
    with postgres.connect(autocommit=True) as conn:
        rows = conn.execute(sql.SQL("SELECT day, min(loaded_by) FROM {}.daily_revenue GROUP BY day").format(
            sql.Identifier(schema))).fetchall()
    return dict(rows)


def stamp(schema: str, marker: str) -> int:
    """Set ``loaded_by`` of every target row to ``marker``; the rows stamped. A later load replaces the marker."""
    with postgres.connect() as conn:
        return conn.execute(sql.SQL("UPDATE {}.daily_revenue SET loaded_by = %s").format(sql.Identifier(schema)),
                            (marker,)).rowcount


def day_total(conn, schema: str, day: date) -> tuple[int, int]:
    """(rows, revenue) of one day in the target, as a dashboard reads it."""
    row = one_row(conn.execute(sql.SQL("SELECT count(*), coalesce(sum(revenue_cents), 0) FROM {}.daily_revenue "
                                       "WHERE day = %s").format(sql.Identifier(schema)), (day,)))
    return int(row[0]), int(row[1])


def _midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC)
