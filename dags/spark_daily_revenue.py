"""Lesson 15: Airflow runs a Spark job per day, idempotent per date (the Delta partition of the run's day is replaced).

One task, ``spark_job``, starts a local Spark session in the task's process, aggregates the day's sales from
PostgreSQL (lesson 15's schema, from the run's conf) into a Delta table under the lake, and returns the day's row
count, checksum and Delta version (a few bytes of XCom). Same timetable and window as ``idempotent_etl``.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from pipeline_patterns.orchestration.lesson_schedule import daily_in_march_2024


@dag(
    dag_id="spark_daily_revenue",
    max_active_runs=1,
    **daily_in_march_2024("l15", "l15_sales"),
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
