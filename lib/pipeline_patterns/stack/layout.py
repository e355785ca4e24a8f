"""Which services a stack has (its layout) and where each of them listens and keeps files.

Every port and path is derived here from the settings, so a service never hard-codes one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline_patterns.config import Settings


@dataclass
class Layout:
    """Which services this stack has: one or three Kafka brokers, Spark cluster or not, Airflow or not."""

    brokers: int = 1
    spark_cluster: bool = False
    airflow: bool = False


@dataclass
class Context:
    """A layout with its settings: the ports, folders and logs its services use."""

    settings: Settings
    layout: Layout
    java: str = "java"

    @property
    def var(self) -> Path:
        return self.settings.stack_path

    @property
    def logs(self) -> Path:
        return self.var / "logs"

    def log(self, service: str) -> Path:
        return self.logs / f"{service}.log"

    def broker_port(self, node: int) -> int:
        return self.settings.kafka_port + 2 * (node - 1)

    def controller_port(self, node: int) -> int:
        return self.broker_port(node) + 1

    @property
    def bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{self.broker_port(n)}" for n in range(1, self.layout.brokers + 1))

    @property
    def replication(self) -> int:
        return min(3, self.layout.brokers)
