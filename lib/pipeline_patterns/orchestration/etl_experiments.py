"""Lesson 15's runs, each executed by the real scheduler through the REST API, and what an independent reader saw.

* :func:`run_days`: trigger runs for given days (with whole-day data intervals) and wait for all of them;
* :func:`load_under_kill`: re-load a day that is already in the target while a reader queries the target in a loop,
  park the load between its DELETE and its INSERT, ``kill -9`` the task there, and let Airflow's retry finish it —
  with the guide's two statements or with one transaction;
* :func:`backfill`: ``backfill create`` over a range, run by the scheduler with ``max_active_runs``; its task
  instances, from which :func:`max_concurrent` reads how many ran at once.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from pipeline_patterns.ingestion.bulk.checks import TableReader
from pipeline_patterns.orchestration.airflow_api import AirflowClient, DagRun, TaskRun
from pipeline_patterns.orchestration.kill_window import KillWindow


def midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC)


def trigger_day(client: AirflowClient, dag_id: str, day: date, conf: dict, label: str) -> DagRun:
    """A manual run of ``dag_id`` for ``day``, with the day as its data interval (``label`` starts its run id)."""
    start = midnight(day)
    return client.trigger(dag_id, start, (start, start + timedelta(days=1)), conf=conf,
                          run_id=f"{label}__{day.isoformat()}__{uuid.uuid4().hex[:6]}")


def run_days(client: AirflowClient, dag_id: str, days: Iterable[date], conf: dict, label: str,
             timeout_s: float = 180.0) -> list[DagRun]:
    """Trigger a run per day (side by side, up to the DAG's ``max_active_runs``) and wait until all finished."""
    runs = [trigger_day(client, dag_id, day, conf, label) for day in days]
    return client.wait_for_runs(dag_id, [r.run_id for r in runs], timeout_s)


@dataclass(frozen=True)
class KilledLoad:
    """One re-load of a day with a ``kill -9`` between DELETE and INSERT, as the reader saw it."""

    load: str  # "two_statements" (the guide's) or "one_transaction"
    expected: tuple[int, int]  # (rows, revenue) of the whole target before and after
    while_parked: tuple[int, int]  # what the reader saw while the killed task sat between its statements
    after_kill: tuple[int, int]  # and after the kill, before the retry
    reads: int
    wrong_reads: int  # answers that were not ``expected``: rows vanished or half loaded
    run_state: str
    load_tries: int
    killed_pid: int
    counts: list[int]  # the rows the reader counted, query by query


def load_under_kill(client: AirflowClient, dag_id: str, schema: str, day: date, load: str,
                    timeout_s: float = 120.0) -> KilledLoad:
    """Re-load ``day`` (already loaded) with ``load``, killing the first try between its two statements."""
    # A query every few milliseconds, as a busy dashboard: a reader back to back would take a core from Airflow.
    with TableReader("daily_revenue", "revenue_cents", schema=schema, pause_s=0.005) as reader:
        expected = reader.look("before")
        with KillWindow(timeout_s) as window:
            run = trigger_day(client, dag_id, day, {"schema": schema, "load": load, "hold": window.conf},
                              f"kill_{load}")
            window.wait_parked()
            while_parked = reader.look("parked between DELETE and INSERT")
            pid = window.kill()
            # The task is dead; until Airflow retries it, the target is what the kill left.
            after_kill = reader.look("killed, before the retry")
        finished = client.wait_for_runs(dag_id, [run.run_id], timeout_s)[0]
        reader.look("after the retry")
    tries = max(t.try_number for t in client.task_instances(dag_id, run.run_id) if t.task_id == "load")
    seen = reader.seen()
    return KilledLoad(load, expected, while_parked, after_kill, len(seen), sum(a != expected for a in seen),
                      finished.state, tries, pid, [rows for rows, _ in seen])


@dataclass(frozen=True)
class Backfill:
    """A backfill's runs, their task instances and the seconds from its creation until its last run finished."""

    runs: list[DagRun]
    tasks: list[tuple[DagRun, TaskRun]]
    seconds: float


def start_backfill(client: AirflowClient, dag_id: str, first: date, last: date, conf: dict, max_active_runs: int,
                   reprocess: str = "none") -> dict:
    """``backfill create`` from ``first`` to ``last`` (inclusive); the scheduler runs it while the caller goes on."""
    created = client.create_backfill(dag_id, midnight(first), midnight(last), reprocess=reprocess,
                                     max_active_runs=max_active_runs, conf=conf)
    return {**created, "monotonic_start": time.monotonic()}


def finish_backfill(client: AirflowClient, created: dict, timeout_s: float = 300.0) -> Backfill:
    """Wait until every run of a backfill has finished; its runs (this backfill's) and their task instances."""
    runs = client.wait_for_backfill(created, timeout_s)
    seconds = time.monotonic() - created["monotonic_start"]
    mine = [r for r in runs if r.run_type == "backfill" and r.start_date
            and r.start_date >= datetime.fromisoformat(created["created_at"])]
    tasks = [(r, t) for r in mine for t in client.task_instances(created["dag_id"], r.run_id)]
    return Backfill(mine, tasks, round(seconds, 1))


def backfill(client: AirflowClient, dag_id: str, first: date, last: date, conf: dict, max_active_runs: int,
             reprocess: str = "none", timeout_s: float = 300.0) -> Backfill:
    """``backfill create`` from ``first`` to ``last`` (inclusive) and wait until the scheduler completed it."""
    return finish_backfill(client, start_backfill(client, dag_id, first, last, conf, max_active_runs, reprocess),
                           timeout_s)


def max_concurrent(intervals: Sequence[tuple[datetime, datetime]]) -> int:
    """The most intervals open at one instant (an end at the same instant as a start does not overlap it)."""
    edges = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals],
                   key=lambda e: (e[0], e[1]))
    now = peak = 0
    for _, step in edges:
        now += step
        peak = max(peak, now)
    return peak


def runs_at_once(runs: Sequence[DagRun]) -> int:
    """How many of these runs were running at the same time, from their start and end dates."""
    return max_concurrent([(r.start_date, r.end_date) for r in runs if r.start_date and r.end_date])
