"""Lesson 16's generated DAGs: one ``etl_<source>_<destination>`` per entry of ``configs/pipelines.yaml``.

The corrected version of the guide's "Dynamic DAG Generation": each entry is validated first
(:mod:`pipeline_patterns.orchestration.dag_factory`), so a bad entry is logged here as an error and
left out while the good entries still give their DAGs; this file never fails to import because of
the YAML. Trigger a DAG with the conf ``{"schema": "<a PostgreSQL schema>"}``: it copies ``source``
into ``destination`` there (a full refresh; a rerun leaves the same rows).

Airflow's DAG discovery (safe mode) parses only files that mention both "airflow" and "dag": this
file imports no airflow module itself, so this sentence is what keeps it discovered.
"""

from __future__ import annotations

import logging
from pathlib import Path

from pipeline_patterns.orchestration.dag_factory import build_dags

CONFIG = Path(__file__).parent / "configs" / "pipelines.yaml"

built = build_dags(CONFIG)
for problem in built.problems:
    logging.getLogger(__name__).error("%s: %s", CONFIG.name, problem)
globals().update(built.dags)
