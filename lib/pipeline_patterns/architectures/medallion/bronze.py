"""Medallion bronze: raw JSON files appended as they arrived.

Every value is kept as a string (``primitivesAsString``: a malformed value never fails
ingestion or forks a column's type), plus ``_ingested_at`` and ``_source_file``.
Append-only; ``mergeSchema`` lets a new column arrive in a later file; Change Data Feed
on (``delta.enableChangeDataFeed``); ``delta.appendOnly`` makes Delta refuse any update
or delete.

Guarantee: :func:`ingest_new_files` ingests each landed file once (a rerun with no new
file commits nothing); an explicit re-delivery (:func:`ingest_files`) is recorded
again — bronze is the record of what arrived.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from pipeline_patterns.architectures.medallion.datasets import DatasetSpec
from pipeline_patterns.architectures.medallion.lake import CDF, Lake, last_commit, table_version


@dataclass(frozen=True)
class BronzeRun:
    dataset: str
    files: tuple[str, ...]
    rows: int
    version: int | None  # the commit, None when there was nothing to ingest


def ingest_files(spark: SparkSession, files: list[Path], bronze: str, dataset: str = "") -> BronzeRun:
    """Append ``files`` as one batch (one ``_ingested_at``), even if bronze already has them."""
    created = table_version(bronze) is not None
    raw = spark.read.option("primitivesAsString", "true").json([str(f) for f in files])
    rows = (raw.withColumn("_ingested_at", F.current_timestamp())
            .withColumn("_source_file", F.col("_metadata.file_path")))
    writer = rows.write.format("delta").mode("append").option("mergeSchema", "true")
    if not created:  # table properties, set when the table is created
        writer = writer.option(CDF, "true").option("delta.appendOnly", "true")
    writer.save(bronze)
    commit = last_commit(bronze)
    return BronzeRun(dataset, tuple(f.name for f in files), int(commit["operationMetrics"]["numOutputRows"]),
                     commit["version"])


def ingested_files(spark: SparkSession, bronze: str) -> set[Path]:
    if table_version(bronze) is None:
        return set()
    uris = spark.read.format("delta").load(bronze).select("_source_file").distinct().collect()
    return {Path(unquote(urlparse(row[0]).path)).resolve() for row in uris}


def ingest_new_files(spark: SparkSession, lake: Lake, ds: DatasetSpec) -> BronzeRun:
    """Ingest the landed files bronze has not seen; with none, commit nothing."""
    bronze = lake.table("bronze", ds)
    seen = ingested_files(spark, bronze)
    new = [f for f in sorted(lake.landing(ds).glob("*.json")) if f.resolve() not in seen]
    if not new:
        return BronzeRun(ds.name, (), 0, None)
    return ingest_files(spark, new, bronze, ds.name)
