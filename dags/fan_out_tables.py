"""Lesson 16's in-DAG alternative to generated DAGs: one DAG, one mapped task per table (dynamic task mapping).

``list_tables`` reads ``configs/pipelines.yaml`` through the factory's validation when the run starts
(not when the file is parsed), keeps the entries named in the conf's ``tables`` if given, and logs
the problems of bad entries; ``copy_table.expand`` copies each table (a task instance per table,
retried alone); ``summarize`` receives every mapped result and returns the rows loaded per
destination. Trigger it with the conf ``{"schema": "<a PostgreSQL schema>", "tables": ["customers"]}``
(``tables`` optional: all valid entries).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from airflow.sdk import dag, task

CONFIG = Path(__file__).parent / "configs" / "pipelines.yaml"


@dag(dag_id="fan_out_tables", schedule=None, start_date=datetime(2024, 1, 1, tzinfo=UTC), catchup=False,
     max_active_runs=1, tags=["kit", "dynamic"])  # one run at a time: the copies share their stage tables
def fan_out_tables():
    @task
    def list_tables(dag_run=None) -> list[dict]:
        """A job per valid pipeline entry (those of ``conf["tables"]`` if given), each with the run's schema."""
        import logging

        from pipeline_patterns.orchestration.dag_factory import load_specs
        from pipeline_patterns.orchestration.table_copy import schema_from_conf

        schema = schema_from_conf(dag_run.conf)
        read = load_specs(CONFIG)
        for problem in read.problems:
            logging.getLogger(__name__).error("%s: %s", CONFIG.name, problem)
        wanted = dag_run.conf.get("tables")
        if wanted is not None and not (isinstance(wanted, list) and all(isinstance(t, str) for t in wanted)):
            raise ValueError(f'expected conf "tables" to be a list of source names, found {wanted!r}')
        specs = [s for s in read.specs if wanted is None or s.source in wanted]
        unknown = sorted(set(wanted or []) - {s.source for s in read.specs})
        if unknown:
            raise ValueError(f"conf tables {unknown} are not sources of a valid entry of {CONFIG.name}; "
                             f"valid: {[s.source for s in read.specs]}")
        return [{"schema": schema, "source": s.source, "destination": s.destination,
                 "steps": list(s.transformations)} for s in specs]

    @task
    def copy_table(job: dict) -> dict:
        from pipeline_patterns.orchestration import table_copy

        return table_copy.copy_table(job["schema"], job["source"], job["destination"], job["steps"])

    @task
    def summarize(results) -> dict:
        """Rows loaded per destination, from every mapped ``copy_table``."""
        return {r["destination"]: r["loaded"] for r in results}

    summarize(copy_table.expand(job=list_tables()))


fan_out_tables()
