"""Spark's file-read partition planning, reproduced, next to the guide's size / 200 MB rule."""

from __future__ import annotations

import pytest

from pipeline_patterns.batch.read_partitions import (
    MB,
    Piece,
    guide_partitions,
    max_split_bytes,
    spark_read_partitions,
)

KB = 1024


def sizes(partitions: list[list[Piece]]) -> list[list[int]]:
    return [[p.length for p in part] for part in partitions]


def test_the_guides_rule_is_size_over_200_mb_and_at_least_one():
    assert [guide_partitions(mb) for mb in (1, 150, 400, 10_000)] == [1, 1, 2, 50]


def test_a_small_input_is_read_into_partitions_set_by_the_cores_not_size_over_200_mb():
    ten_small = [100 * KB] * 10
    # total (size + 4 MB open cost each) / 2 cores = 20.5 MB per split; each file counts 4.1 MB
    assert max_split_bytes(ten_small, parallelism=2) == 10 * (100 * KB + 4 * MB) // 2
    assert sizes(spark_read_partitions(ten_small, parallelism=2)) == [[100 * KB] * 5, [100 * KB] * 5]
    # 8 cores: a 5.1 MB split holds two 4.1 MB-counted files, so 5 partitions (the split follows the cores)
    assert len(spark_read_partitions(ten_small, parallelism=8)) == 5
    assert guide_partitions(1) == 1


def test_a_large_file_is_cut_into_max_partition_bytes_pieces():
    one_gb_ish = [300 * MB]
    planned = spark_read_partitions(one_gb_ish, parallelism=2)
    assert sizes(planned) == [[128 * MB], [128 * MB], [44 * MB]]
    assert [p[0].start for p in planned] == [0, 128 * MB, 256 * MB]
    assert guide_partitions(300) == 2


def test_pieces_are_packed_largest_first_and_a_partition_closes_before_it_would_overflow():
    files = [3 * MB, 50 * KB, 2 * MB + 512 * KB, 50 * KB]
    planned = spark_read_partitions(files, parallelism=2, max_partition_bytes=MB, open_cost=64 * KB)
    # split = min(1 MB, max(64 KB, (5.6 MB + 4 x 64 KB) / 2)) = 1 MB: 3 MB -> 3 pieces, 2.5 MB -> 3 pieces
    assert sizes(planned) == [[MB], [MB], [MB], [MB], [MB], [512 * KB, 50 * KB, 50 * KB]]
    assert [p.file for p in planned[-1]] == [2, 1, 3]


def test_an_unsplittable_file_stays_whole():
    planned = spark_read_partitions([300 * MB, MB], parallelism=2, splittable=False)
    assert sizes(planned) == [[300 * MB], [MB]]


def test_parallelism_below_one_is_refused():
    with pytest.raises(ValueError, match="parallelism must be at least 1, got 0"):
        max_split_bytes([MB], parallelism=0)
