"""Lesson 16, the Airflow 3 way to depend on another DAG: scheduled on the Asset the upstream produces.

No sensor and no date arithmetic: each time ``shop_upstream.final_task`` succeeds, it emits an event for the Asset
``lesson16_shop_orders`` and the scheduler creates a run of this DAG (run type ``asset_triggered``); the task reads
the schema and day from the triggering event's extra.
"""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk import Asset, dag, task

ORDERS = Asset("lesson16_shop_orders")


@dag(dag_id="shop_reporting_on_asset", schedule=[ORDERS], start_date=datetime(2024, 3, 1, tzinfo=UTC),
     tags=["kit", "lesson16"])
def shop_reporting_on_asset():
    @task
    def report(triggering_asset_events=None, run_id=None) -> str:
        """Report the day of the newest event (older events that queued up name days reported since, or
        schemas a lesson has dropped)."""
        from datetime import date

        from pipeline_patterns.orchestration import shop_pipeline

        event = triggering_asset_events[ORDERS][-1]
        schema, day = event.extra["schema"], date.fromisoformat(event.extra["day"])
        orders = shop_pipeline.extract(schema, day, "orders")
        customers = shop_pipeline.extract(schema, day, "customers")
        shop_pipeline.load(schema, day, "shop_reporting_on_asset", round(orders * 25.0 / customers, 2), run_id)
        return f"{schema} {day}"

    report()


shop_reporting_on_asset()
