"""``python -m pipeline_patterns doctor``: can this laptop run the lessons? One table, one fix per failed row.

Checked: CPUs, free memory and disk against what the stack and one lesson need, Java 17+, the
PostgreSQL server binaries, the jars ``make setup`` resolves, the Spark driver's class-data
archive, the Jupyter kernel, ``.env``, and every port of the stack (free, or held by this
checkout's own running stack). Airflow and the archive are reported but not required (no lesson
needs Airflow yet; Spark runs without the archive, slower).

Guarantee: :func:`run_checks` never raises for a failed check — each becomes a row saying what was
expected, what was found and the fix — and :func:`can_run` is False exactly when a required row
failed. Memory, disk and CPUs can be passed in, so a test can play a smaller laptop.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass

import psutil

from pipeline_patterns.config import PROJECT_DIR, Settings
from pipeline_patterns.stack import preflight
from pipeline_patterns.stack.errors import StackError
from pipeline_patterns.stack.jvm import JARS_DIR

NEEDS_MEMORY_MB = 3 * 1024
"""The stack (~1.2 GiB), one lesson's Spark driver (1 GiB) and its kernel, with some headroom."""
NEEDS_DISK_MB = 2 * 1024
"""The lake, the runs' reports and the stack's data (jars and the venv are already on disk)."""
NEEDS_CPUS = 2


@dataclass(frozen=True)
class Row:
    check: str
    ok: bool
    found: str
    fix: str = ""
    required: bool = True


def _guarded(check: str, probe: Callable[[], str], required: bool = True) -> Row:
    """A row from a probe that returns what it found or raises a StackError whose text is the fix."""
    try:
        return Row(check, True, probe(), required=required)
    except StackError as exc:
        return Row(check, False, "missing or unusable", str(exc), required)


def _ports(settings: Settings | None) -> list[Row]:
    from pipeline_patterns.stack import Stack
    from pipeline_patterns.stack.processes import ProcessState

    stack = Stack(settings)
    rows = []
    for service in stack.services():
        ours = stack.pids.state(service.name) == ProcessState.RUNNING
        for port, setting in service.ports:
            if preflight.port_is_free(port):
                rows.append(Row(f"port {port} ({service.name})", True, "free"))
            elif ours:
                rows.append(Row(f"port {port} ({service.name})", True, "held by this checkout's running stack"))
            else:
                rows.append(Row(f"port {port} ({service.name})", False, f"in use by {preflight.port_owner(port)}",
                                f"stop that process, or move {service.name} with {setting} in .env"))
    return rows


def run_checks(memory_mb: float | None = None, disk_mb: float | None = None, cpus: int | None = None,
               settings: Settings | None = None) -> list[Row]:
    """Every check, in the order a workshop would fix them (``settings``: the ports and state folder)."""
    from pipeline_patterns import spark_archive
    from pipeline_patterns.bootstrap import KERNEL_NAME
    from pipeline_patterns.spark import DEFAULT_CONF

    cpus = cpus if cpus is not None else (os.cpu_count() or 1)
    memory_mb = memory_mb if memory_mb is not None else psutil.virtual_memory().available / 2**20
    disk_mb = disk_mb if disk_mb is not None else shutil.disk_usage(PROJECT_DIR).free / 2**20
    rows = [
        Row("CPUs", cpus >= NEEDS_CPUS, f"{cpus}", "" if cpus >= NEEDS_CPUS else
            f"expected at least {NEEDS_CPUS}: the stack's JVMs and a lesson's Spark share them"),
        Row("free memory", memory_mb >= NEEDS_MEMORY_MB, f"{memory_mb:,.0f} MB", "" if memory_mb >= NEEDS_MEMORY_MB
            else f"expected {NEEDS_MEMORY_MB:,} MB free: close browsers and IDEs, or `make down` another stack"),
        Row("free disk", disk_mb >= NEEDS_DISK_MB, f"{disk_mb:,.0f} MB", "" if disk_mb >= NEEDS_DISK_MB else
            f"expected {NEEDS_DISK_MB:,} MB free beside the checkout: `make clean-data` removes the lake and runs"),
        _guarded("Java 17+", preflight.check_java),
        _guarded("PostgreSQL 15 server", lambda: str(preflight.postgres_bindir("15"))),
        _guarded("Kafka jars", lambda: f"{len(preflight.check_jars(JARS_DIR / 'kafka', '*.jar', 'Kafka'))} jars"),
        _guarded("Spark jars (Delta, Kafka, JDBC)", lambda: f"{len(_spark_jars())} jars"),
        _guarded("Debezium plugin", lambda: f"{len(_debezium_jars())} jars"),
        Row("Spark class-data archive", spark_archive.option(DEFAULT_CONF["spark.driver.extraJavaOptions"]) is not None,
            str(spark_archive.ARCHIVE), "run `make setup` (Spark starts without it, ~3 s slower per session)",
            required=False),
        Row(".env", (PROJECT_DIR / ".env").exists(), str(PROJECT_DIR / ".env"),
            "run `make setup`: it writes .env from .env.example with a random password"),
        Row(f"Jupyter kernel {KERNEL_NAME!r}", _kernel_registered(KERNEL_NAME), "registered" if
            _kernel_registered(KERNEL_NAME) else "not registered", "run `make setup` (it registers the kernel)"),
        Row("Airflow (lessons 15-16)", importlib.util.find_spec("airflow") is not None, "installed" if
            importlib.util.find_spec("airflow") else "not installed",
            "run `make setup` (it installs the orchestration extra, pinned in constraints.txt); "
            "`make up AIRFLOW=1` starts it (no lesson needs it yet)", required=False),
        *_ports(settings),
    ]
    return [row if not row.ok else Row(row.check, True, row.found, "", row.required) for row in rows]


def _debezium_jars() -> list:
    return preflight.check_jars(JARS_DIR / "connect-plugins", "*/*.jar", "Debezium")


def _spark_jars() -> list[str]:
    from pipeline_patterns.spark import spark_jars

    return spark_jars()


def _kernel_registered(name: str) -> bool:
    from jupyter_client.kernelspec import KernelSpecManager

    return name in KernelSpecManager().find_kernel_specs()


def can_run(rows: list[Row]) -> bool:
    """True when every required check passed."""
    return all(row.ok for row in rows if row.required)
