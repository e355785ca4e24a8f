"""Reference solutions for lesson 15 (instructors): graded by `check(..., solutions=True)`."""

from datetime import UTC, datetime, timedelta

from pipeline_patterns.orchestration.idempotent_etl import day_of


def bounds_for_one_day(data_interval_start, data_interval_end):
    # The kit's day_of raises EmptyInterval for anything but one whole UTC day; the bounds are that day, half-open,
    # computed from the interval alone (never from the clock), so a rerun reads exactly the same rows.
    day = day_of(data_interval_start, data_interval_end)
    start = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    return start, start + timedelta(days=1)


def logical_date_for_a_manual_run(day):
    # Given only a logical date, Airflow infers the last whole interval ending at it: to process `day`, pass the
    # midnight (UTC, aware) that ends it — the next day's.
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
