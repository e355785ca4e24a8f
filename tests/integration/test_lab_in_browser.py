"""JupyterLab in a real browser: ``make lab``'s server (same options) opens lesson 00 in headless Chromium, driven
by Playwright. The kit's kernel is the notebook's kernel and starts; the first three cells (the title, the
parameters, the first lesson cell) run with Shift+Enter and show their output without an error; no "Jupyter news"
prompt appears (settings shipped by ``make setup``). A screenshot is kept in ``runs/browser/``.

The lesson is copied to a temporary folder first, so that Lab's autosave never writes outputs into ``notebooks/``.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from pipeline_patterns.config import PROJECT_DIR
from pipeline_patterns.poll import wait_until

pytestmark = pytest.mark.integration
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
SHOTS = PROJECT_DIR / "runs" / "browser"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def lab(tmp_path):
    """``make lab``'s command on a free port with a token, serving a copy of lesson 00; stopped afterwards."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    shutil.copy(PROJECT_DIR / "notebooks" / "00_stack_tour.ipynb", folder)
    port, token = free_port(), secrets.token_hex(16)
    command = [str(Path(sys.executable).with_name("jupyter")), "lab", "--no-browser", "--ip", "127.0.0.1",
               f"--port={port}", f"--notebook-dir={folder}", "--MappingKernelManager.default_kernel_name="
               "pipeline-patterns", f"--IdentityProvider.token={token}"]
    command += ["--allow-root"] if os.getuid() == 0 else []
    log = (tmp_path / "lab.log").open("w")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        def answers() -> bool:
            try:
                return requests.get(f"{url}/api/status", params={"token": token}, timeout=2).ok
            except requests.ConnectionError:
                return False

        wait_until(answers, 90, "JupyterLab's server to answer /api/status")
        yield url, token
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the server and the kernels it started (one process group)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
        log.close()


def test_lab_runs_the_first_cells_of_lesson_00_with_the_kit_kernel(lab):
    from playwright.sync_api import expect, sync_playwright

    assert Path(CHROMIUM).exists(), "expected Debian's Chromium at /usr/bin/chromium: `apt-get install chromium`"
    url, token = lab
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{url}/lab/tree/00_stack_tour.ipynb?token={token}")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
        kernel_name = page.locator(".jp-NotebookPanel-toolbar .jp-Toolbar-kernelName").first
        expect(kernel_name).to_contain_text("pipeline-patterns", timeout=120_000)
        page.wait_for_selector(".jp-NotebookPanel-toolbar .jp-Notebook-ExecutionIndicator[data-status='idle']",
                               timeout=120_000)
        page.locator(".jp-Notebook .jp-Cell").first.click()
        for _ in range(3):  # the title (markdown), the parameters cell, the first lesson cell
            page.keyboard.press("Shift+Enter")
        code_cells = page.locator(".jp-Notebook .jp-CodeCell")
        first_lesson_cell = code_cells.nth(1)
        first_lesson_cell.locator(".jp-OutputArea-output").filter(has_text="Kafka:").wait_for(timeout=180_000)
        page.wait_for_selector(".jp-NotebookPanel-toolbar .jp-Notebook-ExecutionIndicator[data-status='idle']",
                               timeout=120_000)
        prompts = [code_cells.nth(i).locator(".jp-InputArea-prompt").inner_text() for i in range(2)]
        errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']").count()
        news = page.get_by_text("official Jupyter news").count()
        page.screenshot(path=str(SHOTS / "jupyterlab-00_stack_tour.png"))
        browser.close()
    assert prompts == ["[1]:", "[2]:"], prompts  # both code cells ran, in order, in a fresh kernel
    assert errors == 0 and news == 0
