"""Run notebooks in order with papermill and write a report under ``runs/``.

Each run gets ``runs/<UTC timestamp>/`` with every executed notebook, its HTML
rendering, ``summary.json`` (a list of ``{"notebook", "status", "seconds",
"error"}``) and ``index.html``, the report page (:mod:`pipeline_patterns.report`);
``runs/latest`` points at the newest run. Warnings of the kernels and
their JVMs go to ``run.log`` in the same folder, not between the progress bars.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from pipeline_patterns.config import PROJECT_DIR

NOTEBOOKS_DIR = PROJECT_DIR / "notebooks"
RUNS_DIR = PROJECT_DIR / "runs"


@dataclass
class NotebookResult:
    notebook: str
    status: str  # "ok" | "failed"
    seconds: float
    error: str | None


def parse_value(text: str) -> object:
    """A ``-p NAME VALUE`` value as papermill's CLI reads it: int, float, bool, None or str."""
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            continue
    return {"True": True, "true": True, "False": False, "false": False, "None": None}.get(text, text)


def find_notebooks(names: list[str]) -> list[Path]:
    """Every lesson in order, or the named ones (a path, a file name, or a prefix like ``00``)."""
    lessons = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
    if not names:
        return lessons
    chosen = []
    for name in names:
        path = Path(name)
        if path.suffix == ".ipynb" and path.exists():
            chosen.append(path.resolve())
            continue
        matches = [nb for nb in lessons if nb.name == name or nb.stem == name or nb.name.startswith(name)]
        if len(matches) != 1:
            raise FileNotFoundError(
                f"{name!r} matches {len(matches)} notebooks in {NOTEBOOKS_DIR}; expected exactly one. "
                f"Lessons: {', '.join(nb.stem for nb in lessons)}"
            )
        chosen.append(matches[0])
    return chosen


def _kernel_name() -> str:
    from jupyter_client.kernelspec import KernelSpecManager

    from pipeline_patterns.bootstrap import KERNEL_NAME

    return KERNEL_NAME if KERNEL_NAME in KernelSpecManager().find_kernel_specs() else "python3"


def _describe(exc: BaseException) -> str:
    ename, evalue = getattr(exc, "ename", None), getattr(exc, "evalue", None)
    if ename:
        return f"{ename}: {evalue}"
    return f"{type(exc).__name__}: {exc}"


def execute_one(notebook: Path, out_dir: Path, parameters: dict[str, object], kernel: str) -> NotebookResult:
    import papermill
    from nbconvert import HTMLExporter

    output = out_dir / notebook.name
    started = time.monotonic()
    error = None
    try:
        papermill.execute_notebook(
            str(notebook), str(output), parameters=parameters, kernel_name=kernel,
            cwd=str(notebook.parent), progress_bar=False, log_output=False, language="python",
        )
    except Exception as exc:  # a failed lesson is reported, the run goes on
        error = _describe(exc)
    seconds = round(time.monotonic() - started, 1)
    if output.exists():
        body, _ = HTMLExporter().from_filename(str(output))
        output.with_suffix(".html").write_text(body)
    return NotebookResult(notebook.stem, "failed" if error else "ok", seconds, error)


def run(notebooks: list[Path], parameters: dict[str, object], runs_dir: Path = RUNS_DIR,
        progress: bool = True) -> tuple[Path, list[NotebookResult]]:
    """Execute ``notebooks`` in order; return the run folder and one result per notebook."""
    from tqdm import tqdm

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out_dir = runs_dir / stamp
    for n in range(2, 100):  # two runs within one second get stamp, stamp-2, ...
        try:
            out_dir.mkdir(parents=True, exist_ok=False)
            break
        except FileExistsError:
            out_dir = runs_dir / f"{stamp}-{n}"
    latest = runs_dir / "latest"
    tmp_link = runs_dir / f".latest-{os.getpid()}"
    tmp_link.unlink(missing_ok=True)
    tmp_link.symlink_to(out_dir.name)
    tmp_link.replace(latest)

    kernel = _kernel_name()
    results = []
    with _stderr_to(out_dir / "run.log") as terminal:
        bar = tqdm(notebooks, unit="notebook", disable=not progress, file=terminal)
        for notebook in bar:
            bar.set_description(notebook.stem)
            results.append(execute_one(notebook, out_dir, parameters, kernel))
            (out_dir / "summary.json").write_text(json.dumps([asdict(r) for r in results], indent=2))
    from pipeline_patterns.report import write_index

    write_index(out_dir)
    return out_dir, results


@contextmanager
def _stderr_to(log: Path) -> Iterator[TextIO]:
    """Send everything written to file descriptor 2 to ``log`` — this process's warnings and
    those of the kernels and JVMs it starts, which inherit the descriptor ("Kernel is running
    over TCP without encryption", log4j lines) — and yield a stream to the real stderr for
    the progress bar."""
    sys.stderr.flush()
    saved = os.dup(2)
    terminal = os.fdopen(os.dup(saved), "w", buffering=1)
    with open(log, "ab") as sink:
        os.dup2(sink.fileno(), 2)
    try:
        yield terminal
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        terminal.close()
