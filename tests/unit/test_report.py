"""The run report without a stack: figures recorded in outputs, read back; failed lessons first; two runs compared."""

from __future__ import annotations

import base64
import json

import nbformat
import pytest

from pipeline_patterns import figures, report

# A 1x1 PNG, as a notebook stores a plot.
PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082")).decode()


def executed(path, outputs):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("pass")
    cell.outputs = outputs
    nb.cells = [cell]
    nbformat.write(nb, path)


def figure_output(name, value, unit=""):
    return nbformat.v4.new_output("display_data", data={"text/plain": f"{name} = {value}",
                                                        figures.MIME: figures.payload(name, value, unit)})


def make_run(folder, lessons):
    folder.mkdir(parents=True)
    summary = []
    for name, status, seconds, outputs in lessons:
        executed(folder / f"{name}.ipynb", outputs)
        (folder / f"{name}.html").write_text("<html></html>")
        summary.append({"notebook": name, "status": status, "seconds": seconds,
                        "error": None if status == "ok" else "AssertionError: expected 42, found 41"})
    (folder / "summary.json").write_text(json.dumps(summary))
    return folder


def test_a_figure_must_be_named_and_a_finite_number_or_text():
    assert figures.payload("rows/s", 12.5, "rows/s") == {"name": "rows/s", "value": 12.5, "unit": "rows/s"}
    for bad in (float("nan"), True, [1]):
        with pytest.raises(ValueError, match="figure 'x'"):
            figures.payload("x", bad)
    with pytest.raises(ValueError, match="empty"):
        figures.payload(" ", 1)


def test_the_page_lists_failed_lessons_first_with_figures_plots_and_links(tmp_path):
    run = make_run(tmp_path / "20260101T000000Z", [
        ("00_tour", "ok", 20.0, [figure_output("messages", 1000), nbformat.v4.new_output(
            "display_data", data={"image/png": PNG, "text/plain": "<Figure>"})]),
        ("01_topics", "failed", 3.5, [figure_output("skew", 1.25, "x")]),
    ])
    page = report.write_index(run).read_text()
    assert page.index('data-lesson="01_topics"') < page.index('data-lesson="00_tour"')
    assert "AssertionError: expected 42, found 41" in page
    assert "messages: <b>1,000</b>" in page and "skew: <b>1.25 x</b>" in page
    assert '<a href="00_tour.html">' in page and '<img src="img/00_tour-1.png"' in page
    assert (run / "img" / "00_tour-1.png").read_bytes() == base64.b64decode(PNG)
    assert "2 lessons, 1 ok, 1 failed" in page


def test_two_runs_side_by_side(tmp_path):
    a = make_run(tmp_path / "a", [("00_tour", "ok", 20.0, [figure_output("messages", 1000)])])
    b = make_run(tmp_path / "b", [("00_tour", "ok", 18.0, [figure_output("messages", 1200)]),
                                  ("01_topics", "failed", 3.5, [])])
    assert report.compare(a, b) == [
        {"lesson": "00_tour", "figure": "seconds", "a": 20.0, "b": 18.0},
        {"lesson": "00_tour", "figure": "status", "a": "ok", "b": "ok"},
        {"lesson": "00_tour", "figure": "messages", "a": 1000, "b": 1200},
        {"lesson": "01_topics", "figure": "seconds", "a": None, "b": 3.5},
        {"lesson": "01_topics", "figure": "status", "a": None, "b": "failed"},
    ]


def test_a_folder_without_a_run_says_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="make run"):
        report.read_run(tmp_path)
