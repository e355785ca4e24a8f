"""The guide's medallion snippet, run for real where it goes wrong (see ``seed-pitfalls.md``).

* ``_commit_version`` on a plain ``read.format("delta")``: no such column — it exists
  only in the Change Data Feed (``readChangeFeed``).
* ``dropDuplicates(["event_id"])`` keeps whichever copy it meets first: the result
  follows the physical row order, which nothing promises.
* ``mode("overwrite")`` on a partitioned gold table replaces every partition, not only
  the ones in the new data.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from delta.tables import DeltaTable
from pyspark.errors import AnalysisException
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from pipeline_patterns.architectures.medallion.datasets import DatasetSpec
from pipeline_patterns.architectures.medallion.lake import Lake
from pipeline_patterns.architectures.medallion.silver import keep_latest, row_hash


def plain_read_commit_version(spark: SparkSession, bronze: str) -> AnalysisException | None:
    """The guide's ``filter(col("_commit_version") > last_version)`` on a plain read: the error it raises."""
    context_log = logging.getLogger("DataFrameQueryContextLogger")  # pyspark logs the whole JVM trace there
    was_disabled, context_log.disabled = context_log.disabled, True
    try:
        spark.read.format("delta").load(bronze).filter(F.col("_commit_version") > 0)
    except AnalysisException as exc:
        return exc
    finally:
        context_log.disabled = was_disabled
    return None


def stale_winners(spark: SparkSession, bronze: str, key: str) -> dict[str, int]:
    """Keys with several copies in bronze, and how many of them each dedupe keeps an older copy of.

    ``dropDuplicates`` runs twice on the same rows, once meeting them oldest copy first and
    once newest first; the window rule (:func:`keep_latest`) does not depend on row order.
    """
    rows = spark.read.format("delta").load(bronze).filter(F.col(key).isNotNull())
    rows = rows.withColumn("_row_hash", row_hash([c for c in rows.columns if not c.startswith("_")]))
    arrival = F.struct("_ingested_at", "_source_file")
    latest = rows.groupBy(key).agg(F.count("*").alias("copies"), F.max(arrival).alias("latest")).filter("copies > 1")

    def stale(kept) -> int:
        return kept.join(latest, key).filter(arrival != F.col("latest")).count()

    oldest_first = rows.orderBy("_ingested_at", "_source_file").coalesce(1)
    newest_first = rows.orderBy(F.col("_ingested_at").desc(), F.col("_source_file").desc()).coalesce(1)
    return {"keys with several copies": latest.count(),
            "dropDuplicates, rows met oldest first": stale(oldest_first.dropDuplicates([key])),
            "dropDuplicates, rows met newest first": stale(newest_first.dropDuplicates([key])),
            "row_number, latest ingestion wins": stale(keep_latest(oldest_first, key))}


def overwrite_all_partitions(spark: SparkSession, lake: Lake, ds: DatasetSpec, partitions: list[str],
                             scratch: Path) -> tuple[int, int]:
    """The guide's ``mode("overwrite")`` of the recomputed ``partitions`` on a copy of gold:
    the partition count before and after."""
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.copytree(lake.table("gold", ds), scratch)
    before = spark.read.format("delta").load(str(scratch)).select(ds.partition).distinct().count()
    silver = spark.read.format("delta").load(lake.table("silver", ds))
    fresh = ds.aggregate(silver.filter(F.col(ds.partition).cast("string").isin(partitions)))
    fresh.write.format("delta").mode("overwrite").partitionBy(ds.partition).save(str(scratch))
    after = DeltaTable.forPath(spark, str(scratch)).toDF().select(ds.partition).distinct().count()
    return before, after
