"""What Airflow's DagBag makes of a folder of DAG files: the DAGs loaded, the import errors, the problems logged.

Lesson 16 loads the kit's factory and the guide's side by side with the same bad entry: the kit's
file loads its good DAGs and logs a problem for the bad one, the guide's is one import error.

Guarantee: the DagBag (``airflow.dag_processing.dagbag.DagBag``; the ``airflow.models.dagbag`` name
is a deprecated shim in Airflow 3.3, and ``include_examples`` is gone: examples stay out through
``AIRFLOW__CORE__LOAD_EXAMPLES=False``) runs in a child process with a throw-away ``AIRFLOW_HOME``
and no ``AIRFLOW_*`` or ``PG*`` variables, so importing Airflow changes nothing in the caller (a
notebook kernel, a test) or in the kit's ``var/airflow``, and a DAG file that connects anywhere
while it is parsed fails here as it should. Parsing needs no database. Several folders share one
child (one Airflow import, a few seconds on the kit's machine).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

MARKER = "DAGBAG_REPORT "

CHILD = r'''
import json, logging, os, sys
from airflow.dag_processing.dagbag import DagBag


class Capture(logging.Handler):
    """ERROR records logged from code in the folder's own files (a DAG file's logging.error)."""

    def __init__(self, folder):
        super().__init__(logging.ERROR)
        self.folder, self.messages = folder, []

    def emit(self, record):
        if os.path.abspath(record.pathname).startswith(self.folder + os.sep):
            self.messages.append(record.getMessage())


reports = []
for folder in json.loads(sys.argv[1]):
    capture = Capture(folder)
    logging.getLogger().addHandler(capture)
    try:
        bag = DagBag(dag_folder=folder)
    finally:
        logging.getLogger().removeHandler(capture)
    dags = {}
    for dag_id, dag in sorted(bag.dags.items()):
        schedule = (dag.schedule if dag.schedule is None or isinstance(dag.schedule, str)
                    else getattr(dag.timetable, "summary", type(dag.timetable).__name__))
        dags[dag_id] = {"file": os.path.relpath(dag.fileloc, folder), "schedule": schedule, "tags": sorted(dag.tags),
                        "tasks": {t.task_id: sorted(t.downstream_task_ids) for t in dag.tasks},
                        "mapped": sorted(t.task_id for t in dag.tasks if t.is_mapped)}
    errors = {os.path.relpath(f, folder) if os.path.isabs(f) else f: (e.strip().splitlines() or [""])[-1]
              for f, e in bag.import_errors.items()}
    reports.append({"dags": dags, "import_errors": errors, "problems": capture.messages})
print(sys.argv[2] + json.dumps(reports))
'''


@dataclass(frozen=True)
class DagShape:
    """One loaded DAG: its file (relative), schedule as written (a timetable's summary otherwise), tags, tasks."""

    file: str
    schedule: str | None
    tags: list[str]
    tasks: dict[str, list[str]]  # task id -> the ids of its downstream tasks
    mapped: list[str]  # the ids of its mapped tasks (``.expand``)


@dataclass(frozen=True)
class DagBagReport:
    """A folder as the DagBag saw it; ``import_errors`` maps a file (relative) to its traceback's last line."""

    folder: Path
    dags: dict[str, DagShape]
    import_errors: dict[str, str]
    problems: list[str]  # ERROR records logged by the folder's files while parsed (the kit's factory's problems)

    @property
    def dag_ids(self) -> list[str]:
        return sorted(self.dags)


def load_dag_folders(folders: Sequence[str | Path], timeout_s: float = 300.0) -> list[DagBagReport]:
    """A :class:`DagBagReport` per folder, in order, from one child process."""
    paths = [Path(f).resolve() for f in folders]
    missing = [str(p) for p in paths if not p.is_dir()]
    if missing:
        raise FileNotFoundError(f"expected folders of DAG files, found no such folder: {', '.join(missing)}")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PG"))}
    with tempfile.TemporaryDirectory(prefix="dagbag-home-") as home:
        env.update(AIRFLOW_HOME=home, AIRFLOW__CORE__LOAD_EXAMPLES="False")
        out = subprocess.run([sys.executable, "-c", CHILD, json.dumps([str(p) for p in paths]), MARKER],
                             env=env, capture_output=True, text=True, timeout=timeout_s, check=False)
    line = next((x for x in out.stdout.splitlines() if x.startswith(MARKER)), None)
    if out.returncode != 0 or line is None:
        raise RuntimeError(f"the DagBag child process failed (exit {out.returncode}; expected a {MARKER.strip()} "
                           f"line): is Airflow installed (`make setup`)?\n{out.stdout[-1500:]}{out.stderr[-3000:]}")
    return [DagBagReport(path, {dag_id: DagShape(**shape) for dag_id, shape in report["dags"].items()},
                         report["import_errors"], report["problems"])
            for path, report in zip(paths, json.loads(line.removeprefix(MARKER)), strict=True)]


def load_dag_folder(folder: str | Path, timeout_s: float = 300.0) -> DagBagReport:
    """The :class:`DagBagReport` of one folder."""
    return load_dag_folders([folder], timeout_s)[0]
