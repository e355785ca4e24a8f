"""Shuffle partitions, AQE, repartition and coalesce, measured by Spark.

* :func:`aggregate_with` runs one aggregation (a shuffle) under given settings — the guide's 200
  shuffle partitions with AQE off and on — and returns Spark's task count, task times and
  shuffle bytes for it;
* :func:`partition_layout` writes a DataFrame as Parquet, one file per partition, and reads rows
  and bytes per partition from the files, with the shuffle bytes producing it cost;
* :func:`single_task_upstream` shows that ``coalesce(1)`` pulls the whole stage before it into
  one task, while ``repartition(1)`` keeps the stage parallel and adds a shuffle.

Guarantee: every figure here comes from Spark (its metrics API, ``spark_partition_id``, the
files it wrote); settings a function changes are restored before it returns.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline_patterns.batch.spark_metrics import Measured, measure
from pipeline_patterns.spark import temporary_conf


def aggregate_with(spark: Any, df: Any, key: str, label: str, conf: dict[str, str]) -> Measured:
    """``df.groupBy(key).count()`` collected under ``conf``, with Spark's metrics."""
    with temporary_conf(spark, conf):
        query = df.groupBy(key).count()
        return measure(spark, label, query.collect)


def noop_write(df: Any) -> Callable[[], None]:
    """An action that computes every row of ``df`` and writes nothing (Spark's ``noop`` sink)."""
    return lambda: df.write.format("noop").mode("overwrite").save()


@dataclass(frozen=True)
class PartitionLayout:
    """A DataFrame's partitions as written: rows and Parquet bytes per partition (0 for an empty one)."""

    label: str
    rows_per_partition: list[int]
    bytes_per_partition: list[int]
    measured: Measured

    @property
    def partitions(self) -> int:
        return len(self.rows_per_partition)


_PART = re.compile(r"^part-(\d{5})-")


def partition_layout(spark: Any, df: Any, label: str, folder: Path) -> PartitionLayout:
    """Write ``df`` as Parquet into ``folder`` (one file per non-empty partition) with Spark's metrics.

    A part file's name carries its partition's index (``part-00003-...``); its rows come from the
    Parquet footer (pyarrow, no Spark job) and its bytes from the file system.
    """
    import pyarrow.parquet as pq

    measured = measure(spark, label, lambda: df.write.mode("overwrite").parquet(str(folder)))
    count = df.rdd.getNumPartitions()
    rows, sizes = [0] * count, [0] * count
    for file in Path(folder).glob("part-*.parquet"):
        match = _PART.match(file.name)
        if match is None:
            raise RuntimeError(f"expected part files named part-NNNNN-..., found {file.name} in {folder}")
        index = int(match.group(1))
        rows[index] += pq.ParquetFile(file).metadata.num_rows
        sizes[index] += file.stat().st_size
    return PartitionLayout(label, rows, sizes, measured)


def single_task_upstream(spark: Any, df: Any, expensive: Callable[[Any], Any]) -> dict[str, Measured]:
    """``expensive(df)`` then ``coalesce(1)`` vs ``repartition(1)``, each written to the no-op sink.

    With ``coalesce(1)`` Spark runs ``expensive`` in the same stage as the single output
    partition: one task does all the work. ``repartition(1)`` cuts the plan with a shuffle, so
    ``expensive`` keeps its parallel tasks and only the last stage is single.
    """
    return {
        "coalesce(1)": measure(spark, "coalesce-1", noop_write(expensive(df).coalesce(1))),
        "repartition(1)": measure(spark, "repartition-1", noop_write(expensive(df).repartition(1))),
    }


def shuffles_before_join(spark: Any, large: Any, small: Any, key: str, partitions: int = 200) -> dict[str, int]:
    """Shuffles (``Exchange`` nodes) Spark plans for ``large.join(small, key)``, as is and after the guide's
    ``repartition(partitions, key)`` of both sides, with a broadcast join allowed and with it disabled.

    A sort-merge join needs both sides hash-partitioned by the key: the guide's repartition *replaces*
    the exchanges Spark would add anyway. A broadcast join needs no shuffle at all: the same
    repartition *adds* two.
    """
    from pipeline_patterns.batch.plans import exchanges, initial_plan

    counts = {}
    for join, threshold in (("broadcast hash", "10485760"), ("sort-merge", "-1")):
        with temporary_conf(spark, {"spark.sql.autoBroadcastJoinThreshold": threshold}):
            counts[f"{join}, as is"] = exchanges(initial_plan(large.join(small, key)))
            counts[f"{join}, repartition({partitions}, key) first"] = exchanges(initial_plan(
                large.repartition(partitions, key).join(small.repartition(partitions, key), key)))
    return counts
