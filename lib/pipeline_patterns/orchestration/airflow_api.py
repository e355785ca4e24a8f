"""Airflow's REST API (v2) from a notebook or a test: trigger a DAG run, create a backfill, wait for
runs with a deadline, read task instances with their start and end times.

Guarantees: every call but the health check is authenticated (a token from ``/auth/token`` for the
admin of ``.env``, fetched again once when a call is refused as expired); an Airflow that does not
answer is :class:`AirflowNotUp`, naming the command that starts it; any other refusal is
:class:`AirflowApiError` with Airflow's own answer. Waits poll with a deadline, never a sleep, and
a wait for runs of a paused DAG fails at once (:class:`DagPaused`): in Airflow 3 neither a triggered
run nor a backfill's runs start while their DAG is paused, and new DAGs start paused.
Dates are timezone-aware ``datetime`` objects both ways (a naive one is refused).

Size: one REST client and the result types it returns (runs, task instances, its errors); split, the calls
would lose the login, the error translation and the paused-DAG check that every one of them shares.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import requests

from pipeline_patterns.config import Settings, get_settings
from pipeline_patterns.poll import wait_until

FINISHED = frozenset({"success", "failed"})  # a run in one of these states will not change by itself


class AirflowNotUp(RuntimeError):
    """Airflow's API server does not answer: it is not started, or still starting."""


class AirflowApiError(RuntimeError):
    """Airflow answered with a refusal (its status code and message are in the text)."""


class DagPaused(RuntimeError):
    """Runs were awaited of a paused DAG: they stay queued until it is unpaused."""


