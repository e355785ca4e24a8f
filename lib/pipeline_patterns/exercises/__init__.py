"""Exercises that check themselves: a lesson's "Your turn" cells and the checks that grade them.

Each lesson ends with one to three exercises. An exercise cell sets a ``your_...`` value (a number, a text, a
function) and calls ``check("04.keep_the_late_event", your_delay, solutions=solutions)``. The check runs the
learner's value through the lesson's own pattern (the library's code, with seeded data it makes itself, so a
check needs no service) and answers right or wrong; when wrong it gives a hint, never the answer.

Reference solutions live apart, in ``solutions/lessonNN.py`` at the project root (for instructors; the
model is apache/flink-training's ``src/solution``). With the papermill parameter ``solutions=True`` the cell
grades the reference solution instead of the learner's value: CI runs every lesson that way and expects every
check to pass, and ``tests/unit/test_exercises.py`` runs every exercise cell untouched and expects every check
to fail. Each verdict is also recorded as a figure (``exercise 04.keep_the_late_event = passed``) for the run
report.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from pipeline_patterns.config import PROJECT_DIR

SOLUTIONS_DIR = PROJECT_DIR / "solutions"
PASSED, NOT_YET = "passed", "not yet"


@dataclass(frozen=True)
class Verdict:
    """A check's answer: right or wrong, and what to read (a hint when wrong, never the answer)."""

    passed: bool
    message: str


@dataclass(frozen=True)
class Exercise:
    id: str           # "04.keep_the_late_event": the lesson's two digits, a dot, a name
    title: str
    grade: Callable[[Any], Verdict]

    @property
    def lesson(self) -> str:
        return self.id.split(".", 1)[0]

    @property
    def name(self) -> str:
        return self.id.split(".", 1)[1]


REGISTRY: dict[str, Exercise] = {}


def exercise(exercise_id: str, title: str) -> Callable[[Callable[[Any], Verdict]], Callable[[Any], Verdict]]:
    """Register a check: ``@exercise("04.keep_the_late_event", "a watermark that keeps the late event")``."""
    lesson, _, name = exercise_id.partition(".")
    if not (len(lesson) == 2 and lesson.isdigit() and name.isidentifier()):
        raise ValueError(f"expected an exercise id like '04.keep_the_late_event', found {exercise_id!r}")

    def register(grade: Callable[[Any], Verdict]) -> Callable[[Any], Verdict]:
        if exercise_id in REGISTRY:
            raise ValueError(f"exercise {exercise_id!r} is registered twice")
        REGISTRY[exercise_id] = Exercise(exercise_id, title, grade)
        return grade

    return register


def right(message: str) -> Verdict:
    return Verdict(True, message)


def wrong(hint: str) -> Verdict:
    return Verdict(False, hint)


def load_all() -> dict[str, Exercise]:
    """Import every ``lessonNN`` module of this package (each registers its checks) and return the registry."""
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("lesson"):
            importlib.import_module(f"{__name__}.{info.name}")
    return REGISTRY


def solution_module(lesson: str, solutions_dir: Path = SOLUTIONS_DIR) -> ModuleType:
    """The instructors' reference solutions for one lesson, imported from ``solutions/lessonNN.py``."""
    path = solutions_dir / f"lesson{lesson}.py"
    if not path.is_file():
        raise FileNotFoundError(f"expected the reference solutions for lesson {lesson} at {path}, found no file; "
                                "they ship with the project's git checkout (solutions/), not with the package")
    spec = importlib.util.spec_from_file_location(f"pipeline_patterns_solutions.lesson{lesson}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def solution(exercise_id: str, solutions_dir: Path = SOLUTIONS_DIR) -> Any:
    """The reference answer to one exercise: the attribute named after the exercise in its lesson's module."""
    ex = find(exercise_id)
    module = solution_module(ex.lesson, solutions_dir)
    if not hasattr(module, ex.name):
        raise LookupError(f"expected {ex.name} in {module.__file__}, the reference answer to {exercise_id}; "
                          f"found only {sorted(n for n in vars(module) if not n.startswith('_'))}")
    return getattr(module, ex.name)


def find(exercise_id: str) -> Exercise:
    registry = load_all()
    if exercise_id not in registry:
        raise LookupError(f"expected one of the registered exercises, found {exercise_id!r}; "
                          f"known: {', '.join(sorted(registry))}")
    return registry[exercise_id]


def grade(exercise_id: str, yours: Any) -> Verdict:
    """Grade an answer without showing anything (what tests call); an untouched ``...`` is not yet an answer."""
    ex = find(exercise_id)
    if yours is Ellipsis:
        return wrong(f"not attempted yet: replace the ... with your answer ({ex.title})")
    try:
        return ex.grade(yours)
    except Exception as exc:  # the learner's code raised: that is a wrong answer with its error, not a crash
        return wrong(f"your answer raised {type(exc).__name__}: {exc}")


def check(exercise_id: str, yours: Any, *, solutions: bool = False) -> Verdict:
    """Grade the learner's answer (or, with ``solutions=True``, the reference one), show the verdict, record it."""
    from IPython.display import display

    from pipeline_patterns.figures import MIME, payload

    verdict = grade(exercise_id, solution(exercise_id) if solutions else yours)
    whose = "the reference solution" if solutions else "your answer"
    mark = "✓ right" if verdict.passed else "✗ not yet"
    text = f"{mark} ({exercise_id}, {whose}): {verdict.message}"
    figure = payload(f"exercise {exercise_id}", PASSED if verdict.passed else NOT_YET)
    display({"text/plain": text, MIME: figure}, raw=True)
    return verdict
