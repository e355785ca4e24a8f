"""A skewed join key, three ways: as is, split by AQE's skew-join handling, and salted by hand.

Flights joined with ``key_dim`` on ``skew_key``, where ``HOT_KEY`` holds ``hot_share`` of the rows,
as a sort-merge join (a ``MERGE`` hint: ``key_dim`` is small enough to broadcast, which would hide
the skew). Every row of one key goes to the same shuffle partition, so one task reads the hot key's
rows and the stage waits for it.

* ``off``: the partition sizes and task times as hashing made them;
* ``aqe``: ``spark.sql.adaptive.skewJoin.enabled``. After the shuffle, AQE calls a partition
  skewed when it is larger than ``max(skewedPartitionThresholdInBytes, skewedPartitionFactor x
  median)`` (:func:`skewed_partitions`) and splits it into pieces near
  ``advisoryPartitionSizeInBytes``, at map-output boundaries, repeating the other side's partition
  for each piece. The defaults (256 MB, 5, 64 MB) are for production sizes: ``SKEW_CONF`` lowers
  the two byte sizes to 256 KB so that the lesson's few-MB shuffle qualifies, and reads flights in
  1 MB splits so that there are map outputs to split at;
* ``salted``: the hot key's rows get a salt ``flight_id mod n`` and the dimension's hot row is
  repeated once per salt; the join is on (key, salt), so the hot key spreads over up to ``n``
  partitions. Each flight still meets exactly one dimension row (:func:`row_salt`,
  :func:`dimension_salts`), so the result is the same.

Guarantee: all three return the same rows (checksum), and the task figures are Spark's own
(the join stage's task list). Settings are restored afterwards.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from statistics import median
from typing import Any

from pipeline_patterns.batch.flights import FlightsLake
from pipeline_patterns.batch.joins import JoinRun, run_join
from pipeline_patterns.batch.plan_metrics import find
from pipeline_patterns.batch.spark_metrics import TaskFigures, stage_tasks
from pipeline_patterns.spark import temporary_conf

KB = 1024
SKEW_PARTITIONS = 8
MODES = ("off", "aqe", "salted")


def skew_conf(aqe_skew: bool) -> dict[str, object]:
    """The skew section's settings: 8 partitions, no coalescing, lesson-size skew thresholds."""
    return {
        "spark.sql.shuffle.partitions": SKEW_PARTITIONS,  # the kit's 2 would put half of all keys in each
        "spark.sql.adaptive.coalescePartitions.enabled": False,  # keep the hash partitions as they are
        "spark.sql.adaptive.skewJoin.enabled": aqe_skew,
        "spark.sql.adaptive.skewJoin.skewedPartitionThresholdInBytes": 256 * KB,  # default 256 MB
        "spark.sql.adaptive.advisoryPartitionSizeInBytes": 256 * KB,  # default 64 MB
        "spark.sql.files.maxPartitionBytes": 1024 * KB,  # more map tasks: a skewed partition splits between them
    }


def skewed_partitions(sizes: list[int], threshold: int, factor: float = 5.0) -> list[int]:
    """Indices of the partitions AQE's ``OptimizeSkewedJoin`` calls skewed, from their sizes in bytes."""
    if not sizes:
        return []
    limit = max(threshold, int(max(int(median(sizes)), 1) * factor))
    return [i for i, size in enumerate(sizes) if size > limit]


def hot_keys(counts: Mapping[int, int], min_share: float) -> set[int]:
    """Keys holding more than ``min_share`` of all rows."""
    total = sum(counts.values())
    return {key for key, count in counts.items() if total and count / total > min_share}


def row_salt(key: int, row_id: int, hot: set[int], n_salts: int) -> int:
    """A big-side row's salt: ``row_id mod n_salts`` for a hot key, 0 otherwise (the Spark column's rule)."""
    return row_id % n_salts if key in hot else 0


