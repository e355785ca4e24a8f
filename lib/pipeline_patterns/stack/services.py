"""Which services a layout has, in the order they start.

PostgreSQL first, then Kafka (a dedicated controller before three brokers), then Connect
(it needs both), then the optional Spark cluster, then optional Airflow (its metadata lives in
PostgreSQL). Each service lives in its own module.
"""

from __future__ import annotations

from pipeline_patterns.stack.airflow_service import airflow_services
from pipeline_patterns.stack.connect_service import Connect
from pipeline_patterns.stack.kafka_service import CONTROLLER_NODE_ID, KafkaNode
from pipeline_patterns.stack.layout import Context
from pipeline_patterns.stack.postgres_service import Postgres
from pipeline_patterns.stack.service import Service
from pipeline_patterns.stack.spark_service import SparkMaster, SparkWorker


def services_for(ctx: Context) -> list[Service]:
    """The services of a layout, in start order."""
    found: list[Service] = [Postgres(ctx)]
    if ctx.layout.brokers > 1:
        found.append(KafkaNode(CONTROLLER_NODE_ID, ctx))
    found += [KafkaNode(n, ctx) for n in range(1, ctx.layout.brokers + 1)]
    found.append(Connect(ctx))
    if ctx.layout.spark_cluster:
        found += [SparkMaster(ctx), SparkWorker(ctx)]
    if ctx.layout.airflow:
        found += airflow_services(ctx)
    return found
