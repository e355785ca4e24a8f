"""Airflow as services of the stack, without starting Airflow: which processes a layout has, how they
are recognised, how a group starts, the command line, and the errors a user meets."""

from __future__ import annotations

import json
import os
import socket
import sys
from datetime import UTC, datetime, timedelta
from typing import ClassVar

import psutil
import pytest
from click.testing import CliRunner

from pipeline_patterns.config import PROJECT_DIR, Settings
from pipeline_patterns.orchestration.airflow_api import AirflowClient, AirflowNotUp
from pipeline_patterns.stack import Stack, airflow_service
from pipeline_patterns.stack.errors import StackError
from pipeline_patterns.stack.layout import Context, Layout
from pipeline_patterns.stack.processes import PidFiles, ProcessRecord
from pipeline_patterns.stack.service import Service
from pipeline_patterns.stack.services import services_for
from pipeline_patterns.stack.startup import start_in_order

SECRETS = {"AIRFLOW_DB_PASSWORD": "db-pw", "AIRFLOW_ADMIN_PASSWORD": "admin-pw", "AIRFLOW_SECRET_KEY": "key"}


def ctx(var, airflow: bool = True) -> Context:
    return Context(Settings(_env_file=None, STACK_STATE_DIR=str(var), **SECRETS), Layout(airflow=airflow))


def test_airflow_is_four_processes_after_the_rest_and_only_the_api_server_listens(tmp_path, monkeypatch):
    monkeypatch.delenv("AIRFLOW_API_PORT", raising=False)
    names = [s.name for s in services_for(ctx(tmp_path))]
    assert names[-4:] == ["airflow-api-server", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"]
    assert names.index("postgres") < names.index("airflow-api-server")
    airflow = services_for(ctx(tmp_path))[-4:]
    assert all(s.group == "airflow" for s in airflow)
    assert [s.ports for s in airflow] == [[(8090, "AIRFLOW_API_PORT")], [], [], []]
    assert not any(s.name.startswith("airflow") for s in services_for(ctx(tmp_path, airflow=False)))
    assert Layout(**{"brokers": 1, "spark_cluster": False}) == Layout()  # a stack.json written before Airflow


def test_the_commands_bind_loopback_and_start_no_log_server(tmp_path):
    api, scheduler, processor, triggerer = services_for(ctx(tmp_path))[-4:]
    assert api.extra == ("--host", "127.0.0.1", "--port", "8090", "--workers", "1")
    assert "--skip-serve-logs" in scheduler.extra and "--skip-serve-logs" in triggerer.extra
    assert airflow_service.airflow_command("scheduler") == [sys.executable, "-m", "airflow", "scheduler"]
    assert (scheduler.command, processor.command, triggerer.command) == ("scheduler", "dag-processor", "triggerer")


class FakeProcess:
    def __init__(self, cwd: str) -> None:
        self._cwd = cwd

    def cwd(self) -> str:
        return self._cwd


def test_a_process_is_ours_when_it_runs_airflows_command_in_this_checkouts_airflow_home(tmp_path):
    here, other = ctx(tmp_path / "a"), ctx(tmp_path / "b")
    api, scheduler, _, triggerer = services_for(here)[-4:]
    home = str(tmp_path / "a" / "airflow")
    scheduler_cmd = [sys.executable, "-m", "airflow", "scheduler", "--skip-serve-logs"]
    assert scheduler.owns_process(here, FakeProcess(home), scheduler_cmd)
    assert not scheduler.owns_process(other, FakeProcess(home), scheduler_cmd)  # another checkout's
    assert not triggerer.owns_process(here, FakeProcess(home), scheduler_cmd)
    titled = ["airflow api_server -- host:127.0.0.1 port:8090", "", ""]  # what setproctitle leaves
    assert api.owns_process(here, FakeProcess(home), titled) and not scheduler.owns_process(here, FakeProcess(home),
                                                                                             titled)
    worker = ["airflow worker -- LocalExecutor: <idle>"]
    assert not any(s.owns_process(here, FakeProcess(home), worker) for s in services_for(here)[-4:])
    assert not api.owns_process(here, FakeProcess(home), []) and not api.owns(here, titled)


class Recorder(Service):
    events: ClassVar[list[str]] = []

    def start(self, ctx: Context) -> ProcessRecord:
        self.events.append(f"start {self.name}")
        me = psutil.Process(os.getpid())
        return ProcessRecord(pid=me.pid, create_time=me.create_time(), log="/dev/null")

    def check_ready(self, ctx: Context) -> None:
        self.events.append(f"ready {self.name}")


def test_a_group_starts_side_by_side_and_is_waited_for_once_its_last_member_started(tmp_path):
    Recorder.events = []
    services: list[Service] = [Recorder("db"), Recorder("a1", group="a"), Recorder("a2", group="a"), Recorder("tail")]
    pids = PidFiles(tmp_path / "pids")
    timings = start_in_order(ctx(tmp_path), services, pids, {}, lambda _: None)
    assert Recorder.events == ["start db", "ready db", "start a1", "start a2", "ready a1", "ready a2",
                               "start tail", "ready tail"]
    assert set(timings) == {"db", "a1", "a2", "tail"}
    Recorder.events = []
    pids.remove("a1")  # one member down (crashed, or killed): only it starts, and is waited for with its time
    echoed: list[str] = []
    timings = start_in_order(ctx(tmp_path), services, pids, {}, echoed.append)
    assert Recorder.events[0] == "start a1" and "ready a1" in Recorder.events
    assert timings["db"] == 0.0 and any(line.startswith("a1 ") for line in echoed)


def test_kill_airflow_means_every_airflow_process_and_stop_airflow_keeps_the_rest(tmp_path):
    stack = Stack(ctx(tmp_path).settings, echo=lambda _: None)
    stack.var.mkdir(parents=True, exist_ok=True)
    stack.layout_file.write_text(json.dumps({"brokers": 1, "spark_cluster": False, "airflow": True}))
    assert [s.name for s in stack.select("airflow")] == ["airflow-api-server", "airflow-scheduler",
                                                         "airflow-dag-processor", "airflow-triggerer"]
    assert stack.stop_airflow() == []  # nothing was running
    assert stack.saved_layout() == Layout(brokers=1, spark_cluster=False, airflow=False)
    with pytest.raises(StackError, match="No service named 'airflow'"):
        stack.select("airflow")


def test_up_with_airflow_and_no_airflow_secret_says_which_before_starting_anything(tmp_path, monkeypatch):
    for name in SECRETS:
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None, STACK_STATE_DIR=str(tmp_path), PGPASSWORD="x", CDC_PASSWORD="y")
    with pytest.raises(StackError, match="AIRFLOW_DB_PASSWORD is not set"):
        Stack(settings).up(airflow=True)
    assert not (tmp_path / "pids").exists() and not (tmp_path / "stack.json").exists()


