"""When a cache pays, what each storage level holds, and the guide's two caching traps.

* :func:`reuse` runs the same queries on a DataFrame with and without a cache and returns Spark's
  executor time for each pass: a cache pays when the DataFrame is reused and its first fill
  costs more than a plain read;
* :func:`cached_sizes` fills one cache per storage level (``MEMORY_ONLY``, ``MEMORY_AND_DISK``,
  ``DISK_ONLY``) and reads the bytes each holds in memory and on disk from Spark's storage status;
* the traps, shown by the lesson with :func:`storage_entries` and ``plans.uses_cache``:
  ``cache()`` is lazy (nothing is stored until an action runs), and
  ``df.select("id", "value").cache()`` caches a *new* plan — queries on ``df`` itself do not use it.

Guarantee: every function here leaves the session with no cache it created
(``unpersist(blocking=True)``), and sizes are Spark's own figures.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from pipeline_patterns.batch.spark_metrics import CachedTable, Measured, measure, storage_status
from pipeline_patterns.poll import wait_until

LEVELS = ("MEMORY_ONLY", "MEMORY_AND_DISK", "DISK_ONLY")


def storage_entries(spark: Any, name_contains: str = "") -> list[CachedTable]:
    """Spark's storage status, filtered to entries whose name contains ``name_contains``."""
    return [t for t in storage_status(spark) if name_contains in t.name]


def wait_cached(spark: Any, partitions: int, bound_s: float = 30) -> list[CachedTable]:
    """Storage status once ``partitions`` cached partitions are reported (the listener bus is asynchronous)."""
    def filled() -> list[CachedTable] | None:
        entries = storage_status(spark)
        return entries if sum(e.cached_partitions for e in entries) >= partitions else None

    return wait_until(filled, bound_s, f"{partitions} cached partitions in Spark's storage status", interval_s=0.1)


@dataclass(frozen=True)
class Reuse:
    uncached: list[Measured]
    cached: list[Measured]


def _collect(query: Callable[[Any], Any], df: Any) -> Any:
    return query(df).collect()


def reuse(spark: Any, df: Any, queries: Sequence[Callable[[Any], Any]]) -> Reuse:
    """Each query collected on ``df`` as it is, then on ``df.cache()`` (the first query fills it)."""
    uncached = [measure(spark, f"uncached-{i}", partial(_collect, q, df)) for i, q in enumerate(queries)]
    cached_df = df.cache()
    try:
        cached = [measure(spark, f"cached-{i}", partial(_collect, q, cached_df)) for i, q in enumerate(queries)]
    finally:
        cached_df.unpersist(blocking=True)
    return Reuse(uncached, cached)


def cached_sizes(spark: Any, df: Any, levels: Sequence[str] = LEVELS) -> dict[str, CachedTable]:
    """The storage status of ``df`` cached at each of ``levels`` (PySpark ``StorageLevel`` names), one at a time."""
    from pyspark import StorageLevel

    sizes = {}
    for level in levels:
        persisted = df.persist(getattr(StorageLevel, level))
        try:
            persisted.count()
            (entry,) = wait_cached(spark, df.rdd.getNumPartitions())
            sizes[level] = entry
        finally:
            persisted.unpersist(blocking=True)
    return sizes
