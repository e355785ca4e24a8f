"""The run report in a real browser: Debian's Chromium, headless, loads ``index.html`` of a real run (two small
notebooks executed by the runner, one of them failing) from a local HTTP server. Every lesson is listed, every
image loaded (an image that fails marks itself ``data-broken``), every link answers 200; a screenshot is kept
in the run folder.
"""

from __future__ import annotations

import functools
import http.server
import re
import shutil
import subprocess
import tempfile
import threading
import urllib.request
from pathlib import Path

import nbformat
import pytest

from pipeline_patterns import runner

pytestmark = pytest.mark.integration
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def lesson(path: Path, body: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("answer = 42", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    notebooks = tmp_path_factory.mktemp("lessons")
    plotted = lesson(notebooks / "98_plots.ipynb", "\n".join([
        "import matplotlib.pyplot as plt",
        "from pipeline_patterns.figures import record",
        "record('rows per second', 12345.6, 'rows/s')",
        "fig, ax = plt.subplots(); ax.plot([1, 2, 3]); plt.show()",
        "fig, ax = plt.subplots(); ax.bar([1, 2], [3, 1]); plt.show()"]))
    failing = lesson(notebooks / "99_fails.ipynb", "assert answer == 41, f'expected 41, found {answer}'")
    out_dir, results = runner.run([plotted, failing], {}, runs_dir=tmp_path_factory.mktemp("runs"), progress=False)
    assert [(r.notebook, r.status) for r in results] == [("98_plots", "ok"), ("99_fails", "failed")]
    return out_dir


@pytest.fixture(scope="module")
def served(run_dir):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(run_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def chromium(*args: str) -> subprocess.CompletedProcess:
    assert Path(CHROMIUM).exists(), ("expected Debian's Chromium at /usr/bin/chromium for the browser tests, found "
                                     "none: `apt-get install chromium` (.ci/run installs it)")
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True,
                              text=True, timeout=120, check=False)


def test_the_report_loads_in_chromium_with_every_lesson_image_and_link(run_dir, served):
    out = chromium("--virtual-time-budget=10000", "--dump-dom", f"{served}/index.html")
    dom = out.stdout
    assert out.returncode == 0 and "<table>" in dom, out.stderr[-2000:]
    assert re.findall(r'data-lesson="([^"]+)"', dom) == ["99_fails", "98_plots"]  # failed first
    assert "AssertionError: expected 41, found 42" in dom and "rows per second: <b>12,346 rows/s</b>" in dom
    images = re.findall(r"<img [^>]*>", dom)
    assert len(images) == 2 and not [i for i in images if "data-broken" in i]
    links = sorted(set(re.findall(r'href="([^"#]+)"', dom)))
    assert {"98_plots.html", "99_fails.html", "summary.json", "img/98_plots-1.png"} <= set(links)
    for link in links:
        with urllib.request.urlopen(f"{served}/{link}", timeout=10) as response:
            assert response.status == 200, link
    shot = run_dir / "report.png"
    out = chromium("--window-size=1400,900", f"--screenshot={shot}", f"{served}/index.html")
    assert shot.exists() and shot.stat().st_size > 10_000, out.stderr[-2000:]


def test_a_broken_image_is_seen_as_broken(run_dir, served):
    """The check above can fail: with a plot's file gone, the browser marks its image broken."""
    moved = run_dir / "img" / "98_plots-2.png"
    keep = moved.read_bytes()
    moved.unlink()
    try:
        dom = chromium("--virtual-time-budget=10000", "--dump-dom", f"{served}/index.html").stdout
        assert len(re.findall(r"<img [^>]*data-broken[^>]*>", dom)) == 1
    finally:
        moved.write_bytes(keep)
