"""Lesson 15: the guide's ``idempotent_etl`` for Airflow 3, one day of sales per run.

``extract >> transform >> load`` over the run's data interval (one UTC day). The tasks pass file paths, not rows
(``pass_rows`` turns the guide's way back on, to show what lands in XCom); ``load`` replaces the day in one
transaction (``load: two_statements`` runs the guide's DELETE-then-INSERT instead). ``schema`` keeps each lesson
run's tables apart; ``hold`` opens the lesson's kill window. The source is March 2024: ``end_date`` keeps the
scheduler from creating runs for later days, and ``catchup`` is left at Airflow 3's default (False), so only
backfills and triggered runs exist. The task code lives in ``pipeline_patterns.orchestration``; it is imported
inside the tasks so that parsing this file stays fast.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import Param, dag, task

from pipeline_patterns.orchestration.lesson_schedule import daily_in_march_2024


@dag(
    dag_id="idempotent_etl",
    max_active_runs=3,
    default_args={"retries": 1, "retry_delay": timedelta(seconds=1)},
    **daily_in_march_2024(
        "l15", "l15_sales",
        load=Param("one_transaction", enum=["one_transaction", "two_statements"]),
        pass_rows=Param(False, type="boolean"),
        hold=Param(None, type=["null", "object"]),
    ),
    tags=["kit", "lesson15"],
)
def idempotent_etl():
    @task
    def extract(params=None, data_interval_start=None, data_interval_end=None):
        """The interval's sales: a staged file's path (or, with ``pass_rows``, the rows themselves)."""
        from pipeline_patterns.orchestration import guide_etl, idempotent_etl

        idempotent_etl.day_of(data_interval_start, data_interval_end)
        if params["pass_rows"]:
            return guide_etl.extract_rows(params["schema"], data_interval_start, data_interval_end)
        return idempotent_etl.extract(params["schema"], data_interval_start, data_interval_end)

    @task
    def transform(staged):
        """Per-customer totals of the day (staged next to the sales, or returned as rows)."""
        from pipeline_patterns.orchestration import idempotent_etl

        if isinstance(staged, list):
            return [list(t) for t in idempotent_etl.totals([tuple(r) for r in staged])]
        return idempotent_etl.transform(staged)

    @task
    def load(totals, params=None, data_interval_start=None, data_interval_end=None, run_id=None, ti=None):
        """Replace the day in the target: one transaction, or the guide's two statements."""
        from pipeline_patterns.orchestration import guide_etl, idempotent_etl

        day = idempotent_etl.day_of(data_interval_start, data_interval_end)
        if params["load"] == "two_statements":
            rows = [tuple(t) for t in totals] if isinstance(totals, list) else idempotent_etl.read_totals(totals)
            return guide_etl.load_in_two_statements(params["schema"], day, rows, run_id, params["hold"],
                                                    ti.try_number)
        return idempotent_etl.load(params["schema"], day, totals, run_id, params["hold"], ti.try_number)

    load(transform(extract()))


idempotent_etl()
