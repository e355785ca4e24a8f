"""Join strategies on Spark, each forced and read back from the plan Spark ran.

* :func:`run_strategy` joins flights with airlines, planes, airports and weather under one strategy
  hint (``BROADCAST``, ``MERGE`` or ``SHUFFLE_HASH`` on every dimension) and returns a
  :class:`JoinRun`: the result's row count and checksum, Spark's stage metrics, the operators of
  the final plan, and the bytes shuffled into the joins. The joins are left joins, so every
  strategy must return every flight, and the same checksum.
* :func:`planned_strategy` is Spark's ``JoinSelection`` for an inner equi-join without hints, as a
  rule over the two sides' size estimates: broadcast a side estimated at most
  ``spark.sql.autoBroadcastJoinThreshold``; else, only when ``spark.sql.join.preferSortMergeJoin``
  is false (it is true by default), a shuffled hash join when one side is under threshold x shuffle
  partitions and ``spark.sql.shuffledHashJoinFactor`` (3) times smaller than the other; else
  sort-merge. :func:`planned_operator` asks Spark for the same decision (the initial plan).
* :func:`broadcast_after_filter` and :func:`broadcast_footprint` (``join_threshold.py``) show
  the threshold's two sides: AQE broadcasting at run time what the planner could not, and what a
  broadcast costs the driver.

Guarantee: every figure comes from Spark (plan text, SQL metrics, stage metrics); settings changed
for a run are restored afterwards (``spark.temporary_conf``). Assumes a session with
``spark_metrics.METRICS_CONF``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipeline_patterns.batch.flights import FlightsLake
from pipeline_patterns.batch.plan_metrics import NodeMetrics, join_input_shuffle_bytes, node_metrics
from pipeline_patterns.batch.plans import estimated_size_bytes, final_plan, initial_plan, operators
from pipeline_patterns.batch.spark_metrics import Measured, measure
from pipeline_patterns.spark import temporary_conf

STRATEGIES = {"broadcast hash": "broadcast", "sort-merge": "merge", "shuffled hash": "shuffle_hash"}
"""Strategy name -> the join hint that forces it."""
OPERATORS = {"broadcast hash": "BroadcastHashJoin", "sort-merge": "SortMergeJoin", "shuffled hash": "ShuffledHashJoin"}
"""Strategy name -> the physical operator Spark runs for it."""
JOIN_OPERATORS = {*OPERATORS.values(), "BroadcastNestedLoopJoin", "CartesianProduct"}
NO_BROADCAST = -1
"""``autoBroadcastJoinThreshold`` value that turns size-based broadcasting off."""


def checksum_of(df: Any) -> Any:
    """One row: ``rows`` and ``checksum``, a sum of row hashes (mod 2^31, so ANSI sums never overflow)."""
    from pyspark.sql import functions as F

    return df.agg(F.count("*").alias("rows"), F.sum(F.xxhash64(*df.columns) % (1 << 31)).alias("checksum"))


@dataclass(frozen=True)
class JoinRun:
    """One join run under a checksum: its result, Spark's metrics and the final plan's operators."""

    label: str
    rows: int
    checksum: int
    measured: Measured
    operators: tuple[str, ...]
    initial_operators: tuple[str, ...]
    join_shuffle_bytes: int
    tree: NodeMetrics = field(repr=False)

    @property
    def joins(self) -> list[str]:
        """The join operators of the final plan, top to bottom."""
        return [name for name in self.operators if name in JOIN_OPERATORS]

    @property
    def initial_joins(self) -> list[str]:
        """The join operators the planner chose before running (AQE's initial plan)."""
        return [name for name in self.initial_operators if name in JOIN_OPERATORS]

    @property
    def exchanges(self) -> int:
        return sum(1 for name in self.operators if name in {"Exchange", "ShuffleExchange"})

    def row(self) -> dict[str, Any]:
        return {**self.measured.row(), "rows": self.rows, "checksum": self.checksum, "joins": " ".join(self.joins),
                "exchanges": self.exchanges, "join_shuffle_bytes": self.join_shuffle_bytes}


def run_join(spark: Any, label: str, joined: Any) -> JoinRun:
    """Run ``joined`` under :func:`checksum_of` and read the final plan of that run."""
    agg = checksum_of(joined)
    measured = measure(spark, label, agg.collect)
    result = measured.result[0]
    tree = node_metrics(agg)
    return JoinRun(label, int(result["rows"]), int(result["checksum"] or 0), measured,
                   tuple(operators(final_plan(agg))), tuple(operators(initial_plan(agg))),
                   join_input_shuffle_bytes(tree), tree)


def flights_with_dimensions(spark: Any, lake: FlightsLake, hint: str | None = None) -> Any:
    """Flights left-joined with airlines, planes, airports (destination) and weather (origin, hour).

    ``hint`` (``"broadcast"``, ``"merge"``, ``"shuffle_hash"``) goes on every dimension.
    """
    from pyspark.sql import functions as F

    def dim(df: Any) -> Any:
        return df.hint(hint) if hint else df

    airlines = lake.read(spark, "airlines").withColumnRenamed("name", "airline")
    planes = lake.read(spark, "planes").select("tailnum", F.col("year").alias("plane_year"), "seats")
    airports = lake.read(spark, "airports").select(F.col("faa").alias("dest"), F.col("name").alias("dest_name"))
    weather = lake.read(spark, "weather").select("origin", "time_hour", "temp", "wind_speed")
    flights = lake.read(spark, "flights").select("flight_id", "carrier", "tailnum", "dest", "origin", "time_hour",
                                                 "dep_delay")
    return (flights.join(dim(airlines), "carrier", "left").join(dim(planes), "tailnum", "left")
            .join(dim(airports), "dest", "left").join(dim(weather), ["origin", "time_hour"], "left"))


def run_strategy(spark: Any, lake: FlightsLake, strategy: str) -> JoinRun:
    """Flights with its four dimensions, every join forced to ``strategy`` (a key of ``STRATEGIES``)."""
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {sorted(STRATEGIES)}, got {strategy!r}")
    return run_join(spark, strategy, flights_with_dimensions(spark, lake, STRATEGIES[strategy]))


def planned_strategy(left_bytes: int, right_bytes: int, threshold: int, shuffle_partitions: int,
                     prefer_sort_merge: bool = True, hash_factor: int = 3) -> str:
    """The operator Spark plans for an inner equi-join without hints, from the sides' size estimates.

    Spark's ``JoinSelection`` in this order: ``BroadcastHashJoin`` if a side is estimated at most
    ``threshold`` bytes (``-1``: never); ``ShuffledHashJoin`` only if ``prefer_sort_merge`` is false
    and a side is under ``threshold * shuffle_partitions`` (one partition's hash map should fit) and
    ``hash_factor`` times smaller than the other; otherwise ``SortMergeJoin``.
    """
    sides = (left_bytes, right_bytes)
    if threshold >= 0 and any(0 <= size <= threshold for size in sides):
        return "BroadcastHashJoin"
    if not prefer_sort_merge and any(size < threshold * shuffle_partitions and size * hash_factor <= other
                                     for size, other in (sides, sides[::-1])):
        return "ShuffledHashJoin"
    return "SortMergeJoin"


def flights_planes(spark: Any, lake: FlightsLake) -> tuple[Any, Any]:
    """The two sides of the lesson's plain join: flights (3 columns) and planes (tailnum, seats)."""
    return (lake.read(spark, "flights").select("flight_id", "tailnum", "dep_delay"),
            lake.read(spark, "planes").select("tailnum", "seats"))


@dataclass(frozen=True)
class PlannedJoin:
    """What Spark planned for flights x planes under some settings, next to the rule's prediction."""

    threshold: int
    prefer_sort_merge: bool
    flights_estimate: int
    planes_estimate: int
    spark_operator: str
    rule_operator: str


def planned_operator(spark: Any, lake: FlightsLake, threshold: int, prefer_sort_merge: bool = True) -> PlannedJoin:
    """Plan (not run) flights x planes with ``threshold`` and ``preferSortMergeJoin``; Spark's choice and the rule's."""
    flights, planes = flights_planes(spark, lake)
    conf = {"spark.sql.autoBroadcastJoinThreshold": threshold, "spark.sql.join.preferSortMergeJoin": prefer_sort_merge}
    with temporary_conf(spark, conf):
        plan = initial_plan(checksum_of(flights.join(planes, "tailnum")))
        partitions = int(spark.conf.get("spark.sql.shuffle.partitions"))
        sizes = estimated_size_bytes(flights), estimated_size_bytes(planes)
    chosen = [name for name in operators(plan) if name in JOIN_OPERATORS]
    return PlannedJoin(threshold, prefer_sort_merge, *sizes, chosen[0] if chosen else "none",
                       planned_strategy(*sizes, threshold, partitions, prefer_sort_merge))
