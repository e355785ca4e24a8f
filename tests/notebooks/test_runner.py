"""The notebook runner end to end: real kernels, real notebooks, a report on disk.

(tests/notebooks/test_lessons.py runs every lesson with its reference solutions; these runs use other parameters.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import nbformat
import pytest

from pipeline_patterns import exercises, runner
from pipeline_patterns.report import exercise_verdicts

pytestmark = pytest.mark.integration


def kit_run(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline_patterns", "run", *args], capture_output=True,
                          text=True, env={**os.environ, "COLUMNS": "200"}, check=False, timeout=900)


# test_lessons.py runs every lesson (with solutions=True) in the same `make test`; this run checks the runner with
# other parameters on two quick lessons (01: sizes and seed; 11: poison records drawn from the seed).
# Every seed-dependent lesson with seeds 7 and 13 is `make test-seeds` (tests/seeds), kept out of
# `make test` so the suite does not execute the slow lessons twice.
def test_lessons_with_other_parameters_are_ok_and_reported():
    out = kit_run("01", "11", "-p", "seed", "7", "-p", "n_events", "5000", "-p", "partitions", "4",
                  "-p", "benchmark_records", "3000")
    assert out.returncode == 0, out.stdout + out.stderr
    latest = runner.RUNS_DIR / "latest"
    summary = json.loads((latest / "summary.json").read_text())
    assert [(s["notebook"], s["status"], s["error"]) for s in summary] == [
        ("01_kafka_topics_and_partition_keys", "ok", None), ("11_dead_letter_queue", "ok", None)]
    assert summary[0]["seconds"] > 0
    # run with their defaults, the untouched exercises are graded and fail, as they should before the learner's turn
    for lesson in summary:
        assert exercise_verdicts(latest, lesson["notebook"]) == dict.fromkeys(
            [ex_id for ex_id, ex in exercises.load_all().items() if ex.lesson == lesson["notebook"][:2]],
            exercises.NOT_YET)
    executed = nbformat.read(latest / "01_kafka_topics_and_partition_keys.ipynb", as_version=4)
    injected = next(c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert "n_events = 5000" in injected.source and "seed = 7" in injected.source
    executed = nbformat.read(latest / "11_dead_letter_queue.ipynb", as_version=4)
    injected = next(c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert "seed = 7" in injected.source
    assert (latest / "01_kafka_topics_and_partition_keys.html").stat().st_size > 10_000
    assert "report:" in out.stdout and "01_kafka_topics_and_partition_keys" in out.stdout


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
