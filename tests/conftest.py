"""Fixtures shared by the test folders."""

from __future__ import annotations

import uuid

import pytest


@pytest.fixture
def unique() -> str:
    """A short suffix for topic, group, table and checkpoint names owned by one test."""
    return uuid.uuid4().hex[:10]


def stop_active_spark() -> None:
    """Stop this process's SparkContext, if any: the next session may need another master."""
    from pyspark import SparkContext

    if SparkContext._active_spark_context is not None:
        SparkContext._active_spark_context.stop()


@pytest.fixture(scope="module")
def spark_cluster():
    """The standalone Spark cluster (master and one 2-core, 2 GiB worker) for a module's tests.

    Started if it was not running and stopped again afterwards, whatever happens, so that the
    suite goes on with the layout it found. No session survives the module: a local session of an
    earlier module is stopped first, a cluster session last. Yields the settings (ports).
    """
    from pipeline_patterns.stack import Stack

    stack = Stack()
    layout = stack.saved_layout()
    was_running = bool(layout and layout.spark_cluster)
    stop_active_spark()
    try:
        stack.up(brokers=layout.brokers if layout else 1, spark_cluster=True)
        yield stack.settings
    finally:
        stop_active_spark()
        if not was_running:
            stack.stop_spark_cluster()


@pytest.fixture(scope="module")
def airflow():
    """Airflow's processes (API server, scheduler, DAG processor, triggerer) for a module's tests.

    Started if they were not running and stopped again afterwards, whatever happens, so that the
    suite goes on with the layout it found; the rest of the stack is left as it was. Yields the
    settings (port, admin).
    """
    from pipeline_patterns.stack import Stack

    stack = Stack()
    layout = stack.saved_layout()
    was_running = bool(layout and layout.airflow)
    try:
        stack.up(brokers=layout.brokers if layout else 1, spark_cluster=bool(layout and layout.spark_cluster),
                 airflow=True)
        yield stack.settings
    finally:
        if not was_running:
            stack.stop_airflow()
