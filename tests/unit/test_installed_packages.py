"""The venv is consistent: ``pip check`` finds no broken requirement, whichever extras are installed,
and with the orchestration extra Airflow is the pinned one next to the pinned pyspark, pandas, pyarrow.

``make setup`` installs ``.[dev]`` (orchestration included) with ``-c constraints.txt``, in place of
Airflow's own constraints file, which cannot be downloaded here.
"""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version

import pytest

from pipeline_patterns.config import versions


def test_pip_check_finds_no_broken_requirement():
    out = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True, timeout=300,
                         check=False)
    assert out.returncode == 0, f"pip check:\n{out.stdout}{out.stderr}"
    assert "No broken requirements found" in out.stdout


@pytest.mark.orchestration
def test_airflow_is_installed_beside_the_projects_pins():
    pinned = versions()["python"]
    assert version("apache-airflow") == pinned["apache-airflow"]
    assert version("apache-airflow-core") == pinned["apache-airflow"]
    assert version("pyspark") == pinned["pyspark"] and version("delta-spark") == pinned["delta-spark"]
    assert version("pandas").startswith("2.") and int(version("pyarrow").split(".")[0]) < 22
