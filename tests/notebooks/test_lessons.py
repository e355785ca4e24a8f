"""Every lesson executed as CI runs it: through the kit's runner (papermill, a real kernel, the real stack), with
the papermill parameter ``solutions=True`` so that each "Your turn" cell grades the instructors' reference solution.

A lesson passes when it ends ``ok`` (its "What we proved" assertions held) and every exercise it registers
recorded ``passed``. The untouched exercises failing is proven in the same suite: in the executed lessons of
``test_runner.py`` (run with their defaults) and cell by cell in ``tests/unit/test_exercises.py``.
"""

from __future__ import annotations

import pytest

from pipeline_patterns import exercises, runner
from pipeline_patterns.report import exercise_verdicts

pytestmark = pytest.mark.integration

LESSONS = runner.find_notebooks([])
RUNS = runner.RUNS_DIR / "with-solutions"  # one folder per lesson run (runs/ is not in git)


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda path: path.stem)
def test_the_lesson_is_ok_and_every_reference_solution_passes(lesson):
    run_dir, [result] = runner.run([lesson], {"solutions": True}, runs_dir=RUNS, progress=False)
    assert (result.status, result.error) == ("ok", None), f"{lesson.stem} failed; see {run_dir}/{lesson.stem}.html"
    registered = sorted(ex_id for ex_id, ex in exercises.load_all().items() if ex.lesson == lesson.stem[:2])
    assert exercise_verdicts(run_dir, result.notebook) == dict.fromkeys(registered, exercises.PASSED)
