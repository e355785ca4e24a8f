"""Lesson 17's daily close on the real Airflow, its task ``kill -9``-ed inside its transaction.

:func:`close_with_a_kill` corrects an order of one day at the source while the stream is frozen, then triggers
``capstone_daily`` (``dags/capstone_daily.py``) for that day with the rest of the source standing still (the
chaos run calls it between two chunks of the workload). The close's sensor must be seen waiting on the frozen
stream; the stream is thawed; the close's task parks in lesson 15's kill window, between its DELETE and its
INSERT, and is killed from outside; Airflow retries it. The day's reference is computed from the source after
the correction, so the close can be checked exactly. The barrier itself is checked while the stream is frozen:
a sensor that succeeds then fails the run (the retried close reads silver after the thaw either way). The
workload may go on once the retry has written the day; :func:`finish` waits for the rest of the run
(``maintain_lake``) and collects what its tasks returned.
"""

from __future__ import annotations

import time as clock
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import psycopg
from psycopg import sql

from pipeline_patterns.capstone import reference, serving
from pipeline_patterns.capstone.experiments import CapstoneRun
from pipeline_patterns.orchestration.airflow_api import AirflowClient, TaskRun
from pipeline_patterns.orchestration.kill_window import KillWindow
from pipeline_patterns.poll import wait_until

DAG_ID = "capstone_daily"


@dataclass(frozen=True)
class Close:
    day: date
    expected: dict[tuple[int, date], tuple]  # the reference of the day when the close began
    run_id: str
    killed_at: float                         # time.monotonic() of the kill
    recovered_s: float                       # from the kill until the retried daily_close succeeded
    sensor_held_s: float = 0.0               # the sensor's wait while the stream was frozen (start to thaw)
    state: str = "running"                   # the DAG run's final state, once finished
    tries: int = 0                           # of the daily_close task (2: killed once, retried once)
    result: dict = field(default_factory=dict)  # what daily_close returned
    upkeep: dict = field(default_factory=dict)  # what maintain_lake returned


def busiest_day(conn: psycopg.Connection, schema: str, skip: set[date]) -> date:
    """The day with the most live orders at the source, among the days not in ``skip``."""
    days = Counter(o.day for o in reference.source_orders(conn, schema) if o.day not in skip)
    if not days:
        raise LookupError(f"expected live orders on a day not closed yet ({sorted(skip)}), found none")
    return max(days, key=lambda d: (days[d], d))


def correct_an_order(conn: psycopg.Connection, schema: str, day: date) -> int:
    """A late correction at the source: the first live order of ``day`` gets 1.00 more; its id."""
    row = conn.execute(sql.SQL("UPDATE {orders} SET total = total + 1 WHERE id = (SELECT min(id) FROM {orders} "
                               "WHERE (ordered_at AT TIME ZONE 'UTC')::date = %s) RETURNING id").format(
        orders=sql.Identifier(schema, "orders")), (day,)).fetchone()
    if row is None:
        raise LookupError(f"expected a live order on {day} in {schema}.orders, found none")
    conn.commit()
    return int(row[0])


