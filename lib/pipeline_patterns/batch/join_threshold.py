"""``spark.sql.autoBroadcastJoinThreshold``: what Spark compares to it, and what a broadcast costs.

* :func:`size_estimates`: per table, the bytes on disk and Spark's plan-statistics estimate. For a
  file table the estimate *is* the files' size on disk (compressed Parquet), scaled down when a
  query reads fewer columns; a filter does not lower it (no column statistics without
  ``ANALYZE TABLE``).
* :func:`broadcast_footprint`: forces a broadcast and reads the ``data size`` of the
  ``BroadcastExchange`` (the hash relation the driver collected, built and shipped) next to the
  table's on-disk size and the driver's heap. The guide's ``100m`` threshold is compared with the
  *estimate*; the driver holds the *expanded* rows.
* :func:`broadcast_after_filter`: a join the planner cannot broadcast (the filtered side's
  estimate is above the threshold) that adaptive query execution turns into a
  ``BroadcastHashJoin`` once the filter's shuffle stage has run and measured a few KB: the initial
  plan says ``SortMergeJoin``, the final plan ``BroadcastHashJoin``.

Guarantee: sizes are Spark's own (plan statistics, SQL metrics, the JVM's ``maxMemory``); the
settings a function changes are restored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline_patterns.batch.flights import FlightsLake
from pipeline_patterns.batch.joins import JoinRun, run_join
from pipeline_patterns.batch.plan_metrics import broadcast_bytes, join_input_exchanges
from pipeline_patterns.batch.plans import estimated_size_bytes
from pipeline_patterns.spark import temporary_conf

GUIDE_THRESHOLD = 100 * 1024 * 1024
"""The guide's ``spark.conf.set("spark.sql.autoBroadcastJoinThreshold", "100m")``."""
DEFAULT_THRESHOLD = 10 * 1024 * 1024
"""Spark's default threshold, 10 MB."""


def parquet_rows(lake: FlightsLake, table: str) -> int:
    """Rows of a Parquet table, from its files' footers (no Spark job)."""
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(f).metadata.num_rows for f in lake.data_files(table))


def size_estimates(spark: Any, lake: FlightsLake, tables: tuple[str, ...]) -> list[dict[str, Any]]:
    """Per table: rows, bytes on disk, Spark's estimate, and whether it is under 10 MB and under the guide's 100m."""
    rows = []
    for table in tables:
        df = lake.read(spark, table)
        estimate = estimated_size_bytes(df)
        rows.append({"table": table, "rows": parquet_rows(lake, table), "on_disk_bytes": lake.on_disk_bytes(table),
                     "estimate_bytes": estimate, "under 10 MB default": estimate <= DEFAULT_THRESHOLD,
                     "under guide's 100m": estimate <= GUIDE_THRESHOLD})
    return rows


def driver_heap_bytes(spark: Any) -> int:
    """The driver JVM's maximum heap (``Runtime.maxMemory``), what ``spark.driver.memory`` gives."""
    return int(spark._jvm.java.lang.Runtime.getRuntime().maxMemory())


@dataclass(frozen=True)
class BroadcastFootprint:
    """One table broadcast: its size on disk, Spark's estimate, and what the driver built."""

    table: str
    rows: int
    on_disk_bytes: int
    estimate_bytes: int
    broadcast_bytes: int
    driver_heap_bytes: int

    @property
    def expansion(self) -> float:
        """Bytes the driver built per byte of the estimate."""
        return self.broadcast_bytes / self.estimate_bytes

    def at_threshold(self, threshold: int = GUIDE_THRESHOLD) -> float:
        """Driver bytes a table estimated at ``threshold`` would need, at this table's expansion."""
        return threshold * self.expansion


def broadcast_footprint(spark: Any, lake: FlightsLake, table: str = "flights", probe: str = "planes",
                        key: str = "tailnum") -> BroadcastFootprint:
    """Broadcast one data file of ``table`` (all columns) into a join with ``probe``; read what the driver built.

    One file, whatever the lake's ``scale`` (flights has one file per copy): the footprint is a ratio,
    and a bigger broadcast would only risk the driver this function is about.
    """
    from pyspark.sql import functions as F

    first = lake.data_files(table)[0]
    side = spark.read.parquet(str(first))
    side = side.select(key, *(F.col(c).alias(f"{table}_{c}") for c in side.columns if c != key))
    run = run_join(spark, f"broadcast {table}", lake.read(spark, probe).join(F.broadcast(side), key))
    return BroadcastFootprint(table, run.rows, first.stat().st_size, estimated_size_bytes(side),
                              max(broadcast_bytes(run.tree)), driver_heap_bytes(spark))


@dataclass(frozen=True)
class AdaptiveSwitch:
    """A join planned as one strategy and run as another, with the sizes behind each decision."""

    threshold: int
    estimate_bytes: int
    runtime_bytes: int
    run: JoinRun


def late_planes_join(spark: Any, lake: FlightsLake, min_delay: int) -> tuple[Any, Any]:
    """Flights flown on a day when the same plane had left more than ``min_delay`` minutes late (a semi join)."""
    from pyspark.sql import functions as F

    flights = lake.read(spark, "flights")
    keys = ["tailnum", "year", "month", "day"]
    late = flights.filter(F.col("dep_delay") > min_delay).select(*keys)
    return flights.select("flight_id", *keys, "dep_delay").join(late, keys, "left_semi"), late


def broadcast_after_filter(spark: Any, lake: FlightsLake, threshold: int, min_delay: int = 600,
                           adaptive: bool = True) -> AdaptiveSwitch:
    """Run :func:`late_planes_join` with ``threshold``; the planner's and AQE's choices and their sizes.

    ``adaptive=False`` runs it with AQE off: what the planner chose is what runs.
    ``runtime_bytes`` is the smallest ``data size`` among the shuffles feeding the join (the filtered
    side, as AQE measured it).
    """
    joined, late = late_planes_join(spark, lake, min_delay)
    conf = {"spark.sql.autoBroadcastJoinThreshold": threshold, "spark.sql.adaptive.enabled": adaptive}
    with temporary_conf(spark, conf):
        estimate = estimated_size_bytes(late)
        run = run_join(spark, "late planes", joined)
    measured = [n.metrics.get("dataSize", 0) for n in join_input_exchanges(run.tree)]
    return AdaptiveSwitch(threshold, estimate, min(measured, default=0), run)
