"""The doctor reports each problem as a failed row with its fix, never as an exception."""

from __future__ import annotations

import socket

import pytest

from pipeline_patterns import doctor
from pipeline_patterns.config import Settings


@pytest.fixture
def settings(tmp_path):
    return Settings(_env_file=None, STACK_STATE_DIR=str(tmp_path / "var"))


def rows_by_check(rows):
    return {row.check: row for row in rows}


def test_too_little_memory_fails_with_what_was_expected(settings):
    rows = doctor.run_checks(memory_mb=1000, disk_mb=50_000, cpus=2, settings=settings)
    memory = rows_by_check(rows)["free memory"]
    assert (memory.ok, memory.found) == (False, "1,000 MB")
    assert f"{doctor.NEEDS_MEMORY_MB:,} MB" in memory.fix
    assert not doctor.can_run(rows)


def test_one_cpu_and_a_full_disk_fail(settings):
    by_check = rows_by_check(doctor.run_checks(memory_mb=8000, disk_mb=100, cpus=1, settings=settings))
    assert not by_check["CPUs"].ok and not by_check["free disk"].ok
    assert "make clean-data" in by_check["free disk"].fix


def test_a_port_taken_by_another_process_names_it_and_the_setting_to_move(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = Settings(_env_file=None, STACK_STATE_DIR=str(tmp_path / "var"), PGPORT=port)
        row = rows_by_check(doctor.run_checks(settings=settings))[f"port {port} (postgres)"]
    assert not row.ok and row.required
    assert "in use by" in row.found and "PGPORT" in row.fix


def test_missing_jars_say_run_make_setup(settings, tmp_path, monkeypatch):
    monkeypatch.setattr(doctor, "JARS_DIR", tmp_path / "no-jars")
    by_check = rows_by_check(doctor.run_checks(memory_mb=8000, disk_mb=50_000, cpus=2, settings=settings))
    for check in ("Kafka jars", "Debezium plugin"):
        assert not by_check[check].ok and "make setup" in by_check[check].fix
    assert not doctor.can_run(list(by_check.values()))


def test_optional_rows_do_not_stop_a_laptop():
    rows = [doctor.Row("Java 17+", True, "/usr/bin/java"), doctor.Row("Airflow", False, "no", "pip", required=False)]
    assert doctor.can_run(rows)
    assert not doctor.can_run([*rows, doctor.Row("free memory", False, "1 MB", "close things")])


def test_make_up_runs_the_doctor_quietly_and_stops_with_its_failed_rows():
    from click.testing import CliRunner

    from pipeline_patterns.cli import app

    makefile = (doctor.PROJECT_DIR / "Makefile").read_text()
    up_recipe = makefile.split("\nup:", 1)[1].split("\n\n", 1)[0]
    assert "doctor --quiet" in up_recipe.splitlines()[1]  # before `stack up`; `make run` depends on `up`
    result = CliRunner().invoke(app, ["doctor", "--quiet", "--memory-mb", "100", "--disk-mb", "999999"])
    assert result.exit_code == 1
    assert "free memory" in result.output and "100 MB" in result.output
    assert "free disk" not in result.output  # a passing row is not shown in quiet mode
