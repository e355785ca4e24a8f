"""Lesson 16: the guide's ``complex_pipeline`` for Airflow 3, four ways to wait for the upstream DAG.

Each DAG: ``wait_for_source_etl`` (an ``ExternalTaskSensor`` on ``shop_upstream.final_task``) >> TaskGroup
``extract`` (orders, customers, products side by side) >> TaskGroup ``transform`` (join_data >> aggregate) >> load.
They differ only in how the sensor waits:

* ``complex_pipeline_poke``: the guide's ``mode="poke"`` — the sensor holds its worker slot while it waits;
* ``complex_pipeline_reschedule``: ``mode="reschedule"`` — the slot is given back between pokes;
* ``complex_pipeline_wrong_delta``: an ``execution_delta`` that points at a run the upstream never has: it pokes
  until its (short) timeout and fails;
* ``complex_pipeline``: the fix, ``deferrable=True``: the wait moves to the triggerer, no worker slot at all.

The poke and reschedule DAGs also have ``other_work``, a task in the same one-slot pool as their sensor (pools
``lesson16_poke_slot`` and ``lesson16_reschedule_slot``, created by the lesson): it can only run while the
sensor does not hold the slot. Intervals are shortened for a lesson (the guide: 60 s pokes, one-hour timeout).
The reschedule sensor has one retry: Airflow 3.3.2 can fail a rescheduled sensor whose next poke was queued before
the scheduler had processed the previous poke's end ("finished with state success, but the task instance's state
attribute is queued"); a 5 s poke interval makes that rare and the retry covers it.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.providers.standard.sensors.external_task import ExternalTaskSensor
from airflow.sdk import TaskGroup, dag, task

from pipeline_patterns.orchestration.lesson_schedule import daily_in_march_2024

VARIANTS = {
    "complex_pipeline_poke": {"mode": "poke", "pool": "lesson16_poke_slot"},
    "complex_pipeline_reschedule": {"mode": "reschedule", "pool": "lesson16_reschedule_slot", "poke_interval": 5,
                                    "retries": 1},
    "complex_pipeline_wrong_delta": {"mode": "poke", "execution_delta": timedelta(hours=1), "timeout": 8},
    "complex_pipeline": {"deferrable": True},
}


def build(dag_id: str, variant: dict):
    pool = variant.get("pool")

    @dag(dag_id=dag_id, **daily_in_march_2024("l16", "l16_shop"),
         tags=["kit", "lesson16"])
    def pipeline():
        wait_for_source = ExternalTaskSensor(
            task_id="wait_for_source_etl", external_dag_id="shop_upstream", external_task_id="final_task",
            execution_delta=variant.get("execution_delta", timedelta(0)), timeout=variant.get("timeout", 120),
            mode=variant.get("mode", "poke"), poke_interval=variant.get("poke_interval", 2),
            deferrable=variant.get("deferrable", False), retries=variant.get("retries", 0),
            retry_delay=timedelta(seconds=1), priority_weight=10, **({"pool": pool} if pool else {}))

        with TaskGroup("extract") as extract_group:
            @task
            def extract_orders(params=None, data_interval_start=None) -> int:
                from pipeline_patterns.orchestration.shop_pipeline import extract
                return extract(params["schema"], data_interval_start.date(), "orders")

            @task
            def extract_customers(params=None, data_interval_start=None) -> int:
                from pipeline_patterns.orchestration.shop_pipeline import extract
                return extract(params["schema"], data_interval_start.date(), "customers")

            @task
            def extract_products(params=None, data_interval_start=None) -> int:
                from pipeline_patterns.orchestration.shop_pipeline import extract
                return extract(params["schema"], data_interval_start.date(), "products")

            orders, customers, products = extract_orders(), extract_customers(), extract_products()

        with TaskGroup("transform") as transform_group:
            @task
            def join_data(orders: int, customers: int, products: int) -> dict:
                return {"orders": orders, "customers": customers, "products": products}

            @task
            def aggregate(joined: dict) -> float:
                return round(joined["orders"] * 25.0 / joined["customers"], 2)

            figure = aggregate(join_data(orders, customers, products))

        @task
        def load(value: float, params=None, data_interval_start=None, run_id=None, dag=None) -> None:
            from pipeline_patterns.orchestration.shop_pipeline import load as load_row
            load_row(params["schema"], data_interval_start.date(), dag.dag_id, value, run_id)

        wait_for_source >> extract_group
        extract_group >> transform_group
        transform_group >> load(figure)

        if pool:
            @task(pool=pool, priority_weight=1)
            def other_work() -> str:
                """Any other task that needs the pool's one slot."""
                return "done"

            other_work()

    return pipeline()


for _dag_id, _variant in VARIANTS.items():
    globals()[_dag_id] = build(_dag_id, _variant)
