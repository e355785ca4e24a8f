"""Medallion gold: aggregates partitioned by date (events) or month (flights).

Only partitions touched by silver's own change feed since the last gold run are
recomputed, and only they are replaced, with ``replaceWhere``. Not dynamic partition
overwrite: it replaces only partitions present in the new data, so a partition whose rows
all moved away would keep stale rows; ``replaceWhere`` names what is replaced and Delta
checks every written row against it. (The guide's plain ``mode("overwrite")`` replaces
every partition.)

Guarantee: a rerun with no new silver version commits nothing; partitions silver did
not touch are never rewritten.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from pipeline_patterns.architectures.medallion import state
from pipeline_patterns.architectures.medallion.datasets import DatasetSpec
from pipeline_patterns.architectures.medallion.lake import Lake, read_changes, table_version


@dataclass(frozen=True)
class GoldRun:
    dataset: str
    affected: tuple[str, ...]  # partitions recomputed and replaced
    version: int | None


def sql_literal(value: date | str) -> str:
    """A typed partition value as a SQL literal (``replaceWhere`` takes only a SQL string)."""
    if isinstance(value, date):
        return f"DATE'{value.isoformat()}'"
    return "'" + str(value).replace("'", "''") + "'"


def silver_to_gold(spark: SparkSession, lake: Lake, ds: DatasetSpec) -> GoldRun:
    """Recompute the gold partitions silver changed since the last run; replace only those."""
    consumer = f"gold_{ds.name}"
    silver, gold = lake.table("silver", ds), lake.table("gold", ds)
    last, latest = state.read_state(lake.state_file, consumer), table_version(silver)
    if latest is None or latest <= last:
        return GoldRun(ds.name, (), table_version(gold))
    touched = read_changes(spark, silver, last + 1, latest).select(ds.partition).distinct().collect()
    affected = sorted(row[0] for row in touched if row[0] is not None)
    if affected:
        fresh = ds.aggregate(spark.read.format("delta").load(silver).filter(F.col(ds.partition).isin(affected)))
        writer = fresh.write.format("delta").partitionBy(ds.partition)
        if table_version(gold) is not None:
            predicate = f"{ds.partition} IN ({', '.join(sql_literal(v) for v in affected)})"
            writer = writer.mode("overwrite").option("replaceWhere", predicate)
        writer.save(gold)
    state.write_state(lake.state_file, consumer, latest)
    return GoldRun(ds.name, tuple(str(v) for v in affected), table_version(gold))
