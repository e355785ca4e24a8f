"""Lesson 15's ETL DAGs on the real scheduler, through the REST API: a cleared run changes no data, a backfill
loads every day within ``max_active_runs`` and a reprocessing one rewrites them all to the same checksum, and a
``kill -9`` between DELETE and INSERT empties the day for readers with the guide's two statements, never with one
transaction.

Each test owns a schema ``l15_<unique>`` with a few days of seeded sales (dropped afterwards, with its staged
files). Airflow allows one run per logical date and DAG, and the module starts both DAGs without runs, so every
test works on its own days of March 2024 (the DAGs end on 2024-03-31):

* ``idempotent_etl``: 03-10 (rerun), 03-20 (guide's load killed), 03-23 (one transaction killed);
* ``backfillable_etl``: 03-01..03-05 (backfill), 03-20..03-21 and 03-22..03-23 (the days the kills re-load).
"""

from __future__ import annotations

import shutil
from datetime import date, timedelta

import pytest
from psycopg import sql

from pipeline_patterns import postgres
from pipeline_patterns.orchestration import etl_experiments as ex
from pipeline_patterns.orchestration import idempotent_etl, lesson_airflow, sales_source
from pipeline_patterns.orchestration.sales_source import SalesSpec

pytestmark = [pytest.mark.integration, pytest.mark.orchestration]
ETL, BACKFILL = "idempotent_etl", "backfillable_etl"


def small(first_day: date, days: int) -> SalesSpec:
    return SalesSpec(first_day=first_day, days=days, customers=20, sales_per_day=50)


@pytest.fixture(scope="module")
def client(airflow):
    """A client once both DAGs are parsed, unpaused and without runs; their paused flags are put back afterwards."""
    from pipeline_patterns.orchestration.airflow_api import AirflowClient

    probe = AirflowClient()
    paused = {dag: probe.wait_for_dag(dag)["is_paused"] for dag in (ETL, BACKFILL)}
    ready = lesson_airflow.ready([ETL, BACKFILL], echo=lambda _: None, fresh=True)
    yield ready
    for dag, was_paused in paused.items():
        ready.set_paused(dag, was_paused)


@pytest.fixture
def source(unique):
    """Makes this test's schema from a spec (once); drops it and its staged files afterwards."""
    schema = f"l15_{unique}"
    made = []

    def make(spec: SalesSpec) -> str:
        sales_source.create(schema, spec)
        made.append(schema)
        return schema

    try:
        yield make
    finally:
        for name in made:
            sales_source.drop(name)
            shutil.rmtree(idempotent_etl.staging_dir(name), ignore_errors=True)


def load_days(client, schema: str, first: date, last: date) -> ex.Backfill:
    """Load ``first`` .. ``last`` into the target with a backfill of ``backfillable_etl``."""
    done = ex.backfill(client, BACKFILL, first, last, {"schema": schema}, max_active_runs=2)
    assert {r.state for r in done.runs} == {"success"} and len(done.runs) == (last - first).days + 1
    return done


def test_a_cleared_run_reruns_every_task_and_leaves_the_day_and_checksum_unchanged(client, source):
    spec = small(date(2024, 3, 9), days=3)
    schema = source(spec)
    day = date(2024, 3, 10)
    run = ex.trigger_day(client, ETL, day, {"schema": schema}, "test_rerun")
    [done] = client.wait_for_runs(ETL, [run.run_id])
    assert done.state == "success"
    assert sales_source.target_rows(schema) == sales_source.reference(schema, day, day + timedelta(days=1))
    before = sales_source.checksum(schema)

    client.clear_run(ETL, run.run_id)
    [again] = client.wait_for_runs(ETL, [run.run_id])
    tries = {t.task_id: t.try_number for t in client.task_instances(ETL, run.run_id)}
    assert again.state == "success"
    assert tries == {"extract": 2, "transform": 2, "load": 2}
    assert sales_source.checksum(schema) == before
    assert sales_source.target_rows(schema) == sales_source.reference(schema, day, day + timedelta(days=1))


def test_a_backfill_loads_every_day_within_max_active_runs_and_a_reprocessing_one_changes_no_checksum(
        client, source):
    spec = small(date(2024, 3, 1), days=5)
    schema = source(spec)
    first, last = spec.first_day, spec.end - timedelta(days=1)
    reference = sales_source.reference(schema, spec.first_day, spec.end)

    month = load_days(client, schema, first, last)
    assert sorted(r.data_interval_start.date() for r in month.runs) == [first + timedelta(days=i) for i in range(5)]
    assert ex.runs_at_once(month.runs) <= 2
    assert sales_source.target_rows(schema) == reference
    before = sales_source.checksum(schema)

    # A reprocessing backfill reruns the same runs (same run ids): mark every row, so that a day it did not
    # rewrite would keep the mark in ``loaded_by`` (which the checksum leaves out).
    with postgres.connect(autocommit=True) as conn:
        conn.execute(sql.SQL("UPDATE {} SET loaded_by = 'before the reprocessing backfill'").format(
            sql.Identifier(schema, "daily_revenue")))
    again = ex.backfill(client, BACKFILL, first, last, {"schema": schema}, max_active_runs=2, reprocess="completed")
    assert len(again.runs) == 5 and {r.state for r in again.runs} == {"success"}
    assert {t.try_number for _, t in again.tasks} == {2}
    assert sales_source.checksum(schema) == before
    assert sales_source.target_rows(schema) == reference
    assert sales_source.loaded_by(schema) == {r.data_interval_start.date(): r.run_id for r in again.runs}


def test_a_kill_between_the_guides_two_statements_leaves_the_day_missing_until_the_retry(client, source):
    spec = small(date(2024, 3, 20), days=2)
    schema = source(spec)
    load_days(client, schema, spec.first_day, spec.end - timedelta(days=1))
    reference = sales_source.reference(schema, spec.first_day, spec.end)
    day = date(2024, 3, 20)
    day_rows = sum(1 for r in reference if r[0] == day)

    guide = ex.load_under_kill(client, ETL, schema, day, "two_statements")
    assert guide.expected[0] == len(reference) and day_rows > 0
    assert guide.while_parked[0] == guide.after_kill[0] == guide.expected[0] - day_rows
    assert guide.wrong_reads > 0
    assert (guide.load_tries, guide.run_state) == (2, "success")
    assert sales_source.target_rows(schema) == reference  # the retry loaded the day again


def test_a_kill_inside_one_transaction_is_never_seen_by_a_reader(client, source):
    spec = small(date(2024, 3, 22), days=2)
    schema = source(spec)
    load_days(client, schema, spec.first_day, spec.end - timedelta(days=1))
    reference = sales_source.reference(schema, spec.first_day, spec.end)
    day = date(2024, 3, 23)

    kit = ex.load_under_kill(client, ETL, schema, day, "one_transaction")
    assert kit.expected[0] == len(reference)
    assert kit.wrong_reads == 0 and kit.reads > 0
    assert kit.while_parked == kit.after_kill == kit.expected
    assert (kit.load_tries, kit.run_state) == (2, "success")
    assert sales_source.target_rows(schema) == reference
