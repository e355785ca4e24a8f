"""What an Airflow lesson does first: make sure the kit's Airflow runs, and its DAGs are parsed and unpaused.

If Airflow's API server does not answer, :func:`ready` starts it (``stack up --airflow``, keeping the running
stack's layout) — the same as ``make up AIRFLOW=1`` — and says so; a start that fails raises the stack's own error,
which names the fix. With ``fresh`` (the default) a lesson's DAGs start with no runs, so a rerun of the lesson never
sees the last one's history.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pipeline_patterns.orchestration.airflow_api import AirflowClient, AirflowNotUp


def ready(dag_ids: Sequence[str], echo: Callable[[str], None] = print, fresh: bool = True) -> AirflowClient:
    """A logged-in client once Airflow is up and every DAG of ``dag_ids`` is parsed, unpaused and (``fresh``)
    runless."""
    client = AirflowClient()
    try:
        client.health()
    except AirflowNotUp:
        from pipeline_patterns.stack import Stack

        echo("Airflow is not running: starting it (the same as `make up AIRFLOW=1`) ...")
        stack = Stack(echo=echo)
        layout = stack.saved_layout()
        stack.up(brokers=layout.brokers if layout else 1, spark_cluster=bool(layout and layout.spark_cluster),
                 airflow=True)
    for dag_id in dag_ids:
        client.wait_for_dag(dag_id)
        if fresh:
            client.delete_runs(dag_id)
        client.set_paused(dag_id, False)
    return client
