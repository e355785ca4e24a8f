"""Every lesson's exercises, graded both ways: untouched they fail, with the reference solution they pass.

The same cells run against both (the model is apache/flink-training): each notebook's ``exercise`` cells are
executed as written, with ``check`` recording instead of displaying, and then with ``solutions=True``. The
notebooks' CI run with ``-p solutions True`` (tests/notebooks/test_lessons.py) repeats the second half inside the
executed lessons.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from pipeline_patterns import exercises

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
LESSONS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def exercise_cells(notebook: Path) -> list[nbformat.NotebookNode]:
    return [c for c in nbformat.read(notebook, as_version=4).cells if "exercise" in c.metadata.get("tags", [])]


def run_cell(cell: nbformat.NotebookNode, monkeypatch, solutions: bool) -> list[tuple[str, exercises.Verdict]]:
    """Execute one exercise cell as the notebook would, collecting the verdicts instead of displaying them."""
    verdicts = []

    def recording_check(exercise_id, yours, *, solutions=False):
        answer = exercises.solution(exercise_id) if solutions else yours
        verdicts.append((exercise_id, exercises.grade(exercise_id, answer)))
        return verdicts[-1][1]

    monkeypatch.setattr(exercises, "check", recording_check)
    exec(compile(cell.source, f"<{cell.metadata['exercise']}>", "exec"), {"solutions": solutions})
    return verdicts


CELLS = [pytest.param(nb, i, id=f"{nb.stem[:2]}-{cell.metadata['exercise']}")
         for nb in LESSONS for i, cell in enumerate(exercise_cells(nb))]


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem[:2])
def test_every_lesson_has_one_to_three_exercises_before_what_we_proved(lesson):
    nb = nbformat.read(lesson, as_version=4)
    cells = exercise_cells(lesson)
    assert 1 <= len(cells) <= 3, f"{lesson.name}: expected 1-3 'Your turn' exercise cells, found {len(cells)}"
    proved = max(i for i, c in enumerate(nb.cells) if c.source.lstrip().startswith("## What we proved"))
    assert all(nb.cells.index(c) < proved for c in cells)
    params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    assert re.search(r"^solutions = False\b", params.source, re.M), f"{lesson.name}: no `solutions = False` parameter"


def test_every_registered_exercise_is_in_its_lesson_and_every_cell_names_a_registered_one():
    in_cells = {c.metadata["exercise"]: nb.stem[:2] for nb in LESSONS for c in exercise_cells(nb)}
    registered = exercises.load_all()
    assert sorted(in_cells) == sorted(registered)
    assert all(registered[ex_id].lesson == lesson for ex_id, lesson in in_cells.items())


@pytest.mark.parametrize(("lesson", "index"), CELLS)
def test_the_untouched_exercise_fails_with_a_hint(lesson, index, monkeypatch):
    cell = exercise_cells(lesson)[index]
    verdicts = run_cell(cell, monkeypatch, solutions=False)
    assert [ex_id for ex_id, _ in verdicts] == [cell.metadata["exercise"]]
    verdict = verdicts[0][1]
    assert not verdict.passed and len(verdict.message) > 20, verdict


@pytest.mark.parametrize(("lesson", "index"), CELLS)
def test_the_reference_solution_passes(lesson, index, monkeypatch):
    cell = exercise_cells(lesson)[index]
    verdicts = run_cell(cell, monkeypatch, solutions=True)
    assert [(ex_id, v.passed) for ex_id, v in verdicts] == [(cell.metadata["exercise"], True)], verdicts


def test_a_missing_solution_and_an_unknown_exercise_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="reference solutions for lesson 01"):
        exercises.solution_module("01", tmp_path)
    (tmp_path / "lesson01.py").write_text("other = 1\n")
    with pytest.raises(LookupError, match=r"expected spread_the_hot_key in .*found only \['other'\]"):
        exercises.solution("01.spread_the_hot_key", tmp_path)
    with pytest.raises(LookupError, match=r"known: .*01\.spread_the_hot_key"):
        exercises.grade("01.no_such_exercise", 1)


def test_an_answer_that_raises_is_wrong_not_a_crash():
    verdict = exercises.grade("01.spread_the_hot_key", lambda event: event["no_such_field"])
    assert not verdict.passed and "KeyError" in verdict.message
