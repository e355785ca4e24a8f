"""The kit's smallest DAG: ``extract`` then ``load`` for each day's data interval.

Nothing in it touches the stack; ``tests/integration/test_airflow_stack.py`` triggers it through the
REST API and backfills two days of it, to prove Airflow runs. Written for Airflow 3 (``airflow.sdk``,
``schedule=``, no ``days_ago``). A plain ``schedule="@daily"`` would give each run a single point in
time in Airflow 3 (data interval start == end); the explicit timetable keeps whole-day intervals.
"""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk import dag, task
from airflow.timetables.interval import CronDataIntervalTimetable


@dag(dag_id="kit_example", schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),
     start_date=datetime(2024, 1, 1, tzinfo=UTC), catchup=False, tags=["kit"])
def kit_example():
    @task
    def extract(data_interval_start=None, data_interval_end=None) -> dict:
        """The interval this run is responsible for (Airflow passes it by parameter name)."""
        return {"start": data_interval_start.isoformat(), "end": data_interval_end.isoformat()}

    @task
    def load(batch: dict) -> str:
        return f"loaded {batch['start']} .. {batch['end']}"

    load(extract())


kit_example()
