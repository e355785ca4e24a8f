"""Lesson 15's exercises: a run's data interval as one day's query bounds, and a manual run's logical date."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pipeline_patterns.exercises import Verdict, exercise, right, wrong
from pipeline_patterns.orchestration.etl_experiments import midnight
from pipeline_patterns.orchestration.idempotent_etl import day_of
from pipeline_patterns.orchestration.sales_source import SalesSpec, seeded_sales

DAY, HOUR = timedelta(days=1), timedelta(hours=1)
SPEC = SalesSpec(first_day=date(2024, 3, 1), days=5, customers=20, sales_per_day=40, seed=15)

Bounds = Callable[[datetime | None, datetime | None], tuple]


def selected(bounds: tuple, sales: list) -> list[int]:
    """The sale ids ``created_at >= %s AND created_at < %s`` returns with these two parameters."""
    low, high = bounds
    return [sale_id for sale_id, _, _, created_at in sales if low <= created_at < high]


def with_sales_at_midnight(sales: list) -> list:
    """The seeded sales and one more at each midnight of the month: the boundary belongs to the day it starts."""
    first_id = len(sales) + 1
    return sales + [(first_id + n, 1, 100, midnight(SPEC.first_day + n * DAY)) for n in range(SPEC.days + 1)]


def not_one_day(first: date) -> dict[str, tuple[datetime | None, datetime | None]]:
    """Data intervals a daily task must refuse, each named by where a run gets it."""
    start = midnight(first + DAY)
    return {"start == end (schedule=\"@daily\", Airflow 3's CronTriggerTimetable)": (start, start),
            "two days (a weekly or hand-made interval)": (start, start + 2 * DAY),
            "24 hours from 06:00 (a cron of \"0 6 * * *\")": (start + 6 * HOUR, start + DAY + 6 * HOUR),
            "none at all (a run without a data interval)": (None, None)}


@exercise("15.bounds_for_one_day", "query bounds from a data interval: exactly its day, and a refusal of any other")
def bounds_for_one_day(your_bounds: Bounds) -> Verdict:
    sales = with_sales_at_midnight(seeded_sales(SPEC))
    for offset in range(SPEC.days):
        day = SPEC.first_day + offset * DAY
        start, end = midnight(day), midnight(day + DAY)
        try:
            got = [selected(your_bounds(start, end), sales) for _ in range(2)]
        except Exception as exc:
            return wrong(f"for the whole day {day} ({start:%Y-%m-%d %H:%M} .. {end:%Y-%m-%d %H:%M} UTC) your function "
                         f"raised {type(exc).__name__}: {exc}. Wanted: two datetimes, the bounds of that day's sales")
        wanted = [sale_id for sale_id, _, _, created_at in sales if created_at.date() == day]
        if got[0] != got[1]:
            return wrong(f"two calls for {day} selected {len(got[0])} and then {len(got[1])} sales: a rerun must "
                         "read exactly what the first run read")
        if got[0] != wanted:
            return wrong(f"for {day} your bounds select {len(got[0])} sales, {len(set(got[0]) & set(wanted))} of them "
                         f"on that day; the day has {len(wanted)} (created_at in [its midnight, the next one))")
    for name, (odd_start, odd_end) in not_one_day(SPEC.first_day).items():
        try:
            bounds = your_bounds(odd_start, odd_end)
        except Exception:
            continue
        try:
            returned = f"bounds that select {len(selected(bounds, sales))} sales"
        except Exception:
            returned = f"{bounds!r}"
        return wrong(f"for an interval of {name}, {odd_start} .. {odd_end}, your function returned {returned} and "
                     "raised nothing: the run would succeed on data nobody meant. Wanted: refuse (raise) any interval "
                     "that is not one whole UTC day")
    return right(f"each of {SPEC.days} days gives exactly its sales, run after run, and all "
                 f"{len(not_one_day(SPEC.first_day))} intervals that are not one whole UTC day are refused")


LogicalDate = Callable[[date], Any]  # a datetime, if right


def inferred_interval(logical_date: datetime) -> tuple[datetime, datetime]:
    """The data interval Airflow 3 gives a run triggered with only a logical date, on the lesson DAGs'
    ``CronDataIntervalTimetable("@daily", timezone="UTC")`` (its ``infer_manual_data_interval``): the last whole
    day that ends at or before the logical date."""
    end = midnight(logical_date.astimezone(UTC).date())
    return end - DAY, end


@exercise("15.logical_date_for_a_manual_run", "the logical date that makes a manual run process a given day")
def logical_date_for_a_manual_run(your_logical_date: LogicalDate) -> Verdict:
    days = [date(2024, 2, 29), date(2024, 3, 10), date(2024, 3, 31), date(2024, 12, 31)]
    for day in days:
        logical = your_logical_date(day)
        if not isinstance(logical, datetime):
            return wrong(f"for {day} your function returned a {type(logical).__name__}; a logical date is a datetime")
        if logical.tzinfo is None or logical.utcoffset() is None:
            return wrong(f"for {day} your logical date {logical} has no timezone; Airflow needs an aware datetime "
                         "(the DAGs' timetable is in UTC)")
        start, end = inferred_interval(logical)
        processed = day_of(start, end)
        if processed != day:
            return wrong(f"a manual run with logical date {logical.isoformat()} gets the data interval "
                         f"{start:%Y-%m-%d %H:%M} .. {end:%Y-%m-%d %H:%M} UTC, so it processes {processed}, not {day}")
    return right(f"a manual run with your logical date processes the day you meant, for {', '.join(map(str, days))}")
