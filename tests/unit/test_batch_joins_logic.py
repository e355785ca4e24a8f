"""Lesson 03's pure logic: the planner's join rule, AQE's skew rule, salting, and reading plan metrics."""

from __future__ import annotations

import random

import pytest

from pipeline_patterns.batch.joins import JoinRun, planned_strategy
from pipeline_patterns.batch.plan_metrics import NodeMetrics, files_read, find, join_input_shuffle_bytes
from pipeline_patterns.batch.skew import dimension_salts, hot_keys, row_salt, skewed_partitions

MB = 1024 * 1024


@pytest.mark.parametrize(("left", "right", "threshold", "partitions", "prefer", "expected"), [
    (100 * MB, 5 * MB, 10 * MB, 200, True, "BroadcastHashJoin"),      # right side under the threshold
    (5 * MB, 100 * MB, 10 * MB, 200, False, "BroadcastHashJoin"),     # either side; broadcast comes first
    (100 * MB, 10 * MB, 10 * MB, 200, True, "BroadcastHashJoin"),     # "at most": equal is under
    (100 * MB, 10 * MB + 1, 10 * MB, 200, True, "SortMergeJoin"),     # preferSortMergeJoin=true (default)
    (100 * MB, 20 * MB, 10 * MB, 200, False, "ShuffledHashJoin"),     # 20 MB < 10 MB x 200 and 5x smaller
    (50 * MB, 20 * MB, 10 * MB, 200, False, "SortMergeJoin"),         # only 2.5x smaller (factor 3)
    (60 * MB, 20 * MB, 10 * MB, 200, False, "ShuffledHashJoin"),      # exactly 3x: "<=" holds
    (100 * MB, 20 * MB, 10 * MB, 2, False, "SortMergeJoin"),          # 20 MB is not < 10 MB x 2 partitions
    (100 * MB, 1, -1, 200, True, "SortMergeJoin"),                    # -1: never broadcast
    (100 * MB, 1, -1, 200, False, "SortMergeJoin"),                   # ... nor a hash map (-1 x partitions < 0)
])
def test_planned_strategy_follows_sparks_join_selection(left, right, threshold, partitions, prefer, expected):
    assert planned_strategy(left, right, threshold, partitions, prefer) == expected


def test_planned_strategy_is_symmetric_in_its_sides():
    for left, right in [(100 * MB, 20 * MB), (3 * MB, 40 * MB), (11 * MB, 12 * MB)]:
        for prefer in (True, False):
            assert planned_strategy(left, right, 10 * MB, 8, prefer) == planned_strategy(right, left, 10 * MB, 8,
                                                                                         prefer)


@pytest.mark.parametrize(("sizes", "threshold", "expected"), [
    ([100, 100, 100, 1000], 0, [3]),            # median of 4 = (100 + 100) / 2; 1000 > 5 x 100
    ([100, 100, 100, 500], 0, []),              # 500 is not > 5 x 100
    ([100, 100, 100, 501], 0, [3]),
    ([100, 100, 100, 1000], 1000, []),          # the byte threshold is larger: 1000 is not > 1000
    ([10, 20, 30, 40, 5000], 0, [4]),           # odd count: the middle value (30)
    ([0, 0, 0, 10], 0, [3]),                    # the median counts as at least 1 byte
    ([], 0, []),
])
def test_skewed_partitions_follows_aqes_rule(sizes, threshold, expected):
    assert skewed_partitions(sizes, threshold) == expected


def test_hot_keys_are_those_above_the_share():
    assert hot_keys({0: 500, 1: 100, 2: 100, 3: 300}, 0.25) == {0, 3}
    assert hot_keys({0: 500, 1: 500}, 0.5) == set()  # "more than" the share
    assert hot_keys({}, 0.1) == set()


@pytest.mark.parametrize("n_salts", [1, 3, 8])
def test_every_salted_row_meets_exactly_one_dimension_row(n_salts):
    rng = random.Random(n_salts)
    keys, hot = list(range(20)), {0, 7}
    dim = dimension_salts(keys, hot, n_salts)
    assert len(dim) == len(keys) + (n_salts - 1) * len(hot) and len(set(dim)) == len(dim)
    for row_id in range(2_000):
        key = rng.choice(keys)
        assert dim.count((key, row_salt(key, row_id, hot, n_salts))) == 1


def test_salting_spreads_a_hot_key_over_every_salt_evenly():
    salts = [row_salt(0, row_id, {0}, 8) for row_id in range(8_000)]
    assert {s: salts.count(s) for s in set(salts)} == dict.fromkeys(range(8), 1_000)
    assert {row_salt(5, row_id, {0}, 8) for row_id in range(100)} == {0}


def node(name: str, children: tuple[NodeMetrics, ...] = (), **metrics: int) -> NodeMetrics:
    return NodeMetrics(name, dict(metrics), children)


# An aggregate over a sort-merge join: the shuffle above the join must not count as the join's.
PLAN = node("HashAggregate", (node("Exchange", (node("SortMergeJoin", (
    node("Sort", (node("Exchange", (node("Scan parquet", numFiles=3),), shuffleBytesWritten=700),)),
    node("Sort", (node("Exchange", (node("Scan parquet", numFiles=1),), shuffleBytesWritten=50),)),
)),), shuffleBytesWritten=9),))


def test_join_input_shuffle_bytes_counts_only_the_exchanges_under_a_join():
    assert join_input_shuffle_bytes(PLAN) == 750
    assert join_input_shuffle_bytes(node("Exchange", (node("Scan parquet"),), shuffleBytesWritten=5)) == 0


def test_files_read_sums_every_scan_and_find_walks_the_whole_tree():
    assert files_read(PLAN) == 4
    assert [n.name for n in find(PLAN, "Exchange")] == ["Exchange", "Exchange", "Exchange"]
    assert len(PLAN.walk()) == 9


def test_a_join_run_lists_its_join_operators_and_exchanges():
    run = JoinRun("x", 1, 2, None, ("HashAggregate", "Exchange", "BroadcastHashJoin", "Exchange", "SortMergeJoin"),
                  ("SortMergeJoin",), 0, PLAN)  # type: ignore[arg-type]
    assert (run.joins, run.initial_joins, run.exchanges) == (["BroadcastHashJoin", "SortMergeJoin"],
                                                             ["SortMergeJoin"], 2)
