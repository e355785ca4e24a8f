"""Lesson 15: Airflow runs a Spark job per day, idempotent per date (the Delta partition of the run's day is replaced).

One task, ``spark_job``, starts a local Spark session in the task's process, aggregates the day's sales from
PostgreSQL (lesson 15's schema, from the run's conf) into a Delta table under the lake, and returns the day's row
count, checksum and Delta version (a few bytes of XCom). Same timetable and window as ``idempotent_etl``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk import Param, dag, task
from airflow.timetables.interval import CronDataIntervalTimetable


@dag(
    dag_id="spark_daily_revenue",
    schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),
    start_date=datetime(2024, 3, 1, tzinfo=UTC),
    end_date=datetime(2024, 3, 31, tzinfo=UTC),
    max_active_runs=1,
    params={"schema": Param("l15_sales", type="string", pattern=r"^l15_[a-z0-9_]{1,40}$")},
    tags=["kit", "lesson15", "spark"],
)
def spark_daily_revenue():
    @task
    def spark_job(params=None, data_interval_start=None, data_interval_end=None) -> dict:
        from pipeline_patterns.orchestration.idempotent_etl import day_of
        from pipeline_patterns.orchestration.spark_daily import daily_revenue_to_delta

        return daily_revenue_to_delta(params["schema"], day_of(data_interval_start, data_interval_end))

    spark_job()


spark_daily_revenue()
