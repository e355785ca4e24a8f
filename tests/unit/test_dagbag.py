"""Every DAG in ``dags/`` loads: Airflow's own DagBag, 0 import errors.

Needs Airflow (the orchestration extra): ``make test`` runs it, ``make test-unit`` (the ``test`` extra
only) deselects it. The DagBag runs in a child process with a throw-away ``AIRFLOW_HOME``, so importing
Airflow changes nothing in this test process or in the kit's ``var/airflow``; parsing needs no database.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from pipeline_patterns.config import PROJECT_DIR

pytestmark = pytest.mark.orchestration

LOAD = """
import json
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder={folder!r})
print("DAGBAG " + json.dumps({{"dags": sorted(bag.dag_ids), "errors": bag.import_errors,
                              "files": len(bag.file_last_changed)}}))
"""


def test_every_dag_in_dags_loads_without_an_import_error(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PG"))}
    env.update(AIRFLOW_HOME=str(tmp_path), AIRFLOW__CORE__LOAD_EXAMPLES="False")
    out = subprocess.run([sys.executable, "-c", LOAD.format(folder=str(PROJECT_DIR / "dags"))], env=env,
                         capture_output=True, text=True, timeout=300, check=False)
    line = next((x for x in out.stdout.splitlines() if x.startswith("DAGBAG ")), None)
    assert out.returncode == 0 and line, f"the DagBag did not load:\n{out.stdout[-2000:]}{out.stderr[-3000:]}"
    bag = json.loads(line.removeprefix("DAGBAG "))
    assert bag["errors"] == {}, "import errors in dags/:\n" + "\n".join(f"{f}: {e}" for f, e in bag["errors"].items())
    python_files = [p for p in (PROJECT_DIR / "dags").rglob("*.py")]
    assert bag["files"] == len(python_files) and "kit_example" in bag["dags"]
