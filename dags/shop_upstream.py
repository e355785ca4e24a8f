"""Lesson 16's upstream (the guide's ``source_etl_dag``): lands a day of shop data, then ``final_task`` marks it done.

``final_task`` produces the Asset ``lesson16_shop_orders`` (with the schema and day in the event's extra), which
``shop_reporting_on_asset`` is scheduled on; the ``complex_pipeline*`` DAGs wait for ``final_task`` with an
``ExternalTaskSensor`` instead. Runs are triggered by the lesson (``end_date`` in the past: no scheduled runs).
"""

from __future__ import annotations

from airflow.sdk import Asset, dag, task

from pipeline_patterns.orchestration.lesson_schedule import daily_in_march_2024

ORDERS = Asset("lesson16_shop_orders")


@dag(dag_id="shop_upstream", **daily_in_march_2024("l16", "l16_shop"), tags=["kit", "lesson16"])
def shop_upstream():
    @task
    def land(params=None, data_interval_start=None) -> dict:
        from pipeline_patterns.orchestration import shop_pipeline

        return shop_pipeline.land_day(params["schema"], data_interval_start.date())

    @task(outlets=[ORDERS])
    def final_task(figures: dict, params=None, data_interval_start=None, outlet_events=None) -> dict:
        outlet_events[ORDERS].extra = {"schema": params["schema"], "day": data_interval_start.date().isoformat()}
        return figures

    final_task(land())


shop_upstream()
