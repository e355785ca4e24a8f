"""Bucketed tables for a join without a shuffle, and what Delta offers instead (Z-ordering for skipping).

* :func:`bucket_by_on_delta`: the guide's ``bucketBy(...).saveAsTable(...)`` with Delta as the
  format. Delta refuses it (``DELTA_OPERATION_NOT_ALLOWED_DETAIL``: bucketing is not supported for
  Delta tables), and no table is left behind.
* :func:`bucketed_join`: flights and planes written as Parquet catalog tables, both
  ``bucketBy(n, "tailnum")``, then joined. Both sides are already hash-partitioned by the key into
  the same ``n`` buckets, so the sort-merge join needs no ``Exchange`` on either side and the job
  writes 0 shuffle bytes; the same join over the plain Parquet files shuffles both sides. The join is
  measured by a ``noop`` write (no aggregate on top: nothing else shuffles), then checksummed.
* :func:`zorder_files_read`: Delta has no buckets; it has file layout for data skipping. A Delta
  copy of flights in its own order (by date) has every ``tailnum`` in every file, so a query for one
  plane reads every file. ``OPTIMIZE ... ZORDER BY (tailnum)`` rewrites it clustered by tailnum; the
  per-file min/max statistics in Delta's log then let the scan skip all files but one or two. The
  files read are the scan's own ``number of files read`` metric.

Guarantee: tables are named with the caller's unique suffix and dropped (:func:`drop_tables`);
scratch paths are the caller's; settings are restored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pipeline_patterns.batch.flights import FlightsLake
from pipeline_patterns.batch.joins import JoinRun, checksum_of, run_join
from pipeline_patterns.batch.plan_metrics import files_read, node_metrics
from pipeline_patterns.batch.plans import exchanges, final_plan
from pipeline_patterns.batch.spark_metrics import Measured, measure
from pipeline_patterns.spark import temporary_conf

BUCKETS = 8
NO_BROADCAST = {"spark.sql.autoBroadcastJoinThreshold": -1}  # planes would be broadcast otherwise


def bucket_by_on_delta(df: Any, table: str, buckets: int = BUCKETS) -> Exception | None:
    """The guide's bucketed write with ``format("delta")``: the error Spark raises (None if it succeeded)."""
    from pyspark.errors import AnalysisException

    try:
        df.write.format("delta").bucketBy(buckets, "tailnum").sortBy("tailnum").mode("overwrite").saveAsTable(table)
    except AnalysisException as error:  # the lesson shows it: Delta refuses bucketing
        return error
    return None


def write_bucketed(df: Any, table: str, key: str, buckets: int = BUCKETS) -> None:
    """``df`` as a Parquet catalog table, ``bucketBy(buckets, key).sortBy(key)``."""
    df.write.format("parquet").bucketBy(buckets, key).sortBy(key).mode("overwrite").saveAsTable(table)


def drop_tables(spark: Any, *tables: str) -> None:
    """Drop catalog tables by name (Spark 4.1 rejects a parameter in ``IDENTIFIER()`` of ``DROP TABLE``,
    so a name is checked to be a plain identifier, then quoted)."""
    for table in tables:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", table):
            raise ValueError(f"a table name of letters, digits and underscores is expected, got {table!r}")
        spark.sql(f"DROP TABLE IF EXISTS `{table}`")


@dataclass(frozen=True)
class BucketedJoin:
    """One join measured without anything above it (a noop write), and its checksum run."""

    label: str
    measured: Measured
    exchanges: int
    checksum: JoinRun

    def row(self) -> dict[str, Any]:
        return {"join": self.label, "exchanges": self.exchanges,
                "shuffle_write_bytes": self.measured.shuffle_write_bytes,
                "executor_run_ms": self.measured.executor_run_ms, "wall_s": round(self.measured.wall_s, 2),
                "rows": self.checksum.rows, "checksum": self.checksum.checksum}


