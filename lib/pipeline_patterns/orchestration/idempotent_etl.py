"""The guide's ``idempotent_etl``, corrected: one day's sales in, that day's revenue per customer out.

Each task does one day, named by the run's data interval (not ``execution_date``, gone in Airflow 3):

* :func:`extract` reads the interval ``[start, end)`` with bound parameters (the guide f-strings the date into its
  SQL) and stages the rows in a CSV file; the task returns the file's path, a reference of a few bytes, instead of
  the rows (which XCom would store in Airflow's metadata database);
* :func:`transform` turns a staged file into per-customer totals, another staged file (pure: same file, same output);
* :func:`load` replaces the day in ``daily_revenue`` by DELETE and COPY in **one** transaction.

Guarantee: running a day again, from any task, after any crash, leaves the target exactly as one run would: the
staged files are rewritten whole, and readers of the target see the day's old rows or its new ones, never an
empty or half-loaded day (a ``kill -9`` between the DELETE and the COPY rolls the DELETE back).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

from psycopg import sql

from pipeline_patterns import postgres
from pipeline_patterns.config import get_settings
from pipeline_patterns.orchestration.kill_window import hold_here


class EmptyInterval(ValueError):
    """A run whose data interval is not one whole day (with ``schedule="@daily"``, Airflow 3's
    ``CronTriggerTimetable``, every run's interval has start == end)."""


def day_of(start: datetime | None, end: datetime | None) -> date:
    """The day a run is responsible for: its data interval must be exactly one UTC day."""
    if start is None or end is None or end - start != timedelta(days=1) or start.time() != datetime.min.time():
        raise EmptyInterval(
            f"expected a data interval of one whole UTC day, found {start} .. {end}. A DAG on schedule=\"@daily\" "
            "(Airflow 3's CronTriggerTimetable) gives start == end: use CronDataIntervalTimetable, and trigger "
            "manual runs with a data interval (AirflowClient.trigger(..., data_interval=(day, day + 1 day))).")
    return start.date()


def staging_dir(schema: str) -> Path:
    """Where one schema's staged files live (under the lake, outside Airflow's metadata database)."""
    return get_settings().lake_path / "staging" / schema


def extract(schema: str, start: datetime, end: datetime) -> str:
    """Stage the sales of ``[start, end)`` in a CSV file; its path."""
    day = day_of(start, end)
    path = staging_dir(schema) / f"sales_{day.isoformat()}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with postgres.connect() as conn, conn.cursor() as cursor:
        cursor.execute(sql.SQL("SELECT sale_id, customer_id, amount_cents FROM {}.sales "
                               "WHERE created_at >= %s AND created_at < %s ORDER BY sale_id").format(
                           sql.Identifier(schema)), (start, end))
        _write(path, ["sale_id", "customer_id", "amount_cents"], cursor)
    return str(path)


def totals(sales: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """Per customer: (customer_id, sales, revenue_cents), by customer; the same rows give the same totals."""
    count: dict[int, int] = defaultdict(int)
    revenue: dict[int, int] = defaultdict(int)
    for _, customer, amount in sales:
        count[customer] += 1
        revenue[customer] += amount
    return [(c, count[c], revenue[c]) for c in sorted(count)]


def transform(staged_sales: str) -> str:
    """Per-customer totals of one staged day, staged next to it; their path."""
    source = Path(staged_sales)
    with source.open(newline="") as f:
        sales = [(int(r["sale_id"]), int(r["customer_id"]), int(r["amount_cents"])) for r in csv.DictReader(f)]
    path = source.with_name(source.name.replace("sales_", "totals_", 1))
    _write(path, ["customer_id", "sales", "revenue_cents"], totals(sales))
    return str(path)


def read_totals(staged_totals: str) -> list[tuple[int, int, int]]:
    with Path(staged_totals).open(newline="") as f:
        return [(int(r["customer_id"]), int(r["sales"]), int(r["revenue_cents"])) for r in csv.DictReader(f)]


def load(schema: str, day: date, staged_totals: str | list, run_id: str, hold: dict | None = None,
         try_number: int = 1) -> int:
    """Replace ``day`` in ``daily_revenue`` with the totals (a staged file, or rows) in one transaction; rows written.

    ``hold`` (lesson 15's kill window) parks the first try between the DELETE and the COPY until the lesson has
    killed the process: the transaction is still open, so the DELETE dies with it.
    """
    rows = read_totals(staged_totals) if isinstance(staged_totals, str) else [tuple(r) for r in staged_totals]
    target = sql.Identifier(schema, "daily_revenue")
    with postgres.connect() as conn, conn.transaction():
        conn.execute(sql.SQL("DELETE FROM {} WHERE day = %s").format(target), (day,))
        hold_here(hold, try_number)
        with conn.cursor().copy(sql.SQL("COPY {} (day, customer_id, sales, revenue_cents, loaded_by) "
                                        "FROM STDIN").format(target)) as copy:
            for customer, sales, revenue in rows:
                copy.write_row((day, customer, sales, revenue, run_id))
    return len(rows)


def _write(path: Path, header: list[str], rows) -> None:
    """Write a whole CSV file under a temporary name, then rename it: a crash never leaves half a file."""
    partial = path.with_suffix(".partial")
    with partial.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    partial.replace(path)


def process_day(schema: str, start: datetime, end: datetime, run_id: str) -> int:
    """The guide's ``backfillable_etl`` task, corrected: extract, transform and load one day in one task."""
    day = day_of(start, end)
    return load(schema, day, transform(extract(schema, start, end)), run_id)
