"""The notebook runner end to end: real kernels, real notebooks, a report on disk.

(nbval runs every notebook with its defaults; these runs use other parameters.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import nbformat
import pytest

from pipeline_patterns import runner

pytestmark = pytest.mark.integration


def kit_run(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline_patterns", "run", *args], capture_output=True,
                          text=True, env={**os.environ, "COLUMNS": "200"}, check=False, timeout=900)


# nbval runs every lesson with its defaults in the same `make test`; these runs repeat only the
# lessons whose data depend on the seed (late and out-of-order arrivals, poison records), with
# other sizes, so the suite does not execute every notebook twice.
def test_lessons_with_another_seed_and_sizes_are_ok_and_reported():
    out = kit_run("01", "04", "05", "-p", "seed", "7", "-p", "n_events", "5000", "-p", "partitions", "4",
                  "-p", "benchmark_records", "3000", "-p", "per_step", "10", "-p", "flight_steps", "6",
                  "-p", "users", "6")
    assert out.returncode == 0, out.stdout + out.stderr
    latest = runner.RUNS_DIR / "latest"
    summary = json.loads((latest / "summary.json").read_text())
    assert [(s["notebook"], s["status"], s["error"]) for s in summary] == [
        ("01_kafka_topics_and_partition_keys", "ok", None),
        ("04_streaming_watermarks_and_late_data", "ok", None), ("05_stateful_sessionization", "ok", None)]
    assert summary[0]["seconds"] > 0
    executed = nbformat.read(latest / "01_kafka_topics_and_partition_keys.ipynb", as_version=4)
    injected = next(c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert "n_events = 5000" in injected.source and "seed = 7" in injected.source
    assert (latest / "01_kafka_topics_and_partition_keys.html").stat().st_size > 10_000
    assert "report:" in out.stdout and "01_kafka_topics_and_partition_keys" in out.stdout


SEED_DEPENDENT_ARCHITECTURES = ["06_lambda_architecture", "07_kappa_architecture", "11_dead_letter_queue"]


def test_seed_dependent_architecture_lessons_with_another_seed_are_ok():
    out = kit_run(*(name[:2] for name in SEED_DEPENDENT_ARCHITECTURES), "-p", "seed", "7")
    assert out.returncode == 0, out.stdout + out.stderr
    summary = json.loads((runner.RUNS_DIR / "latest" / "summary.json").read_text())
    assert [(s["notebook"], s["status"], s["error"]) for s in summary] == [
        (name, "ok", None) for name in SEED_DEPENDENT_ARCHITECTURES]
    executed = nbformat.read(runner.RUNS_DIR / "latest" / "11_dead_letter_queue.ipynb", as_version=4)
    injected = next(c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert "seed = 7" in injected.source


def test_a_failing_notebook_fails_the_run_and_says_why(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("answer = 41", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("import os; os.write(2, b'chatter on the kernel stderr\\n')"),
                nbformat.v4.new_code_cell("assert answer == 42, f'expected 42, found {answer}'")]
    failing, passing = tmp_path / "98_fails.ipynb", tmp_path / "99_passes.ipynb"
    nbformat.write(nb, failing)
    nbformat.write(nb, passing)
    out = kit_run(str(failing), str(passing), "-p", "answer", "42")
    assert out.returncode == 0  # with answer=42 both pass
    # what kernels (and their JVMs) write to stderr goes to the run's log, not between the progress bars
    assert "chatter" not in out.stderr and "without encryption" not in out.stderr
    assert (runner.RUNS_DIR / "latest" / "run.log").read_text().count("chatter on the kernel stderr") == 2
    out = kit_run(str(failing), str(passing))
    assert out.returncode == 1
    summary = json.loads((runner.RUNS_DIR / "latest" / "summary.json").read_text())
    assert [(s["notebook"], s["status"]) for s in summary] == [("98_fails", "failed"), ("99_passes", "failed")]
    assert summary[0]["error"] == "AssertionError: expected 42, found 41"
