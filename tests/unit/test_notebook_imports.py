"""Every name a lesson imports from the kit exists (a moved or renamed function fails here, not in papermill)."""

from __future__ import annotations

import ast
import contextlib
import importlib
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def code(path: Path) -> ast.Module:
    """The lesson's code cells as one module (cells of IPython magics or shell commands left out)."""
    return ast.parse("\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"
                               and not c.source.lstrip().startswith(("%", "!"))))


def kit_uses(path: Path) -> list[tuple[str, str]]:
    """``(module, name)`` for each kit import, and for each ``alias.attr`` on an imported kit module."""
    tree = code(path)
    uses, modules = [], {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pipeline_patterns"):
            for alias in node.names:
                uses.append((node.module, alias.name))
                with contextlib.suppress(ImportError):  # a name, not a submodule
                    modules[alias.asname or alias.name] = importlib.import_module(f"{node.module}.{alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("pipeline_patterns") and alias.asname:
                    modules[alias.asname] = importlib.import_module(alias.name)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules:
            uses.append((modules[node.value.id].__name__, node.attr))
    return uses


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_kit_name_a_lesson_uses_exists(notebook):
    missing = [f"{module}.{name}" for module, name in kit_uses(notebook)
               if not hasattr(importlib.import_module(module), name)]
    assert missing == [], f"{notebook.name} uses names the kit no longer has: {missing}"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_lesson_records_its_key_figures(notebook):
    """The run report shows each lesson's figures: at least two ``record(...)`` calls, ``record`` from the kit."""
    tree = code(notebook)
    imported = any(isinstance(node, ast.ImportFrom) and node.module == "pipeline_patterns.figures"
                   and any(alias.name == "record" and alias.asname is None for alias in node.names)
                   for node in ast.walk(tree))
    calls = sum(isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "record"
                for node in ast.walk(tree))
    assert imported, f"{notebook.name} does not import record from pipeline_patterns.figures"
    assert calls >= 2, f"{notebook.name} records {calls} key figure(s); the run report expects at least two"
