"""The schedule every lesson DAG over the seeded month shares: one run per whole UTC day of March 2024.

``CronDataIntervalTimetable`` (a plain ``schedule="@daily"`` is Airflow 3's ``CronTriggerTimetable``, whose runs have
zero-width intervals), a fixed timezone-aware ``start_date`` (no ``days_ago``), and an ``end_date`` that keeps the
scheduler from creating runs for later days: only triggered runs and backfills exist. ``schema`` names the
PostgreSQL schema a run works in, checked against the lesson's prefix.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def daily_in_march_2024(schema_prefix: str, default_schema: str, **params: Any) -> dict[str, Any]:
    """Keyword arguments for ``@dag``: schedule, start and end date, and the params — ``schema`` (``<prefix>_...``)
    and any other ``params`` given."""
    from airflow.sdk import Param  # type: ignore[import-not-found, unused-ignore]
    from airflow.timetables.interval import CronDataIntervalTimetable  # type: ignore[import-not-found, unused-ignore]

    return {
        "schedule": CronDataIntervalTimetable("@daily", timezone="UTC"),
        "start_date": datetime(2024, 3, 1, tzinfo=UTC),
        "end_date": datetime(2024, 3, 31, tzinfo=UTC),
        "params": {"schema": Param(default_schema, type="string", pattern=rf"^{schema_prefix}_[a-z0-9_]{{1,40}}$"),
                   **params},
    }