def _instant(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _iso(value: datetime, name: str) -> str:
    if value.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware (tzinfo=UTC); got the naive {value.isoformat()}")
    return value.isoformat()


@dataclass(frozen=True)
class DagRun:
    """One DAG run as the API reports it."""

    dag_id: str
    run_id: str
    state: str
    run_type: str
    logical_date: datetime | None
    data_interval_start: datetime | None
    data_interval_end: datetime | None
    start_date: datetime | None
    end_date: datetime | None

    @classmethod
    def from_api(cls, body: dict) -> DagRun:
        return cls(body["dag_id"], body["dag_run_id"], body["state"], body["run_type"], _instant(body["logical_date"]),
                   _instant(body["data_interval_start"]), _instant(body["data_interval_end"]),
                   _instant(body["start_date"]), _instant(body["end_date"]))


@dataclass(frozen=True)
class TaskRun:
    """One task instance of a DAG run: its state, attempt and when it started and ended."""

    task_id: str
    map_index: int
    state: str | None
    try_number: int
    start_date: datetime | None
    end_date: datetime | None

    @classmethod
    def from_api(cls, body: dict) -> TaskRun:
        return cls(body["task_id"], body["map_index"], body["state"], body["try_number"],
                   _instant(body["start_date"]), _instant(body["end_date"]))

    @property
    def seconds(self) -> float | None:
        """How long it ran (None until it has ended)."""
        if self.start_date is None or self.end_date is None:
            return None
        return (self.end_date - self.start_date).total_seconds()


class AirflowClient:
    """The REST API of the kit's Airflow (``AIRFLOW_API_PORT``), logged in as ``AIRFLOW_ADMIN_USER``."""

    def __init__(self, settings: Settings | None = None, timeout_s: float = 30.0) -> None:
        self.settings = settings or get_settings()
        self.url = self.settings.airflow_url
        self.timeout_s = timeout_s
        self.session = requests.Session()
        self._token: str | None = None

    def _send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        try:
            return self.session.request(method, f"{self.url}{path}", timeout=self.timeout_s, **kwargs)
        except requests.ConnectionError:
            raise AirflowNotUp(
                f"Airflow's API server does not answer at {self.url} (expected it there, found the connection "
                "refused): start it with `make up AIRFLOW=1` (`python -m pipeline_patterns stack up --airflow`); "
                "`make status` shows its processes."
            ) from None
        except requests.Timeout:
            raise AirflowNotUp(
                f"Airflow's API server at {self.url} took over {self.timeout_s:g} s to answer {method} {path}: is "
                "the machine overloaded, or a process paused (`make status`)?"
            ) from None

    def login(self) -> str:
        """A fresh token for the admin of ``.env`` (``POST /auth/token``)."""
        s = self.settings
        response = self._send("POST", "/auth/token", json={
            "username": s.airflow_admin_user, "password": s.airflow_secret("AIRFLOW_ADMIN_PASSWORD")})
        if response.status_code != 201:
            raise AirflowApiError(f"Airflow refused the login of {s.airflow_admin_user!r} with AIRFLOW_ADMIN_PASSWORD "
                                  f"from .env: {response.status_code} {response.text[:300]}")
        self._token = str(response.json()["access_token"])
        return self._token

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """``method path`` under ``/api/v2`` with the token; the decoded JSON answer."""
        response = self._authorized(method, path, **kwargs)
        if response.status_code == 401:  # the token expired: log in again, once
            self._token = None
            response = self._authorized(method, path, **kwargs)
        if response.status_code >= 400:
            raise AirflowApiError(f"Airflow refused {method} /api/v2{path}: {response.status_code} "
                                  f"{response.text[:500]}")
        return response.json() if response.content else None

    def _authorized(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        token = self._token or self.login()
        return self._send(method, f"/api/v2{path}", headers={"Authorization": f"Bearer {token}"}, **kwargs)

    def health(self) -> dict:
        """``/api/v2/monitor/health``: the metadata database, scheduler, triggerer and DAG processor."""
        response = self._send("GET", "/api/v2/monitor/health")
        response.raise_for_status()
        return response.json()

    def wait_for_dag(self, dag_id: str, timeout_s: float = 90.0) -> dict:
        """The DAG once the DAG processor has parsed it; a TimeoutError naming any import error otherwise."""

        def parsed() -> dict | None:
            try:
                return self.call("GET", f"/dags/{quote(dag_id, safe='')}")
            except AirflowApiError as exc:
                if ": 404 " in str(exc):
                    return None
                raise

        try:
            return wait_until(parsed, timeout_s, f"Airflow to parse DAG {dag_id!r} from dags/", 1.0)
        except TimeoutError as exc:
            errors = self.call("GET", "/importErrors").get("import_errors", [])
            details = "; ".join(f"{e['filename']}: {e['stack_trace'].strip().splitlines()[-1]}" for e in errors)
            raise TimeoutError(f"{exc}. Import errors: {details or 'none'}") from None

    def set_paused(self, dag_id: str, paused: bool) -> dict:
        return self.call("PATCH", f"/dags/{quote(dag_id, safe='')}", json={"is_paused": paused})

    def _fail_if_paused(self, dag_id: str, waiting: list[DagRun]) -> None:
        if self.call("GET", f"/dags/{quote(dag_id, safe='')}")["is_paused"]:
            raise DagPaused(f"{dag_id!r} is paused, so its runs stay queued ({len(waiting)} unfinished): "
                            f"unpause it first (set_paused({dag_id!r}, False), or the UI's toggle)")

    def trigger(self, dag_id: str, logical_date: datetime | None = None,
                data_interval: tuple[datetime, datetime] | None = None, conf: dict | None = None,
                run_id: str | None = None) -> DagRun:
        """Create a run of ``dag_id`` (a paused DAG's run waits until it is unpaused)."""
        body: dict[str, Any] = {"logical_date": _iso(logical_date, "logical_date") if logical_date else None,
                                "conf": conf or {}}
        if logical_date is not None and logical_date > datetime.now(UTC):
            raise ValueError(f"logical_date {logical_date.isoformat()} is in the future: Airflow 3 accepts such a run "
                             "but never starts it (its scheduler logs 'Logical date is in future' every loop)")
        if data_interval is not None:
            body["data_interval_start"] = _iso(data_interval[0], "data_interval start")
            body["data_interval_end"] = _iso(data_interval[1], "data_interval end")
        if run_id is not None:
            body["dag_run_id"] = run_id
        return DagRun.from_api(self.call("POST", f"/dags/{quote(dag_id, safe='')}/dagRuns", json=body))

    def create_backfill(self, dag_id: str, start: datetime, end: datetime, reprocess: str = "none",
                        max_active_runs: int = 1, conf: dict | None = None, timeout_s: float = 60.0) -> dict:
        """A backfill of ``dag_id``'s intervals from ``start`` to ``end``; the scheduler runs it.

        ``reprocess``: ``none`` (skip intervals that already have a run), ``failed`` or ``completed``. Airflow
        refuses a second backfill of a DAG while one is active, and marks a backfill complete on a 30 s timer after
        its last run: a backfill right after another waits (up to ``timeout_s``) for that mark.
        """
        body = {"dag_id": dag_id, "from_date": _iso(start, "start"), "to_date": _iso(end, "end"),
                "reprocess_behavior": reprocess, "max_active_runs": max_active_runs, "dag_run_conf": conf or {}}
        self.wait_for_no_active_backfill(dag_id, timeout_s)
        return self.call("POST", "/backfills", json=body)

    def wait_for_no_active_backfill(self, dag_id: str, timeout_s: float = 60.0) -> None:
        """Return once no backfill of ``dag_id`` is active (created and not marked complete)."""

        def none_active() -> bool:
            body = self.call("GET", "/backfills", params={"dag_id": dag_id, "limit": 100})
            return not [b for b in body["backfills"] if b["completed_at"] is None]

        wait_until(none_active, timeout_s, f"the active backfill of {dag_id!r} to be marked complete (the scheduler "
                   "does that every 30 s)", 1.0)

    def dag_runs(self, dag_id: str, run_type: str | None = None,
                 between: tuple[datetime, datetime] | None = None) -> list[DagRun]:
        """The runs of ``dag_id`` (of one type, logical date in ``between``), oldest first, every page of them."""
        params: dict[str, Any] = {"limit": 100, "order_by": "logical_date", "run_type": run_type}
        if between is not None:
            params.update(logical_date_gte=_iso(between[0], "from"), logical_date_lte=_iso(between[1], "to"))
        runs: list[DagRun] = []
        while True:
            body = self.call("GET", f"/dags/{quote(dag_id, safe='')}/dagRuns", params={**params, "offset": len(runs)})
            runs += [DagRun.from_api(run) for run in body["dag_runs"]]
            if not body["dag_runs"] or len(runs) >= body["total_entries"]:
                return runs

    def dag_run(self, dag_id: str, run_id: str) -> DagRun:
        return DagRun.from_api(self.call("GET", f"/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}"))

    def wait_for_runs(self, dag_id: str, run_ids: Iterable[str], timeout_s: float = 180.0) -> list[DagRun]:
        """The runs once every one has finished (success or failed), in the order given."""
        wanted = list(run_ids)
        latest: dict[str, DagRun] = {}

        def finished() -> list[DagRun] | None:
            for run_id in wanted:
                if run_id not in latest or latest[run_id].state not in FINISHED:
                    latest[run_id] = self.dag_run(dag_id, run_id)
            waiting = [latest[r] for r in wanted if latest[r].state not in FINISHED]
            if waiting:
                self._fail_if_paused(dag_id, waiting)
            return None if waiting else [latest[r] for r in wanted]

        try:
            return wait_until(finished, timeout_s, f"{len(wanted)} run(s) of {dag_id!r} to finish", 1.0)
        except TimeoutError as exc:
            states = ", ".join(f"{r}: {latest[r].state if r in latest else '?'}" for r in wanted)
            raise TimeoutError(f"{exc}; last states: {states}. Is the scheduler healthy (`make status`)?") from None

    def wait_for_backfill(self, backfill: dict, timeout_s: float = 300.0) -> list[DagRun]:
        """The runs of a backfill (from :meth:`create_backfill`) once every one has finished.

        Creating a backfill creates (or, reprocessing, re-queues) all its runs in the same request; the scheduler
        marks the backfill itself complete on a 30 s timer after its last run ended, so
        the runs are what is awaited. Runs the backfill skipped (``reprocess="none"``) are finished already.
        """
        between = (datetime.fromisoformat(backfill["from_date"]), datetime.fromisoformat(backfill["to_date"]))

        def finished() -> list[DagRun] | None:
            runs = self.dag_runs(backfill["dag_id"], "backfill", between)
            waiting = [r for r in runs if r.state not in FINISHED]
            if waiting:
                self._fail_if_paused(backfill["dag_id"], waiting)
                return None
            return runs or None

        return wait_until(finished, timeout_s, f"backfill {backfill['id']} of {backfill['dag_id']!r} to complete", 1.0)

    def task_instances(self, dag_id: str, run_id: str) -> list[TaskRun]:
        """The task instances of one run, with their state and start and end times."""
        body = self.call("GET", f"/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}/taskInstances",
                         params={"limit": 100})
        return [TaskRun.from_api(ti) for ti in body["task_instances"]]

    def clear_run(self, dag_id: str, run_id: str) -> DagRun:
        """Clear every task of one run, so that the scheduler runs it again (the UI's "Clear")."""
        self.call("POST", f"/dags/{quote(dag_id, safe='')}/clearTaskInstances", json={
            "dag_run_id": run_id, "dry_run": False, "only_failed": False, "reset_dag_runs": True})
        return self.dag_run(dag_id, run_id)

    def delete_runs(self, dag_id: str) -> int:
        """Delete every run of ``dag_id`` (a lesson starts from no history); how many there were.

        A run still going (left by an interrupted lesson or test) is marked failed first: Airflow refuses to
        delete a running run, and its tasks are stopped."""
        runs = self.dag_runs(dag_id)
        for run in runs:
            path = f"/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run.run_id, safe='')}"
            if run.state not in FINISHED:
                self.call("PATCH", path, json={"state": "failed"})
            self.call("DELETE", path)
        return len(runs)

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
        """The XCom a task pushed (its return value by default), as Airflow stored it."""
        body = self.call("GET", f"/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}/taskInstances/"
                                f"{quote(task_id, safe='')}/xcomEntries/{quote(key, safe='')}")
        return body["value"]

