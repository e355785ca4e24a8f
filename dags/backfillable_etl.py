"""Lesson 15's backfill: the guide's ``backfillable_etl`` for Airflow 3, one task per day.

``process`` extracts, transforms and loads the run's day (the same idempotent steps as ``idempotent_etl``, in one
task: a month's backfill is 31 task instances, not 93). Backfill it with ``airflow backfill create --dag-id
backfillable_etl --from-date 2024-03-01 --to-date 2024-03-31`` (the guide's ``airflow dags backfill`` is Airflow 2's
command) or ``AirflowClient.create_backfill``; the scheduler runs at most the *backfill's* ``max_active_runs`` days at
once (it overrides the DAG's 3).
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import dag, task

from pipeline_patterns.orchestration.lesson_schedule import daily_in_march_2024


@dag(
    dag_id="backfillable_etl",
    max_active_runs=3,
    default_args={"retries": 1, "retry_delay": timedelta(seconds=1)},
    **daily_in_march_2024("l15", "l15_sales"),
    tags=["kit", "lesson15"],
)
def backfillable_etl():
    @task
    def process(params=None, data_interval_start=None, data_interval_end=None, run_id=None) -> int:
        """One day, start to end; rerunning it replaces the day in one transaction."""
        from pipeline_patterns.orchestration.idempotent_etl import process_day

        return process_day(params["schema"], data_interval_start, data_interval_end, run_id)

    process()


backfillable_etl()
