"""Orchestration patterns (lessons 15-16): Airflow DAG runs, backfills and dependencies, driven
through Airflow's REST API (:mod:`pipeline_patterns.orchestration.airflow_api`) against the
Airflow that ``make up AIRFLOW=1`` starts, with the DAGs of ``dags/``."""