def close_with_a_kill(client: AirflowClient, run: CapstoneRun, conn: psycopg.Connection, lake: Path,
                      day: date, thaw_stream: Callable[[], None], timeout_s: float = 900.0) -> Close:
    """Close ``day`` through Airflow while the stream is frozen and the day has just been corrected at the
    source; once the close's sensor is seen waiting, ``thaw_stream()``; kill the close's task once, inside its
    transaction; return when the retry has written the day (``maintain_lake`` may still run: :func:`finish`).
    """
    correct_an_order(conn, run.capture.schema, day)
    expected = {k: v for k, v in reference.gold(reference.source_orders(conn, run.capture.schema),
                                                 run.payments).items() if k[1] == day}
    start = datetime.combine(day, time.min, tzinfo=UTC)
    with KillWindow(timeout_s=timeout_s) as window:
        dag_run = client.trigger(DAG_ID, logical_date=start, data_interval=(start, start + timedelta(days=1)),
                                 conf={"lake": str(lake), "schema": run.capture.schema,
                                       "serving_table": run.serving_table, "payments_topic": run.payments_topic,
                                       "hold": window.conf})
        sensor = wait_until(lambda: _waiting_on_the_stream(client, dag_run.run_id), timeout_s,
                            "the close's sensor waiting on the frozen stream", 0.5)
        thaw_stream()
        thawed_wall = datetime.now(UTC)
        window.kill()
        killed_at, killed_wall = clock.monotonic(), datetime.now(UTC)

    def closed() -> TaskRun | None:
        task = _task(client, dag_run.run_id, "daily_close")
        if task is not None and task.state in ("failed", "upstream_failed"):
            raise RuntimeError(f"daily_close of {day} ended {task.state} after the kill (try {task.try_number}); "
                               f"see its log under var/airflow/logs/dag_id={DAG_ID}")
        return task if task is not None and task.state == "success" and task.end_date else None

    task = wait_until(closed, timeout_s, f"the retried daily_close of {day}", 0.5)
    assert task.end_date is not None and sensor.start_date is not None
    return Close(day, expected, dag_run.run_id, killed_at, (task.end_date - killed_wall).total_seconds(),
                 sensor_held_s=(thawed_wall - sensor.start_date).total_seconds())


def _task(client: AirflowClient, run_id: str, task_id: str) -> TaskRun | None:
    return next((t for t in client.task_instances(DAG_ID, run_id) if t.task_id == task_id), None)


def _waiting_on_the_stream(client: AirflowClient, run_id: str) -> TaskRun | None:
    """The sensor, once it has poked for 2 s without the close starting (the stream is frozen: it must wait)."""
    tasks = {t.task_id: t for t in client.task_instances(DAG_ID, run_id)}
    sensor, close = tasks.get("stream_caught_up"), tasks.get("daily_close")
    if sensor is not None and sensor.state == "success":
        raise AssertionError("the close's sensor succeeded while the stream was frozen: the barrier let it through")
    ended = {t.task_id: t.state for t in tasks.values() if t.state in ("failed", "upstream_failed")}
    if ended:
        raise RuntimeError(f"expected the close's first tasks to run and its sensor to wait, found {ended} in run "
                           f"{run_id}: see the task logs under var/airflow/logs/dag_id={DAG_ID}")
    running = sensor is not None and sensor.state == "running" and sensor.start_date is not None
    if not running or close is None or close.state not in (None, "none", "scheduled", "queued"):
        return None
    assert sensor is not None and sensor.start_date is not None
    return sensor if (datetime.now(UTC) - sensor.start_date).total_seconds() >= 2 else None


def finish(client: AirflowClient, close: Close, timeout_s: float = 300.0) -> Close:
    """The close once its DAG run has finished: the run's state, the task's tries and what the tasks returned."""
    [done] = client.wait_for_runs(DAG_ID, [close.run_id], timeout_s=timeout_s)
    tries = {t.task_id: t.try_number for t in client.task_instances(DAG_ID, close.run_id)}
    xcom = {task: client.xcom(DAG_ID, close.run_id, task) if done.state == "success" else None
            for task in ("daily_close", "maintain_lake")}
    return replace(close, state=done.state, tries=tries.get("daily_close", 0), result=xcom["daily_close"] or {},
                   upkeep=xcom["maintain_lake"] or {})


def closed_rows(run: CapstoneRun, day: date) -> dict[tuple[int, date], tuple]:
    """The daily close table's rows of ``day`` (empty if the table does not exist yet)."""
    try:
        rows = serving.read(serving.close_table(run.serving_table))
    except psycopg.errors.UndefinedTable:
        return {}
    return {k: v for k, v in rows.items() if k[1] == day}