def dimension_salts(keys: Iterable[int], hot: set[int], n_salts: int) -> list[tuple[int, int]]:
    """The dimension's (key, salt) rows: a hot key once per salt, any other key once with salt 0."""
    return [(key, salt) for key in keys for salt in (range(n_salts) if key in hot else (0,))]


def salted_join(spark: Any, flights: Any, key_dim: Any, hot: set[int], n_salts: int) -> Any:
    """Flights x key_dim on (skew_key, salt), salt as :func:`row_salt` and :func:`dimension_salts`."""
    from pyspark.sql import functions as F

    is_hot = F.col("skew_key").isin(sorted(hot))
    big = flights.withColumn("salt", F.when(is_hot, F.pmod(F.col("flight_id"), F.lit(n_salts))).otherwise(0))
    salts = F.when(is_hot, F.sequence(F.lit(0), F.lit(n_salts - 1))).otherwise(F.array(F.lit(0)))
    small = key_dim.withColumn("salt", F.explode(salts))
    return big.join(small.hint("merge"), ["skew_key", "salt"]).drop("salt")


@dataclass(frozen=True)
class SkewRun:
    """One way of running the skewed join: the run, its join stage's tasks, and AQE's splits."""

    mode: str
    run: JoinRun
    tasks: tuple[TaskFigures, ...]
    skewed_partitions: int
    skewed_splits: int

    @property
    def max_task_records(self) -> int:
        return max(t.shuffle_read_records for t in self.tasks)

    @property
    def max_task_ms(self) -> int:
        return max(t.duration_ms for t in self.tasks)

    @property
    def hot_task(self) -> TaskFigures:
        """The task that read the most records (the hot key's partition, or its largest piece)."""
        return max(self.tasks, key=lambda t: (t.shuffle_read_records, t.duration_ms))

    @property
    def median_task_ms(self) -> int:
        return sorted(t.duration_ms for t in self.tasks)[len(self.tasks) // 2]

    def row(self) -> dict[str, Any]:
        records = sorted(t.shuffle_read_records for t in self.tasks)
        return {"mode": self.mode, "rows": self.run.rows, "checksum": self.run.checksum, "join tasks": len(self.tasks),
                "max task records": records[-1], "median task records": records[len(records) // 2],
                "hot task ms": self.hot_task.duration_ms, "max task ms": self.max_task_ms,
                "median task ms": self.median_task_ms, "skewed partitions (AQE)": self.skewed_partitions,
                "splits (AQE)": self.skewed_splits, "stage wall s": self.run.measured.wall_s}


def skew_join(spark: Any, lake: FlightsLake, mode: str, n_salts: int = SKEW_PARTITIONS,
              hot_share: float = 0.1) -> SkewRun:
    """Run flights x key_dim on ``skew_key`` in ``mode`` (``off``, ``aqe``, ``salted``) and read the join stage."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    flights = lake.read(spark, "flights").select("flight_id", "skew_key", "dep_delay")
    key_dim = lake.read(spark, "key_dim")
    with temporary_conf(spark, skew_conf(aqe_skew=mode == "aqe")):
        if mode == "salted":
            counts = {int(r["skew_key"]): int(r["count"]) for r in flights.groupBy("skew_key").count().collect()}
            joined = salted_join(spark, flights, key_dim, hot_keys(counts, hot_share), n_salts)
        else:
            joined = flights.join(key_dim.hint("merge"), "skew_key")
        run = run_join(spark, f"skew {mode}", joined)
    join_stage = max(run.measured.stages, key=lambda s: s.shuffle_read_bytes)
    reads = find(run.tree, "AQEShuffleRead")
    return SkewRun(mode, run, tuple(stage_tasks(spark, join_stage.stage_id)),
                   max((r.metrics.get("numSkewedPartitions", 0) for r in reads), default=0),
                   max((r.metrics.get("numSkewedSplits", 0) for r in reads), default=0))
