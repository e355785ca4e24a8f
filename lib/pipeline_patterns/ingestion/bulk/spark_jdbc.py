"""Spark's JDBC writer as a bulk loader: the same rows, ``batchsize`` and ``numPartitions`` as knobs.

Each of ``numPartitions`` tasks opens its own connection and sends ``INSERT``s in JDBC batches
of ``batchsize`` rows, one transaction per task. ``reWriteBatchedInserts=true`` (a pgJDBC URL
option) turns each batch into multi-row ``INSERT`` statements; without it pgJDBC sends one
statement per row, pipelined. There is no ``COPY`` in Spark's writer.

Guarantee: the connection's user and password reach the JVM as JDBC properties from the
settings (never in the URL, never printed); the table name is quoted by ``psycopg.sql``. Like
every loader, :func:`measure_jdbc` returns a figure only for a table that holds exactly the rows.
Assumes the session's time zone is UTC (the kit's ``get_spark`` sets it).
"""

from __future__ import annotations

from typing import Any

from psycopg import sql

from pipeline_patterns.config import Settings, get_settings
from pipeline_patterns.ingestion.bulk.measure import timed_load
from pipeline_patterns.ingestion.bulk.rates import LoadRun
from pipeline_patterns.ingestion.bulk.rows import RowSet

CONFIGS = {
    "spark_jdbc": {"batchsize": 1_000, "num_partitions": 2, "rewrite_batched_inserts": False},
    "spark_jdbc_rewrite": {"batchsize": 10_000, "num_partitions": 2, "rewrite_batched_inserts": True},
}
"""Spark's defaults (batchsize 1,000) on both cores, and the tuned writer: multi-row INSERTs, larger batches."""


def spark_frame(spark: Any, rows: RowSet) -> Any:
    """The rows as a cached Spark DataFrame (from their Arrow table), counted once so no load pays for it."""
    frame = spark.createDataFrame(rows.arrow).cache()
    if frame.count() != len(rows):
        raise RuntimeError(f"Spark holds {frame.count():,} of the {len(rows):,} {rows.name} rows")
    return frame


def jdbc_write(frame: Any, table: str, batchsize: int = 1_000, num_partitions: int = 2,
               rewrite_batched_inserts: bool = False, settings: Settings | None = None) -> None:
    """Append ``frame`` to the existing ``table`` with Spark's JDBC writer."""
    s = settings or get_settings()
    if batchsize < 1 or num_partitions < 1:
        raise ValueError(f"batchsize and numPartitions must be at least 1, got {batchsize} and {num_partitions}")
    url = s.jdbc_url + ("?reWriteBatchedInserts=true" if rewrite_batched_inserts else "")
    (frame.repartition(num_partitions).write.format("jdbc").mode("append")
     .option("url", url).option("dbtable", sql.Identifier(table).as_string())
     .option("batchsize", str(batchsize)).option("numPartitions", str(num_partitions))
     .options(**s.jdbc_properties()).save())


def measure_jdbc(frame: Any, rows: RowSet, table: str, label: str = "spark_jdbc", keep: bool = False,
                 **options: Any) -> LoadRun:
    """Time :func:`jdbc_write` of ``frame`` (``rows``, cached) into a new ``table``; checked like every loader.

    ``options`` default to ``CONFIGS[label]``. The repartition is part of the figure, as in a job.
    """
    opts = {**CONFIGS.get(label, {}), **options}
    return timed_load(label, rows, table, lambda _conn: jdbc_write(frame, table, **opts), keep)
