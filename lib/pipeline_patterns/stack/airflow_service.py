"""Apache Airflow 3 as four native services: the API server (UI and REST API), the scheduler
(``LocalExecutor``), the DAG processor and the triggerer, each its own recorded process and log.

Before the API server starts: Airflow's role and database in the kit's PostgreSQL (password from
``.env``), ``var/airflow/airflow.cfg`` and the login file written from the settings, then
``airflow db migrate`` (a failure is a StackError with the end of its output, and nothing is left
running). Ready means a real request answered: the API server's health endpoint and a login with
the admin's password from ``.env``; each other process is ready when that health endpoint reports
it healthy with a heartbeat newer than the process itself. Configuration: ``airflow_config``.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections.abc import Sequence
from datetime import datetime

import psutil
import requests

from pipeline_patterns.stack import airflow_config
from pipeline_patterns.stack.errors import StackError
from pipeline_patterns.stack.layout import Context
from pipeline_patterns.stack.postgres_service import Postgres
from pipeline_patterns.stack.processes import PidFiles, ProcessRecord, spawn, tail
from pipeline_patterns.stack.readiness import NotReady
from pipeline_patterns.stack.service import Service

MIGRATE_TIMEOUT_S = 600.0


def airflow_command(*args: str) -> list[str]:
    """``airflow ARGS`` with this venv's Python (the one that has the orchestration extra)."""
    return [sys.executable, "-m", "airflow", *args]


def check_installed() -> None:
    """Raise a StackError saying how to install Airflow when this venv lacks it."""
    if importlib.util.find_spec("airflow") is None:
        raise StackError(
            f"Airflow is not installed in this venv ({sys.prefix}): expected apache-airflow (the `orchestration` "
            "extra), found no `airflow` package. Run `make setup`, which installs it with the pins in "
            "constraints.txt, then `make up AIRFLOW=1`."
        )


def prepare_metadata(ctx: Context) -> None:
    """Airflow's role and database (created, or the password set again from ``.env``), its config and
    login files, and its schema migrated; a StackError saying what failed otherwise."""
    s = ctx.settings
    script = (
        "SELECT format('CREATE ROLE %I LOGIN', :'role') "
        "WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \\gexec\n"
        "SELECT format('ALTER ROLE %I WITH LOGIN NOREPLICATION PASSWORD %L', :'role', :'pw') \\gexec\n"
        "SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'role') "
        "WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \\gexec\n"
        # Its own database: other roles (the kit's, the CDC one) may not even connect to it.
        "SELECT format('REVOKE CONNECT, TEMPORARY ON DATABASE %I FROM PUBLIC', :'db') \\gexec\n"
    )
    Postgres(ctx).psql(ctx, script, {"role": s.airflow_db_user, "db": s.airflow_db_name},
                       {"pw": s.airflow_secret("AIRFLOW_DB_PASSWORD")},
                       what=f"Creating Airflow's role {s.airflow_db_user!r} and database {s.airflow_db_name!r}")
    write_files(ctx)
    migrate(ctx)


def write_files(ctx: Context) -> None:
    """``airflow.cfg`` and the login file (``{admin: password}``, mode 0600), from the settings."""
    home = airflow_config.airflow_home(ctx.var)
    home.mkdir(parents=True, exist_ok=True)
    (home / "airflow.cfg").write_text(airflow_config.render_config(ctx.settings, ctx.var))
    passwords = airflow_config.passwords_file(ctx.var)
    passwords.touch(mode=0o600)
    passwords.chmod(0o600)
    passwords.write_text(json.dumps({ctx.settings.airflow_admin_user:
                                     ctx.settings.airflow_secret("AIRFLOW_ADMIN_PASSWORD")}) + "\n")