def test_stack_up_has_an_airflow_option_and_make_up_passes_it(monkeypatch):
    from pipeline_patterns.cli import app
    from pipeline_patterns.stack import manager

    calls = []
    monkeypatch.setattr(manager.Stack, "up", lambda self, **kw: calls.append(kw) or {"airflow-api-server": 1.0})
    result = CliRunner().invoke(app, ["stack", "up", "--airflow"])
    assert result.exit_code == 0, result.output
    assert calls == [{"brokers": 1, "spark_cluster": False, "airflow": True}]
    assert "--airflow" in CliRunner().invoke(app, ["stack", "up", "--help"]).output
    assert "$(if $(AIRFLOW),--airflow)" in (PROJECT_DIR / "Makefile").read_text()


def test_airflow_missing_from_the_venv_says_to_run_make_setup(monkeypatch):
    monkeypatch.setattr(airflow_service.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(StackError) as caught:
        airflow_service.check_installed()
    assert "orchestration" in str(caught.value) and "make setup" in str(caught.value)


def test_a_failed_migration_says_where_what_and_how_to_fix_it(tmp_path, monkeypatch):
    failing = [sys.executable, "-c", "import sys; print('sqlalchemy.exc.OperationalError: boom'); sys.exit(3)"]
    monkeypatch.setattr(airflow_service, "airflow_command", lambda *args: failing)
    c = ctx(tmp_path)
    (tmp_path / "airflow").mkdir()
    with pytest.raises(StackError) as caught:
        airflow_service.migrate(c)
    text = str(caught.value)
    assert "`airflow db migrate`" in text and "failed (exit 3)" in text and "postgresql://airflow@127.0.0.1" in text
    assert "OperationalError: boom" in text and "make up AIRFLOW=1" in text and "db-pw" not in text


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_client_says_how_to_start_airflow_when_it_is_not_up():
    client = AirflowClient(Settings(_env_file=None, AIRFLOW_API_PORT=str(free_port()), **SECRETS), timeout_s=2)
    with pytest.raises(AirflowNotUp) as caught:
        client.trigger("kit_example")
    assert "make up AIRFLOW=1" in str(caught.value) and client.url in str(caught.value)
    with pytest.raises(ValueError, match="timezone-aware"):
        client.trigger("kit_example", logical_date=datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="in the future: Airflow 3 accepts such a run but never starts it"):
        client.trigger("kit_example", logical_date=datetime.now(UTC) + timedelta(days=1))
