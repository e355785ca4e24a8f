"""Airflow's configuration in the kit: the ``airflow.cfg`` that ``stack up --airflow`` writes, the
environment its processes get, and the keys derived from ``AIRFLOW_SECRET_KEY``.

Guarantees: every listener binds 127.0.0.1 (the API server; the scheduler's and triggerer's log
servers are not started, the API server reads task logs from ``var/airflow/logs``); the UI and the
REST API need a login (the simple auth manager with one admin whose password is
``AIRFLOW_ADMIN_PASSWORD``, never its all-admins mode); no secret is written to ``airflow.cfg`` or
shown on a command line (they reach Airflow through its environment); the caller's ``AIRFLOW*``
and ``PG*`` variables never reach Airflow's processes, so the kit's configuration is the one
that runs. Pure: rendering connects to nothing and imports no Airflow.
"""

from __future__ import annotations

import base64
import configparser
import hashlib
import hmac
import io
import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

from pipeline_patterns.config import PROJECT_DIR, Settings

DAGS_DIR = PROJECT_DIR / "dags"
PARALLELISM = 4
"""Task instances running at once (LocalExecutor workers). On 2 cores a task instance is latency-bound (about a
second of scheduling around a sub-second task): a 31-day backfill took 39 s with 2 slots at 43% CPU, 25 s with 4."""
SIMPLE_AUTH_MANAGER = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"


def airflow_home(var: Path) -> Path:
    """``AIRFLOW_HOME`` of the stack whose state folder is ``var``: ``var/airflow``."""
    return var / "airflow"


def passwords_file(var: Path) -> Path:
    """The simple auth manager's ``{user: password}`` file, written from ``.env`` before each start."""
    return airflow_home(var) / "simple_auth_manager_passwords.json"


def derived_key(secret: str, purpose: str) -> bytes:
    """A 32-byte key for one ``purpose``, derived from ``AIRFLOW_SECRET_KEY`` (HMAC-SHA256).

    One secret in ``.env``; no two purposes (JWT signing, the API's sessions, Fernet) share a key,
    and every Airflow process derives the same ones.
    """
    return hmac.new(secret.encode(), f"pipeline-patterns airflow {purpose}".encode(), hashlib.sha256).digest()


def config_values(settings: Settings, var: Path) -> dict[str, dict[str, str]]:
    """Every option the kit sets in ``airflow.cfg``, by section (no secret among them)."""
    home = airflow_home(var)
    return {
        "core": {
            "dags_folder": str(DAGS_DIR),
            "executor": "LocalExecutor",
            "parallelism": str(PARALLELISM),
            "load_examples": "False",
            "dags_are_paused_at_creation": "True",  # nothing runs until a lesson (or you) unpauses it
            "default_timezone": "utc",
            "auth_manager": SIMPLE_AUTH_MANAGER,
            "simple_auth_manager_users": f"{settings.airflow_admin_user}:admin",
            "simple_auth_manager_all_admins": "False",
            "simple_auth_manager_passwords_file": str(passwords_file(var)),
            "execution_api_server_url": f"{settings.airflow_url}/execution/",
        },
        "api": {
            "host": "127.0.0.1",
            "port": str(settings.airflow_api_port),
            "base_url": settings.airflow_url,
            "workers": "1",
            "expose_config": "False",
        },
        "database": {"sql_alchemy_pool_size": "3", "sql_alchemy_max_overflow": "5"},
        "scheduler": {"enable_health_check": "False"},
        "dag_processor": {
            "parsing_processes": "1",
            "refresh_interval": "10",  # a DAG file a lesson writes is seen within 10 s (default 300)
            "dag_bundle_storage_path": str(home / "bundles"),
        },
        "triggerer": {"capacity": "100"},
        # A task's supervisor checks whether its process has exited between waits of up to this many seconds
        # (default 5): every task held its slot about 5 s after it had finished (0.2 s of work, 5.4 s of slot).
        "workers": {"min_heartbeat_interval": "1"},
        "logging": {"base_log_folder": str(home / "logs"), "colored_console_log": "False"},
    }


def render_config(settings: Settings, var: Path) -> str:
    """The text of ``var/airflow/airflow.cfg``."""
    parser = configparser.ConfigParser(interpolation=None)
    for section, options in config_values(settings, var).items():
        parser[section] = options
    out = io.StringIO()
    out.write("# Written by `stack up --airflow` from the kit's settings (.env); rewritten at each start.\n"
              "# Secrets are not here: Airflow's processes get them in their environment.\n")
    parser.write(out)
    return out.getvalue()


def database_url(settings: Settings) -> str:
    """The metadata database's SQLAlchemy URL (psycopg 3, which the kit already has)."""
    password = quote(settings.airflow_secret("AIRFLOW_DB_PASSWORD"), safe="")
    return (f"postgresql+psycopg://{quote(settings.airflow_db_user, safe='')}:{password}"
            f"@{settings.pghost}:{settings.pgport}/{quote(settings.airflow_db_name, safe='')}")


def process_env(settings: Settings, var: Path, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The whole environment of an Airflow process: the caller's less ``AIRFLOW*`` and ``PG*``, plus
    ``AIRFLOW_HOME``, ``AIRFLOW_CONFIG`` and the secrets (the database URL and the derived keys)."""
    environ = os.environ if environ is None else environ
    secret = settings.airflow_secret("AIRFLOW_SECRET_KEY")
    url = database_url(settings)
    home = airflow_home(var)
    return {
        **{k: v for k, v in environ.items() if not k.startswith(("AIRFLOW", "PG"))},
        "AIRFLOW_HOME": str(home),
        "MALLOC_ARENA_MAX": "2",  # glibc's per-thread arenas hold freed memory: fewer arenas, less resident memory
        "AIRFLOW_CONFIG": str(home / "airflow.cfg"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": url,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": url,  # psycopg 3 is async too: no asyncpg needed
        "AIRFLOW__API_AUTH__JWT_SECRET": derived_key(secret, "jwt").hex(),
        "AIRFLOW__API__SECRET_KEY": derived_key(secret, "api").hex(),
        "AIRFLOW__CORE__FERNET_KEY": base64.urlsafe_b64encode(derived_key(secret, "fernet")).decode(),
        "PYTHONUNBUFFERED": "1",
    }