def migrate(ctx: Context) -> None:
    """``airflow db migrate`` (idempotent), its output appended to ``var/logs/airflow-migrate.log``."""
    log = ctx.log("airflow-migrate")
    log.parent.mkdir(parents=True, exist_ok=True)
    s = ctx.settings
    where = f"postgresql://{s.airflow_db_user}@{s.pghost}:{s.pgport}/{s.airflow_db_name}"
    try:
        with open(log, "ab") as out:
            done = subprocess.run(airflow_command("db", "migrate"), stdin=subprocess.DEVNULL, stdout=out,
                                  stderr=subprocess.STDOUT, env=airflow_config.process_env(s, ctx.var),
                                  cwd=airflow_config.airflow_home(ctx.var), timeout=MIGRATE_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise StackError(f"Airflow's metadata migration (`airflow db migrate`) on {where} did not finish within "
                         f"{MIGRATE_TIMEOUT_S:.0f}s. Last lines of {log}:\n{tail(log)}") from None
    if done.returncode != 0:
        raise StackError(
            f"Airflow's metadata migration (`airflow db migrate`) on {where} failed (exit {done.returncode}); "
            f"expected it to create or upgrade Airflow's tables. Last lines of {log}:\n{tail(log)}\n"
            "Check that PostgreSQL runs (`make status`) and that .env sets AIRFLOW_DB_PASSWORD, then "
            "`make up AIRFLOW=1` again; an unusable half-migrated database can be dropped "
            f"(DROP DATABASE {s.airflow_db_name}) and is created anew."
        )


def health(ctx: Context) -> dict:
    """The API server's ``/api/v2/monitor/health`` answer (open without a login, by Airflow's design)."""
    response = requests.get(f"{ctx.settings.airflow_url}/api/v2/monitor/health", timeout=5)
    response.raise_for_status()
    return response.json()


class AirflowProcess(Service):
    """One Airflow process: ``airflow COMMAND`` with the kit's config and environment, in ``var/airflow``."""

    def __init__(self, ctx: Context, command: str, component: str, ports: list[tuple[int, str]] | None = None,
                 extra: tuple[str, ...] = ()) -> None:
        super().__init__(name=f"airflow-{command}", ports=ports or [], group="airflow")
        self.command, self.component, self.extra = command, component, extra

    def start(self, ctx: Context) -> ProcessRecord:
        check_installed()
        return spawn(airflow_command(self.command, *self.extra), ctx.log(self.name),
                     env=airflow_config.process_env(ctx.settings, ctx.var),
                     cwd=airflow_config.airflow_home(ctx.var), inherit_env=False)

    def signature(self, ctx: Context) -> tuple[str, str]:
        return self.command, str(airflow_config.airflow_home(ctx.var))

    def owns(self, ctx: Context, cmdline: Sequence[str]) -> bool:
        return False  # the command line names no path (and the API server retitles itself): see owns_process

    def owns_process(self, ctx: Context, proc: psutil.Process, cmdline: Sequence[str]) -> bool:
        """An ``airflow COMMAND`` process (or the API server's ``airflow api_server -- ...`` title) working
        in this checkout's ``var/airflow`` (the kit starts them there; their environment is no witness:
        the API server's retitling overwrites it)."""
        args = list(cmdline)
        title = f"airflow {self.command.replace('-', '_')} "
        if not args or (self.command not in args and not args[0].startswith(title)):
            return False
        try:
            return proc.cwd() == str(airflow_config.airflow_home(ctx.var))
        except psutil.Error:
            return False

    def check_ready(self, ctx: Context) -> None:
        """Ready when the health endpoint reports this component healthy, heartbeating since it started."""
        component = health(ctx).get(self.component) or {}
        beat = component.get(f"latest_{self.component}_heartbeat")
        record = PidFiles(ctx.var / "pids").read(self.name)
        if component.get("status") != "healthy" or beat is None:
            raise NotReady(f"Airflow reports the {self.component} as {component.get('status')}")
        if record is not None and datetime.fromisoformat(beat).timestamp() < record.create_time:
            raise NotReady(f"the {self.component}'s latest heartbeat ({beat}) is from an earlier process")


class AirflowApiServer(AirflowProcess):
    """The API server (REST API, UI, the tasks' execution API) on 127.0.0.1:``AIRFLOW_API_PORT``, one worker."""

    def __init__(self, ctx: Context) -> None:
        port = ctx.settings.airflow_api_port
        super().__init__(ctx, "api-server", "metadatabase", ports=[(port, "AIRFLOW_API_PORT")],
                         extra=("--host", "127.0.0.1", "--port", str(port), "--workers", "1"))

    def start(self, ctx: Context) -> ProcessRecord:
        check_installed()
        prepare_metadata(ctx)
        return super().start(ctx)

    def check_ready(self, ctx: Context) -> None:
        """Ready when the health endpoint answers with the metadata database healthy and the admin can log in."""
        status = health(ctx).get("metadatabase", {}).get("status")
        if status != "healthy":
            raise NotReady(f"Airflow reports its metadata database as {status}")
        s = ctx.settings
        login = requests.post(f"{s.airflow_url}/auth/token", timeout=10, json={
            "username": s.airflow_admin_user, "password": s.airflow_secret("AIRFLOW_ADMIN_PASSWORD")})
        if login.status_code != 201:
            raise StackError(
                f"Airflow's API server answers, but the admin {s.airflow_admin_user!r} cannot log in with "
                f"AIRFLOW_ADMIN_PASSWORD from .env: expected 201 from /auth/token, got {login.status_code} "
                f"{login.text[:200]}. The login file is {airflow_config.passwords_file(ctx.var)}; "
                "`make down` then `make up AIRFLOW=1` writes it again."
            )


def airflow_services(ctx: Context) -> list[Service]:
    """Airflow's processes in start order; the log servers are not started (the API server reads
    task logs from the shared folder), so no process listens beyond the API server's port."""
    return [
        AirflowApiServer(ctx),
        AirflowProcess(ctx, "scheduler", "scheduler", extra=("--skip-serve-logs",)),
        AirflowProcess(ctx, "dag-processor", "dag_processor"),
        AirflowProcess(ctx, "triggerer", "triggerer", extra=("--skip-serve-logs",)),
    ]
