"""Checks on a medallion deployment, each an independent query over the Delta tables.

* :func:`checksum` — row count plus a SHA-256 over the sorted row hashes, volatile
  columns (``_ingested_at``, ``_bronze_version``) left out: equal checksums mean equal
  contents, whatever the files or row order.
* :func:`snapshot` — version and checksum of every layer: a rerun that changes nothing
  leaves both equal (no new commit at all).
* :func:`partition_files` — which data files hold each partition: a partition whose
  files did not change was not rewritten (:func:`rewritten_partitions` compares two).
* :func:`accounting` — bronze rows = silver rows + quarantine rows + duplicates removed.
* :func:`runs_table` — what each stage did in one step, for a lesson to show.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from functools import reduce
from urllib.parse import unquote, urlparse

import pandas as pd
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from pipeline_patterns.architectures.medallion.datasets import DatasetSpec
from pipeline_patterns.architectures.medallion.lake import Lake, table_version
from pipeline_patterns.architectures.medallion.silver import row_hash, with_reasons

LAYERS = ("bronze", "silver", "quarantine", "gold")
VOLATILE = ("_ingested_at", "_bronze_version")  # differ between two ingestions of the same data


@dataclass(frozen=True)
class Checksum:
    rows: int
    digest: str


def _row_hashes(spark: SparkSession, path: str, exclude: tuple[str, ...]) -> DataFrame:
    df = spark.read.format("delta").load(path)
    return df.select(row_hash(sorted(c for c in df.columns if c not in exclude)).alias("h"))


def _digest() -> list[Column]:
    sorted_hashes = F.concat_ws(",", F.array_sort(F.collect_list("h")))
    return [F.count("*").alias("rows"), F.sha2(sorted_hashes, 256).alias("digest")]


def checksum(spark: SparkSession, path: str, exclude: tuple[str, ...] = VOLATILE) -> Checksum:
    """Row count plus a SHA-256 over the sorted row hashes (columns in name order, ``exclude`` left out)."""
    row = _row_hashes(spark, path, exclude).agg(*_digest()).first()
    return Checksum(row["rows"], row["digest"])


@dataclass(frozen=True)
class TableState:
    version: int | None
    checksum: Checksum | None


def snapshot(spark: SparkSession, lake: Lake, ds: DatasetSpec) -> dict[str, TableState]:
    """Version and checksum of each layer's table (None for a table not created yet).

    One Spark job for all layers (their row hashes unioned, grouped by layer): the same
    figures as :func:`checksum` per table, without a job and a plan per layer.
    """
    versions = {layer: table_version(lake.table(layer, ds)) for layer in LAYERS}
    present = [layer for layer in LAYERS if versions[layer] is not None]
    sums: dict[str, Checksum] = {}
    if present:
        hashes = [_row_hashes(spark, lake.table(layer, ds), VOLATILE).select(F.lit(layer).alias("layer"), "h")
                  for layer in present]
        union = reduce(DataFrame.unionAll, hashes)
        sums = {row["layer"]: Checksum(row["rows"], row["digest"])
                for row in union.groupBy("layer").agg(*_digest()).collect()}
    # a present table with no rows has no group: its checksum is that of no rows
    empty = Checksum(0, hashlib.sha256(b"").hexdigest())
    return {layer: TableState(versions[layer], None if versions[layer] is None else sums.get(layer, empty))
            for layer in LAYERS}


def partition_files(spark: SparkSession, path: str, column: str) -> dict[str, frozenset[str]]:
    """Partition value -> the data files holding it in the current version.

    ``inputFiles()`` lists the current version's files from Delta's snapshot without running a
    Spark job; each file sits in its Hive-style partition folder (``month=2013-01/part-...``).
    """
    files = defaultdict(set)
    for uri in spark.read.format("delta").load(path).inputFiles():
        folder = next(part for part in urlparse(uri).path.split("/") if part.startswith(f"{column}="))
        files[unquote(folder.split("=", 1)[1])].add(uri)
    return {p: frozenset(f) for p, f in files.items()}


def rewritten_partitions(before: dict[str, frozenset[str]], after: dict[str, frozenset[str]]) -> set[str]:
    """Partitions whose data files changed (added, removed or replaced) between two snapshots."""
    return {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}


def reject_counts(spark: SparkSession, lake: Lake, ds: DatasetSpec) -> dict[str, int]:
    path = lake.table("quarantine", ds)
    if table_version(path) is None:
        return {}
    rows = spark.read.format("delta").load(path).groupBy("reason").count().collect()
    return {row["reason"]: row["count"] for row in sorted(rows)}


def reject_examples(spark: SparkSession, lake: Lake, ds: DatasetSpec, columns: list[str]) -> DataFrame:
    """One quarantined row per reason — the first by bronze version and raw values — to show what each rule caught."""
    first = Window.partitionBy("reason").orderBy("_bronze_version", *columns)
    quarantine = spark.read.format("delta").load(lake.table("quarantine", ds))
    return (quarantine.withColumn("_n", F.row_number().over(first)).filter(F.col("_n") == 1)
            .select("reason", *columns).orderBy("reason"))


@dataclass(frozen=True)
class MedallionAccounting:
    bronze: int
    silver: int
    quarantine: int
    duplicates_removed: int

    @property
    def balanced(self) -> bool:
        return self.bronze == self.silver + self.quarantine + self.duplicates_removed


def accounting(spark: SparkSession, lake: Lake, ds: DatasetSpec) -> MedallionAccounting:
    """Each layer counted by an independent query; duplicates = valid bronze rows - distinct valid keys."""
    bronze = with_reasons(spark.read.format("delta").load(lake.table("bronze", ds)), ds.rules)
    valid = bronze.filter(F.col("reason").isNull()).select(*ds.columns(bronze))
    counts = valid.agg(F.count("*").alias("rows"), F.countDistinct(ds.key).alias("keys")).first()

    def rows(layer: str) -> int:
        path = lake.table(layer, ds)
        return spark.read.format("delta").load(path).count() if table_version(path) is not None else 0

    return MedallionAccounting(rows("bronze"), rows("silver"), rows("quarantine"), counts["rows"] - counts["keys"])


def runs_table(runs: dict, step: object, datasets: tuple[DatasetSpec, ...]) -> pd.DataFrame:
    """One row per dataset: what each stage of one step did (``runs[step, name]`` holds
    the ``(BronzeRun, SilverRun, GoldRun)`` of that step)."""
    rows = []
    for ds in datasets:
        b, s, g = runs[step, ds.name]
        rows.append({"dataset": ds.name, "bronze files": ", ".join(b.files) or "-", "bronze rows": b.rows,
                     "bronze version": b.version, "silver read versions": s.bronze_versions, "rejected": s.rejected,
                     "inserted": s.inserted, "updated": s.updated, "duplicates removed": s.duplicates_removed,
                     "silver version": s.version, "gold partitions replaced": ", ".join(g.affected) or "-",
                     "gold version": g.version})
    return pd.DataFrame(rows).set_index("dataset")


def file_name(column: str = "_source_file") -> Column:
    """The file name part of a path column (``_source_file`` holds the full landing path)."""
    return F.element_at(F.split(column, "/"), -1).alias(column)
