"""Where one medallion deployment keeps its files and tables, and the Delta reads every layer uses.

:func:`table_version` is a table's latest commit; :func:`read_changes` reads the Change
Data Feed between two versions (the only read that has ``_commit_version``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession

from pipeline_patterns.architectures.medallion.datasets import DatasetSpec

CDF = "delta.enableChangeDataFeed"
SMALL_TABLES_CONF = {  # lesson-sized tables on 2 cores: Delta rebuilds a snapshot with 50 tasks by default
    "spark.databricks.delta.snapshotPartitions": "2",
    "spark.sql.shuffle.partitions": "2",
}


@dataclass(frozen=True)
class Lake:
    """Where one medallion deployment keeps its files and tables."""

    root: Path

    def landing(self, ds: DatasetSpec) -> Path:
        return self.root / "landing" / ds.name

    def table(self, layer: str, ds: DatasetSpec) -> str:
        return str(self.root / layer / ds.name)

    @property
    def state_file(self) -> Path:
        return self.root / "_state" / "processed_versions.json"


def table_version(spark: SparkSession, path: str) -> int | None:
    """The table's latest version, None when there is no table yet."""
    if not DeltaTable.isDeltaTable(spark, path):
        return None
    return DeltaTable.forPath(spark, path).history(1).first()["version"]


def read_changes(spark: SparkSession, path: str, first: int, last: int) -> DataFrame:
    """Rows changed in versions ``first..last`` — with ``_change_type``, ``_commit_version``."""
    return (spark.read.format("delta").option("readChangeFeed", "true")
            .option("startingVersion", first).option("endingVersion", last).load(path))