def _noop_join(spark: Any, label: str, joined: Any) -> BucketedJoin:
    measured = measure(spark, label, lambda: joined.write.format("noop").mode("overwrite").save())
    plan = final_plan(joined)
    return BucketedJoin(label, measured, exchanges(plan), run_join(spark, label, joined))


def bucketed_join(spark: Any, lake: FlightsLake, suffix: str, buckets: int = BUCKETS) -> dict[str, BucketedJoin]:
    """Flights x planes on tailnum over bucketed tables and over the plain files; drops its tables."""
    flights = lake.read(spark, "flights").select("flight_id", "tailnum", "dep_delay")
    planes = lake.read(spark, "planes").select("tailnum", "seats")
    names = f"bucketed_flights_{suffix}", f"bucketed_planes_{suffix}"
    try:
        write_bucketed(flights, names[0], "tailnum", buckets)
        write_bucketed(planes, names[1], "tailnum", buckets)
        with temporary_conf(spark, NO_BROADCAST):
            bucketed = _noop_join(spark, "bucketed", spark.table(names[0]).join(spark.table(names[1]), "tailnum"))
            plain = _noop_join(spark, "plain files", flights.join(planes, "tailnum"))
    finally:
        drop_tables(spark, *names)
    return {"bucketed": bucketed, "plain files": plain}


@dataclass(frozen=True)
class FilesRead:
    """A selective query before and after ``OPTIMIZE ZORDER BY``: files in the table, files the scan read."""

    files_before: int
    read_before: int
    rows_before: int
    files_after: int
    read_after: int
    rows_after: int
    checksum_before: int
    checksum_after: int


def _table_files(spark: Any, path: str) -> int:
    """Data files in the Delta table's current snapshot (its log, not the folder: OPTIMIZE leaves old files)."""
    return len(spark.read.format("delta").load(path).inputFiles())


def _query_files(spark: Any, path: str, column: str, value: Any) -> tuple[int, int, int]:
    from pyspark.sql import functions as F

    agg = checksum_of(spark.read.format("delta").load(path).filter(F.col(column) == value))
    result = agg.collect()[0]  # this DataFrame's own plan must run (first() would run a new one)
    return files_read(node_metrics(agg)), int(result["rows"]), int(result["checksum"] or 0)


def zorder_files_read(spark: Any, lake: FlightsLake, path: str, column: str = "tailnum", value: Any = "N725MQ",
                      files: int = 8, max_file_bytes: int = 256 * 1024) -> FilesRead:
    """A Delta copy of flights at ``path`` in at least ``files`` files; query ``column = value``, Z-order, query again.

    The copy keeps flights' own order (by date: every plane in every file), cut into files of at most
    rows / ``files`` rows by ``maxRecordsPerFile`` rather than a shuffle (each write task cuts its own
    rows, so there can be a file more).

    ``spark.databricks.delta.optimize.maxFileSize`` (default 1 GB) is lowered to ``max_file_bytes``
    so that OPTIMIZE writes several files instead of compacting the lesson's few MB into one.
    """
    flights = lake.read(spark, "flights").select("flight_id", "tailnum", "dep_delay")
    per_file = -(-lake.spec.flights_rows // files)
    flights.write.format("delta").option("maxRecordsPerFile", per_file).mode("overwrite").save(path)
    files_before = _table_files(spark, path)
    read_before, rows_before, sum_before = _query_files(spark, path, column, value)
    from delta.tables import DeltaTable

    with temporary_conf(spark, {"spark.databricks.delta.optimize.maxFileSize": max_file_bytes}):
        DeltaTable.forPath(spark, path).optimize().executeZOrderBy(column)  # OPTIMIZE ... ZORDER BY (column)
    read_after, rows_after, sum_after = _query_files(spark, path, column, value)
    return FilesRead(files_before, read_before, rows_before, _table_files(spark, path), read_after, rows_after,
                     sum_before, sum_after)
