"""Lesson 16's runs of ``complex_pipeline`` four ways, against the real scheduler, and what each sensor did.

:func:`sensor_race` triggers the four downstream DAGs for one day before the upstream has run, waits until every
sensor is waiting — and, in the reschedule DAG, until ``other_work`` (which needs the sensor's one-slot pool) has
finished — notes the state of the poke DAG's ``other_work`` at that moment, then triggers the upstream and waits
for everything, the Asset-scheduled DAG's run included. No sleeps: each step polls the REST API with a deadline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from pipeline_patterns.orchestration.airflow_api import AirflowApiError, AirflowClient, DagRun, TaskRun
from pipeline_patterns.orchestration.etl_experiments import trigger_day
from pipeline_patterns.orchestration.shop_pipeline import UPSTREAM_DAG
from pipeline_patterns.poll import wait_until

SENSOR = "wait_for_source_etl"
DOWNSTREAM = ("complex_pipeline_poke", "complex_pipeline_reschedule", "complex_pipeline_wrong_delta",
              "complex_pipeline")
ASSET_DAG = "shop_reporting_on_asset"
POOLS = ("lesson16_poke_slot", "lesson16_reschedule_slot")
WAITING = {"complex_pipeline_poke": "running", "complex_pipeline_reschedule": "up_for_reschedule",
           "complex_pipeline": "deferred"}
"""The state each sensor waits in (the wrong-delta sensor pokes until its 8 s timeout, whenever that falls)."""


def ensure_pools(client: AirflowClient, slots: int = 1) -> None:
    """The one-slot pools the poke and reschedule DAGs put their sensor and ``other_work`` in."""
    for name in POOLS:
        try:
            client.call("PATCH", f"/pools/{name}", json={"name": name, "slots": slots, "include_deferred": False})
        except AirflowApiError as exc:
            if ": 404 " not in str(exc):
                raise
            client.call("POST", "/pools", json={"name": name, "slots": slots, "description": "lesson 16",
                                                "include_deferred": False})


@dataclass(frozen=True)
class SensorRace:
    runs: dict[str, DagRun]  # dag id -> its finished run (the upstream's and the Asset-triggered one's too)
    tasks: dict[str, dict[str, TaskRun]]  # dag id -> task id -> task instance
    sensor_states_while_waiting: dict[str, str]
    poke_other_work_while_waiting: str | None  # the poke DAG's other_work's state while its sensor waited
    upstream_triggered_at: datetime
    sensor_first_start: dict[str, datetime]  # dag id -> when its sensor first started (its first poke)


def _ti(client: AirflowClient, run: DagRun, task_id: str) -> TaskRun | None:
    return next((t for t in client.task_instances(run.dag_id, run.run_id) if t.task_id == task_id), None)


def sensor_race(client: AirflowClient, schema: str, day: date, timeout_s: float = 120.0) -> SensorRace:
    conf = {"schema": schema}
    asset_runs_before = {r.run_id for r in client.dag_runs(ASSET_DAG)}
    runs = {dag_id: trigger_day(client, dag_id, day, conf, "race") for dag_id in DOWNSTREAM}

    first_start: dict[str, datetime] = {}

    def all_waiting() -> dict[str, str] | None:
        sensors = {d: _ti(client, r, SENSOR) for d, r in runs.items()}
        for d, ti in sensors.items():
            if ti is not None and ti.start_date is not None:
                first_start[d] = min(first_start.get(d, ti.start_date), ti.start_date)
        states: dict[str, str] = {d: str(getattr(ti, "state", None)) for d, ti in sensors.items()}
        other = _ti(client, runs["complex_pipeline_reschedule"], "other_work")
        ready = all(states[d] == WAITING[d] for d in WAITING) and other is not None and other.state == "success"
        return states if ready else None

    waiting = wait_until(all_waiting, timeout_s, "every sensor to wait and the reschedule DAG's other_work to run",
                         0.5)
    poke_other = _ti(client, runs["complex_pipeline_poke"], "other_work")
    upstream = trigger_day(client, UPSTREAM_DAG, day, conf, "race")
    triggered_at = datetime.now().astimezone()
    finished = {r.dag_id: r for r in client.wait_for_runs(UPSTREAM_DAG, [upstream.run_id], timeout_s)}
    for dag_id, run in runs.items():
        finished[dag_id] = client.wait_for_runs(dag_id, [run.run_id], timeout_s)[0]

    def asset_run() -> DagRun | None:
        new = [r for r in client.dag_runs(ASSET_DAG) if r.run_id not in asset_runs_before]
        return new[0] if new and new[0].state in ("success", "failed") else None

    finished[ASSET_DAG] = wait_until(asset_run, timeout_s, f"the run of {ASSET_DAG} the Asset event triggers", 0.5)
    tasks = {d: {t.task_id: t for t in client.task_instances(d, r.run_id)} for d, r in finished.items()}
    return SensorRace(finished, tasks, waiting, poke_other.state if poke_other else None, triggered_at, first_start)


def timelines(race: SensorRace) -> dict[str, list[tuple[str, datetime, datetime]]]:
    """Per downstream DAG: (task, start, end) of its sensor and ``other_work``, for the lesson's chart."""
    out = {}
    for dag_id in WAITING:
        bars = []
        for task_id in (SENSOR, "other_work", "load"):
            ti = race.tasks[dag_id].get(task_id)
            if ti and ti.start_date and ti.end_date:
                bars.append((task_id, ti.start_date, ti.end_date))
        out[f"{dag_id} (sensor: {WAITING[dag_id]} while waiting)"] = bars
    return out
