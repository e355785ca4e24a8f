"""Airflow in the native stack, for real: ``stack up --airflow`` starts its four processes beside the
running stack, a DAG run and a backfill of ``dags/kit_example.py`` succeed through the REST API, nothing
answers without a login, a killed process comes back with ``up``, and a failed start (port taken,
migration failed) leaves nothing running. Prints the memory Airflow adds and how long ``up`` took.

Tests run in file order. The module leaves Airflow as it found it (running or not); the rest of the
stack is never stopped.
"""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime, timedelta

import psutil
import pytest
import requests

from pipeline_patterns.config import Settings, get_settings
from pipeline_patterns.orchestration.airflow_api import AirflowApiError, AirflowClient, DagPaused
from pipeline_patterns.stack import Stack
from pipeline_patterns.stack.errors import StackError
from pipeline_patterns.stack.postgres_service import Postgres
from pipeline_patterns.stack.processes import group_members

pytestmark = [pytest.mark.integration, pytest.mark.orchestration]
AIRFLOW = ("airflow-api-server", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer")
DAG = "kit_example"


def up_kwargs(stack: Stack) -> dict:
    layout = stack.saved_layout()
    return {"brokers": layout.brokers if layout else 1, "spark_cluster": bool(layout and layout.spark_cluster)}


def airflow_processes(stack: Stack) -> list[psutil.Process]:
    found = []
    for name in AIRFLOW:
        record = stack.pids.read(name)
        found += group_members(record) if record else []
    return found


def nothing_of_airflow_runs(stack: Stack) -> bool:
    states = {row["service"]: row["state"] for row in stack.status()}
    return (not any(name in states for name in AIRFLOW) and not airflow_processes(stack)
            and not any(s.name in AIRFLOW for s, _, _ in stack.strays()))


@pytest.fixture(scope="module")
def kit_stack():
    """The kit's stack; Airflow is left afterwards as it was before this module."""
    stack = Stack(echo=lambda _: None)
    layout = stack.saved_layout()
    was_running = bool(layout and layout.airflow)
    yield stack
    if was_running:
        stack.up(**up_kwargs(stack), airflow=True)
    else:
        stack.stop_airflow()


@pytest.fixture(scope="module")
def started(kit_stack):
    """Airflow started from stopped by ``up(airflow=True)``: the seconds it took, in all and per process."""
    kit_stack.stop_airflow()
    t0 = time.monotonic()
    timings = kit_stack.up(**up_kwargs(kit_stack), airflow=True)
    seconds = round(time.monotonic() - t0, 1)
    print(f"\nstack up --airflow: {seconds}s; " + ", ".join(f"{n} {timings[n]}s" for n in AIRFLOW))
    return {"seconds": seconds, "timings": timings}


def test_a_taken_port_stops_up_naming_the_setting_and_leaves_nothing(kit_stack):
    kit_stack.stop_airflow()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        moved = Stack(Settings(AIRFLOW_API_PORT=str(port)), echo=lambda _: None)
        with pytest.raises(StackError) as caught:
            moved.up(**up_kwargs(kit_stack), airflow=True)
    text = str(caught.value)
    assert f"Port {port} is needed by airflow-api-server" in text and "AIRFLOW_API_PORT" in text
    assert "Nothing of this attempt is left running" in text
    assert nothing_of_airflow_runs(kit_stack) and not kit_stack.saved_layout().airflow


def test_a_failed_migration_is_a_clear_error_and_leaves_nothing(kit_stack, unique):
    """A metadata database whose schema names a revision Airflow does not know cannot be migrated."""
    name = f"airflow_broken_{unique}"
    settings = Settings(AIRFLOW_DB_NAME=name, AIRFLOW_DB_USER=name)
    broken = Stack(settings, echo=lambda _: None)
    pg = Postgres(broken.context())
    pg.psql(broken.context(), "SELECT format('CREATE ROLE %I LOGIN', :'db') \\gexec\n"
            "SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'db') \\gexec\n"
            "\\c :db\nCREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);\n"
            "INSERT INTO alembic_version VALUES ('not0a0revision');\n"
            "SELECT format('ALTER TABLE alembic_version OWNER TO %I', :'db') \\gexec\n", {"db": name}, {})
    try:
        kit_stack.stop_airflow()
        with pytest.raises(StackError) as caught:
            broken.up(**up_kwargs(kit_stack), airflow=True)
        text = str(caught.value)
        assert "`airflow db migrate`" in text and f"/{name} failed" in text and "not0a0revision" in text
        assert "Nothing of this attempt is left running" in text and "make up AIRFLOW=1" in text
        assert nothing_of_airflow_runs(kit_stack)
    finally:
        pg.psql(broken.context(), "SELECT format('DROP DATABASE IF EXISTS %I', :'db') \\gexec\n"
                "SELECT format('DROP ROLE IF EXISTS %I', :'db') \\gexec\n", {"db": name}, {})


def test_up_starts_four_processes_on_loopback_with_no_secret_on_a_command_line(kit_stack, started):
    rows = {row["service"]: row for row in kit_stack.status()}
    assert all(rows[name]["state"] == "running" for name in AIRFLOW)
    assert rows["airflow-api-server"]["ports"] == [get_settings().airflow_api_port]
    assert rows["airflow-api-server"]["listening"] == [True]
    health = AirflowClient().health()
    assert {health[k]["status"] for k in ("metadatabase", "scheduler", "dag_processor", "triggerer")} == {"healthy"}
    processes = airflow_processes(kit_stack)
    listening = {(c.laddr.ip, c.laddr.port) for p in processes for c in p.net_connections("inet")
                 if c.status == psutil.CONN_LISTEN}
    assert listening == {("127.0.0.1", get_settings().airflow_api_port)}
    s = get_settings()
    secrets = [s.airflow_secret(n) for n in ("AIRFLOW_DB_PASSWORD", "AIRFLOW_ADMIN_PASSWORD", "AIRFLOW_SECRET_KEY")]
    assert not any(secret in " ".join(p.cmdline()) for p in processes for secret in secrets)
    assert kit_stack.up(**up_kwargs(kit_stack), airflow=True)["airflow-scheduler"] == 0.0  # a no-op now


def test_nothing_answers_without_a_login(started):
    url = get_settings().airflow_url
    for path in ("/api/v2/dags", "/api/v2/dags/kit_example/dagRuns", "/api/v2/config", "/api/v2/connections",
                 "/api/v2/variables", "/ui/dags"):
        assert requests.get(f"{url}{path}", timeout=10).status_code == 401, path
    assert requests.get(f"{url}/auth/token", timeout=10).status_code == 403  # the all-admins token: off
    wrong = requests.post(f"{url}/auth/token", json={"username": "admin", "password": "wrong"}, timeout=10)
    assert wrong.status_code == 401
    with pytest.raises(AirflowApiError, match="refused the login"):
        AirflowClient(Settings(AIRFLOW_ADMIN_PASSWORD="not-the-password")).call("GET", "/dags")
    client = AirflowClient()
    assert client.call("GET", "/dags")["total_entries"] >= 1  # the admin of .env gets in
    # The UI's login page posts the same JSON to /auth/token and keeps the token in the `_token` cookie
    assert requests.get(f"{url}/ui/dags", cookies={"_token": client.login()}, timeout=10).status_code == 200


def test_a_triggered_run_of_the_example_dag_succeeds_and_reports_its_tasks(started):
    client = AirflowClient()
    assert client.wait_for_dag(DAG)["is_paused"]  # new DAGs start paused
    # A fresh day after the DAG's start_date (a run dated before it has no task instance) and before today
    day = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=int(time.time() // 60) % 600)
    run = client.trigger(DAG, logical_date=day, data_interval=(day, day + timedelta(days=1)))
    with pytest.raises(DagPaused, match="unpause it first"):  # at once, not after the deadline
        client.wait_for_runs(DAG, [run.run_id], timeout_s=60)
    client.set_paused(DAG, False)
    try:
        [done] = client.wait_for_runs(DAG, [run.run_id], timeout_s=180)
    finally:
        client.set_paused(DAG, True)
    assert done.state == "success" and done.data_interval_end - done.data_interval_start == timedelta(days=1)
    tasks = {t.task_id: t for t in client.task_instances(DAG, run.run_id)}
    assert set(tasks) == {"extract", "load"} and all(t.state == "success" for t in tasks.values())
    assert tasks["extract"].end_date <= tasks["load"].start_date and tasks["load"].seconds >= 0


def test_a_backfill_runs_every_interval_with_its_own_data_interval(started):
    client = AirflowClient()
    client.wait_for_dag(DAG)
    start = datetime(2024, 2, 1, tzinfo=UTC) + timedelta(days=int(time.time() // 60) % 300 * 2)  # fresh past days
    backfill = client.create_backfill(DAG, start, start + timedelta(days=1), max_active_runs=2)
    client.set_paused(DAG, False)  # a paused DAG's backfill runs stay queued
    try:
        runs = client.wait_for_backfill(backfill, timeout_s=240)
    finally:
        client.set_paused(DAG, True)
    assert [r.data_interval_start for r in runs] == [start, start + timedelta(days=1)]
    assert all(r.state == "success" and r.run_type == "backfill" for r in runs)
    assert all(r.data_interval_end - r.data_interval_start == timedelta(days=1) for r in runs)


def test_a_killed_scheduler_is_reported_crashed_and_up_brings_it_back(kit_stack, started):
    assert kit_stack.kill("airflow-scheduler") == ["airflow-scheduler"]
    assert {r["service"]: r["state"] for r in kit_stack.status()}["airflow-scheduler"] == "crashed"
    timings = kit_stack.up(**up_kwargs(kit_stack), airflow=True)
    assert timings["airflow-scheduler"] > 0 and timings["airflow-api-server"] == 0.0
    assert AirflowClient().health()["scheduler"]["status"] == "healthy"


def test_report_the_memory_airflow_adds(kit_stack, started):
    """RSS as `make status` adds it (forked workers count their shared pages again) and PSS (shared pages
    split among the processes that share them: what the machine really gives Airflow)."""
    totals = {"rss": 0, "pss": 0}
    for name in AIRFLOW:
        record = kit_stack.pids.read(name)
        assert record is not None
        members = group_members(record)
        info = [p.memory_full_info() for p in members]
        rss, pss = sum(i.rss for i in info) / 2**20, sum(i.pss for i in info) / 2**20
        totals["rss"] += rss
        totals["pss"] += pss
        print(f"\n{name:<22} {len(members)} process(es)  RSS {rss:6.0f} MiB  PSS {pss:6.0f} MiB", end="")
    print(f"\n{'Airflow in all':<22}               RSS {totals['rss']:6.0f} MiB  PSS {totals['pss']:6.0f} MiB")
    assert totals["pss"] < 1.25 * 1024  # a guard against a config change (more workers), not a benchmark
