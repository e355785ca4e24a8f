"""Lesson 17's daily close on the real Airflow, its task ``kill -9``-ed inside its transaction.

:func:`close_with_a_kill` triggers ``capstone_daily`` (``dags/capstone_daily.py``) for one day while the stream
runs and the source stands still (the chaos run calls it between two chunks of the workload). The task parks in
lesson 15's kill window, between its DELETE and its INSERT, and is killed from outside; Airflow retries it.
The day's reference is computed from the source at that moment, so the close can be checked exactly.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import psycopg

from pipeline_patterns.capstone import reference, serving
from pipeline_patterns.capstone.experiments import CapstoneRun
from pipeline_patterns.orchestration.airflow_api import AirflowClient
from pipeline_patterns.orchestration.kill_window import KillWindow

DAG_ID = "capstone_daily"


@dataclass(frozen=True)
class Close:
    day: date
    expected: dict[tuple[int, date], tuple]  # the reference of the day when the close began
    state: str                               # the DAG run's final state
    tries: int                               # of the daily_close task (2: killed once, retried once)
    result: dict                             # what daily_close returned
    upkeep: dict                             # what maintain_lake returned
    killed_at: float                         # time.monotonic() of the kill


def busiest_day(conn: psycopg.Connection, schema: str, skip: set[date]) -> date:
    """The day with the most live orders at the source, among the days not in ``skip``."""
    days = Counter(o.day for o in reference.source_orders(conn, schema) if o.day not in skip)
    if not days:
        raise LookupError(f"expected live orders on a day not closed yet ({sorted(skip)}), found none")
    return max(days, key=lambda d: (days[d], d))


def close_with_a_kill(client: AirflowClient, run: CapstoneRun, conn: psycopg.Connection, lake: Path,
                      day: date, timeout_s: float = 300.0) -> Close:
    """Close ``day`` through Airflow; kill its task once, inside its transaction; wait for the run to finish."""
    import time as clock

    expected = {k: v for k, v in reference.gold(reference.source_orders(conn, run.capture.schema),
                                                 run.payments).items() if k[1] == day}
    start = datetime.combine(day, time.min, tzinfo=UTC)
    with KillWindow(timeout_s=timeout_s) as window:
        dag_run = client.trigger(DAG_ID, logical_date=start, data_interval=(start, start + timedelta(days=1)),
                                 conf={"lake": str(lake), "schema": run.capture.schema,
                                       "serving_table": run.serving_table, "hold": window.conf})
        window.kill()
        killed_at = clock.monotonic()
    [done] = client.wait_for_runs(DAG_ID, [dag_run.run_id], timeout_s=timeout_s)
    tries = {t.task_id: t.try_number for t in client.task_instances(DAG_ID, dag_run.run_id)}
    return Close(day, expected, done.state, tries.get("daily_close", 0),
                 client.xcom(DAG_ID, dag_run.run_id, "daily_close") or {},
                 client.xcom(DAG_ID, dag_run.run_id, "maintain_lake") or {}, killed_at)


def closed_rows(run: CapstoneRun, day: date) -> dict[tuple[int, date], tuple]:
    """The daily close table's rows of ``day`` (empty if the table does not exist yet)."""
    try:
        rows = serving.read(serving.close_table(run.serving_table))
    except psycopg.errors.UndefinedTable:
        return {}
    return {k: v for k, v in rows.items() if k[1] == day}
