"""Lesson 17: the capstone's daily side, beside the running stream.

``mark_source >> stream_caught_up >> daily_close >> maintain_lake`` for one day of the shop's orders
(January 2024, the days lesson 13's workload orders on):

* ``mark_source`` reads the payments topic's end offsets and writes a marker at the source;
  ``stream_caught_up`` (a sensor) waits until the stream's serving ledger has recorded a source commit at least
  as new and has consumed the payments up to those offsets: everything committed and paid before the close
  went through the stream first.
* ``daily_close`` recomputes the day's gold in batch from silver (a Spark session in the task's process) and
  replaces it in ``<serving>_daily_close`` in one transaction; ``hold`` opens the lesson's kill window inside
  that transaction, between its DELETE and its INSERT.
* ``maintain_lake`` compacts bronze (``OPTIMIZE``) and vacuums every table behind the retention guard.

``lake``, ``schema``, ``serving_table`` and ``payments_topic`` name the capstone run (the run's conf). The code lives in
``pipeline_patterns.capstone.barrier`` and ``.maintenance``, imported inside the tasks so that parsing this file
stays fast (and the first two tasks never import Spark).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import Param, PokeReturnValue, dag, task
from airflow.timetables.interval import CronDataIntervalTimetable


@dag(
    dag_id="capstone_daily",
    schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),
    start_date=datetime(2024, 1, 15, tzinfo=UTC),
    end_date=datetime(2024, 1, 30, tzinfo=UTC),
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(seconds=1)},
    params={
        "lake": Param("/the/capstone/run/lake", type="string", pattern=r"^/"),  # the running pipeline's lake folder
        "schema": Param("shop_x", type="string", pattern=r"^shop_[a-z0-9_]{1,40}$"),
        "serving_table": Param("revenue_daily_x", type="string", pattern=r"^revenue_daily_[a-z0-9_]{1,40}$"),
        "payments_topic": Param("payments_x", type="string", pattern=r"^payments_[a-z0-9_]{1,40}$"),
        "vacuum_hours": Param(168.0, type="number"),
        "hold": Param(None, type=["null", "object"]),
    },
    tags=["kit", "lesson17"],
)
def capstone_daily():
    @task
    def mark_source(run_id=None, params=None) -> dict:
        from pipeline_patterns.capstone import barrier

        return barrier.mark_source(run_id, params["payments_topic"])

    @task.sensor(poke_interval=1, timeout=1800, mode="poke")
    def stream_caught_up(mark: dict, params=None) -> PokeReturnValue:
        from pipeline_patterns.capstone import barrier

        progress = barrier.stream_has_applied(params["serving_table"], params["lake"], mark)
        return PokeReturnValue(is_done=progress is not None, xcom_value=progress)

    @task
    def daily_close(progress_ms: int, params=None, data_interval_start=None, data_interval_end=None, ti=None) -> dict:

        from pipeline_patterns.capstone import maintenance
        from pipeline_patterns.orchestration.idempotent_etl import day_of
        from pipeline_patterns.orchestration.kill_window import hold_here

        day = day_of(data_interval_start, data_interval_end)
        with maintenance.lake_session("airflow-capstone-daily-close", params["lake"]) as (spark, lake):
            close = maintenance.close_day(spark, lake, params["schema"], params["serving_table"], day,
                                          hold=lambda: hold_here(params["hold"], ti.try_number))
        return {"day": close.day.isoformat(), "rows": close.rows, "revenue": close.revenue,
                "silver_version": close.silver_version, "stream_progress_ms": progress_ms}

    @task
    def maintain_lake(params=None) -> dict:
        from pipeline_patterns.capstone import maintenance

        with maintenance.lake_session("airflow-capstone-maintenance", params["lake"]) as (spark, lake):
            return maintenance.maintain(spark, lake, params["vacuum_hours"])

    daily_close(stream_caught_up(mark_source())) >> maintain_lake()


capstone_daily()
