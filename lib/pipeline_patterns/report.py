"""A run's report page, ``runs/<stamp>/index.html``, and two runs compared.

The page lists every lesson of ``summary.json`` — failed ones first, with their error — with its seconds, the key
figures it recorded (:mod:`pipeline_patterns.figures`), a thumbnail of each plot it drew (written to ``img/``) and a
link to its full HTML. Everything is read from the executed notebooks beside ``summary.json``; nothing re-runs.
Each image marks itself broken if it does not load (``data-broken``), so a browser test can check the page.
"""

from __future__ import annotations

import base64
import html
import json
from dataclasses import dataclass, field
from pathlib import Path

from pipeline_patterns.figures import MIME, shown


@dataclass
class LessonReport:
    notebook: str
    status: str
    seconds: float
    error: str | None
    figures: list[dict] = field(default_factory=list)
    images: list[str] = field(default_factory=list)  # paths relative to the run folder
    has_html: bool = False


def read_lesson(run_dir: Path, entry: dict, write_images: bool = True) -> LessonReport:
    """One lesson of a run: its summary entry, the figures and plots of its executed notebook."""
    import nbformat

    lesson = LessonReport(entry["notebook"], entry["status"], entry["seconds"], entry["error"],
                          has_html=(run_dir / f"{entry['notebook']}.html").exists())
    executed = run_dir / f"{entry['notebook']}.ipynb"
    if not executed.exists():
        return lesson
    nb = nbformat.read(executed, as_version=4)
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if MIME in data:
                lesson.figures.append(dict(data[MIME]))
            if "image/png" in data and write_images:
                path = Path("img") / f"{lesson.notebook}-{len(lesson.images) + 1}.png"
                (run_dir / path).parent.mkdir(exist_ok=True)
                (run_dir / path).write_bytes(base64.b64decode(data["image/png"]))
                lesson.images.append(str(path))
    return lesson


def exercise_verdicts(run_dir: Path, notebook: str) -> dict[str, str]:
    """The exercises graded in one executed lesson of a run: ``{"04.keep_the_late_event": "passed", ...}``."""
    lesson = read_lesson(run_dir, {"notebook": notebook, "status": "", "seconds": 0, "error": None},
                         write_images=False)
    return {f["name"].removeprefix("exercise "): f["value"] for f in lesson.figures
            if f["name"].startswith("exercise ")}


def read_run(run_dir: Path, write_images: bool = True) -> list[LessonReport]:
    """Every lesson of a run, failed ones first (then in the run's order)."""
    summary = run_dir / "summary.json"
    if not summary.exists():
        raise FileNotFoundError(f"expected a run folder with summary.json (runs/<stamp>/), found none in {run_dir}: "
                                "run `make run` first, or name a folder under runs/")
    lessons = [read_lesson(run_dir, entry, write_images) for entry in json.loads(summary.read_text())]
    return sorted(lessons, key=lambda lesson: lesson.status == "ok")


def _value(figure: dict) -> str:
    return html.escape(f"{shown(figure['value'])} {figure.get('unit', '')}".strip())


def render(run_dir: Path, lessons: list[LessonReport]) -> str:
    failed = sum(lesson.status != "ok" for lesson in lessons)
    total = sum(lesson.seconds for lesson in lessons)
    rows = []
    for lesson in lessons:
        name = html.escape(lesson.notebook)
        link = f'<a href="{name}.html">{name}</a>' if lesson.has_html else name
        error = f'<pre class="error">{html.escape(lesson.error)}</pre>' if lesson.error else ""
        figures = "".join(f"<li>{html.escape(f['name'])}: <b>{_value(f)}</b></li>" for f in lesson.figures)
        thumbs = "".join(f'<a href="{html.escape(p)}"><img src="{html.escape(p)}" alt="plot {i} of {name}" '
                         f'onerror="this.dataset.broken=1"></a>' for i, p in enumerate(lesson.images, start=1))
        rows.append(f'<tr class="{html.escape(lesson.status)}" data-lesson="{name}"><td>{link}{error}</td>'
                    f'<td>{html.escape(lesson.status)}</td><td>{lesson.seconds:.1f}</td>'
                    f'<td><ul>{figures}</ul></td><td class="plots">{thumbs}</td></tr>')
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Pipeline Patterns run {html.escape(run_dir.name)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; }} table {{ border-collapse: collapse; width: 100%; }}
td, th {{ border-bottom: 1px solid #ddd; padding: .4rem; vertical-align: top; text-align: left; }}
tr.failed td {{ background: #fde8e8; }} pre.error {{ white-space: pre-wrap; color: #a00; margin: .3rem 0 0; }}
.plots img {{ width: 180px; margin: 0 .3rem .3rem 0; border: 1px solid #ccc; }} ul {{ margin: 0; padding-left: 1rem; }}
</style></head><body>
<h1>Run {html.escape(run_dir.name)}</h1>
<p>{len(lessons)} lessons, {len(lessons) - failed} ok, {failed} failed, {total / 60:.1f} minutes.
<a href="summary.json">summary.json</a> · <a href="run.log">run.log</a></p>
<table><thead><tr><th>lesson</th><th>status</th><th>seconds</th><th>key figures</th><th>plots</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody></table></body></html>
"""


def write_index(run_dir: Path) -> Path:
    """Write ``index.html`` (and ``img/``) for a run folder; its path."""
    lessons = read_run(run_dir)
    if not (run_dir / "run.log").exists():
        (run_dir / "run.log").touch()
    page = run_dir / "index.html"
    page.write_text(render(run_dir, lessons))
    return page


def compare(run_a: Path, run_b: Path) -> list[dict]:
    """Seconds, status and every key figure of two runs, side by side (a row per lesson and figure)."""
    a = {lesson.notebook: lesson for lesson in read_run(run_a, write_images=False)}
    b = {lesson.notebook: lesson for lesson in read_run(run_b, write_images=False)}
    rows = []
    for name in sorted(a.keys() | b.keys()):
        la, lb = a.get(name), b.get(name)
        rows.append({"lesson": name, "figure": "seconds", "a": la.seconds if la else None,
                     "b": lb.seconds if lb else None})
        rows.append({"lesson": name, "figure": "status", "a": la.status if la else None,
                     "b": lb.status if lb else None})
        figures_a = {f["name"]: f for f in la.figures} if la else {}
        figures_b = {f["name"]: f for f in lb.figures} if lb else {}
        for figure in dict.fromkeys([*figures_a, *figures_b]):
            unit = (figures_a.get(figure) or figures_b[figure]).get("unit", "")
            rows.append({"lesson": name, "figure": f"{figure} ({unit})" if unit else figure,
                         "a": figures_a[figure]["value"] if figure in figures_a else None,
                         "b": figures_b[figure]["value"] if figure in figures_b else None})
    return rows

