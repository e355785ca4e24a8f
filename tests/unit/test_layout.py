"""The library's house plan (ARCHITECTURE.md), checked on the source: import direction, sizes, pieces written once.

Lessons -> sections -> plumbing, never back. These tests read the code (``ast``), so they
need no service and fail with the file and line that breaks a rule.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "lib" / "pipeline_patterns"
SECTIONS = ("architectures", "batch", "streaming", "exactly_once", "errors", "ingestion", "orchestration",
            "capstone")  # capstone: lesson 17, a composition of the other sections
LESSON_SIDE = ("exercises",)  # the lessons' own layer inside the package: imports sections, imported by nothing below
MAX_LINES = 250
SIZE_REASON = "Size:"  # a module over MAX_LINES says why in a docstring line starting with this


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if ".ipynb_checkpoints" not in p.parts)


def rel(path: Path) -> str:
    return path.relative_to(PACKAGE.parent).as_posix()


def section_of(path: Path) -> str | None:
    first = path.relative_to(PACKAGE).parts[0]
    return first if first in SECTIONS else None


def on_lesson_side(path: Path) -> bool:
    return path.relative_to(PACKAGE).parts[0] in LESSON_SIDE


def test_nothing_below_the_lessons_imports_their_exercises():
    wrong = [f"{rel(p)}:{line} imports {name}" for p in modules() if not on_lesson_side(p)
             for line, name in imported_modules(p) if name.startswith("pipeline_patterns.exercises")]
    assert wrong == [], "sections and plumbing must not depend on the lessons' exercises:\n" + "\n".join(wrong)


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every module ``path`` imports (absolute names; ``from x import y`` gives ``x.y`` and ``x``)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def test_plumbing_never_imports_a_section():
    wrong = [f"{rel(p)}:{line} imports {name}" for p in modules() if section_of(p) is None and not on_lesson_side(p)
             for line, name in imported_modules(p)
             if any(name == f"pipeline_patterns.{s}" or name.startswith(f"pipeline_patterns.{s}.") for s in SECTIONS)]
    assert wrong == [], "plumbing must not depend on a section (move the shared piece down):\n" + "\n".join(wrong)


def test_sections_import_no_plotting_and_no_lesson():
    wrong = [f"{rel(p)}:{line} imports {name}" for p in modules() if section_of(p)
             for line, name in imported_modules(p)
             if name.split(".")[0] in ("matplotlib", "IPython", "papermill")
             or name in ("pipeline_patterns.plots", "pipeline_patterns.runner")]
    assert wrong == [], "figures go through pipeline_patterns.plots, called by the lesson:\n" + "\n".join(wrong)


def test_no_module_is_too_big_to_hold_in_ones_head():
    big = []
    for p in modules():
        lines = len(p.read_text().splitlines())
        doc = ast.get_docstring(ast.parse(p.read_text())) or ""
        if lines > MAX_LINES and not any(line.startswith(SIZE_REASON) for line in doc.splitlines()):
            big.append(f"{rel(p)}: {lines} lines")
    assert big == [], (f"over {MAX_LINES} lines without a '{SIZE_REASON} ...' line in the docstring "
                       "saying why (or split it):\n" + "\n".join(big))


def test_no_two_classes_of_the_kit_share_a_name():
    where = defaultdict(list)
    for p in modules():
        for node in ast.parse(p.read_text()).body:
            if isinstance(node, ast.ClassDef):
                where[node.name].append(rel(p))
    clashes = {name: paths for name, paths in where.items() if len(paths) > 1}
    assert clashes == {}


# Each shared piece is defined (or called, for the raw API) in exactly one module.
WRITTEN_ONCE = {
    "the Kafka readStream source": (r"readStream\s*\.format\(\s*\"kafka\"", "spark.py"),
    "the bounded-run wait": (r"\.awaitTermination\(", "spark.py"),
    "topic creation": (r"\.create_topics\(", "kafka_client.py"),
    "committed-offset reads": (r"\.list_group_offsets\(", "kafka_client.py"),
    "the source-position header value": (r"def \w*position\(\s*topic", "kafka_client.py"),
    "EVENT_TYPES": (r"^EVENT_TYPES\s*=", "datagen.py"),
    "process spawning": (r"subprocess\.Popen\(", "stack/processes.py"),
    "log tailing": (r"def _?tail\(", "stack/processes.py"),
}


@pytest.mark.parametrize("piece", sorted(WRITTEN_ONCE))
def test_shared_piece_is_written_once(piece):
    pattern, home = WRITTEN_ONCE[piece]
    found = sorted({rel(p) for p in modules() if re.search(pattern, p.read_text(), re.MULTILINE)})
    assert found == [f"pipeline_patterns/{home}"]
