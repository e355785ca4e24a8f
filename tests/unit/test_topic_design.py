from __future__ import annotations

import pytest

from pipeline_patterns.streaming.partition_keys import (
    order_violations,
    partition_for,
    skew_ratio,
    skewed_keys,
    zipf_user_ids,
)
from pipeline_patterns.streaming.topics import TopicSpec, guide_partitions, partitions_for_throughput


@pytest.mark.parametrize(("rate", "expected"), [
    (0, (6, 12)), (9_999, (6, 12)), (10_000, (24, 48)), (50_000, (24, 48)),
    (100_000, (24, 48)), (100_001, (100, None)), (5_000_000, (100, None)),
])
def test_guide_partition_table_boundaries(rate, expected):
    assert guide_partitions(rate) == expected


def test_negative_throughput_is_refused():
    with pytest.raises(ValueError, match="must be >= 0"):
        guide_partitions(-1)


def test_partitions_follow_the_slower_side():
    # 50K msg/s target; a partition takes 20K/s from producers but a consumer handles 2.5K/s.
    assert partitions_for_throughput(50_000, 20_000, 2_500) == 20
    assert partitions_for_throughput(50_000, 2_500, 20_000) == 20
    assert partitions_for_throughput(1, 1_000, 1_000) == 1
    with pytest.raises(ValueError):
        partitions_for_throughput(10, 0, 5)


def test_spec_configs_and_differences():
    spec = TopicSpec("user-events", partitions=24, replication_factor=3, retention_ms=604_800_000,
                     retention_bytes=107_374_182_400, min_insync_replicas=2, segment_bytes=1_073_741_824)
    assert spec.configs() == {"retention.ms": "604800000", "retention.bytes": "107374182400",
                              "cleanup.policy": "delete", "min.insync.replicas": "2",
                              "segment.bytes": "1073741824"}
    found = TopicSpec("user-events", partitions=12, replication_factor=3, retention_ms=604_800_000,
                      retention_bytes=107_374_182_400, min_insync_replicas=2, segment_bytes=1_073_741_824)
    assert spec.differences(found) == {"partitions": (24, 12)}


def test_partitioner_is_positive_murmur2_mod_partitions():
    from kafka.partitioner.default import murmur2

    assert partition_for("a", 1) == 0
    assert all(0 <= partition_for(f"user_{i}", 6) < 6 for i in range(100))
    assert partition_for("user_00001", 6) == (murmur2(b"user_00001") & 0x7FFFFFFF) % 6


def test_zipf_ids_are_heavy_tailed_and_seeded():
    ids = zipf_user_ids(20_000, users=1000, seed=1)
    assert ids == zipf_user_ids(20_000, users=1000, seed=1)
    from collections import Counter

    top = Counter(ids).most_common()
    assert top[0][0] == "user_00000"
    assert top[0][1] > 10 * top[99][1]  # rank 1 is over ten times rank 100


def test_skewed_keys_put_the_hot_key_on_one_partition():
    keys = skewed_keys(10_000, hot_share=0.5, seed=3)
    assert 0.48 < keys.count("user_hot") / len(keys) < 0.52
    counts = [0] * 6
    for k in keys:
        counts[partition_for(k, 6)] += 1
    assert skew_ratio(counts) > 2.5
    assert skew_ratio([5, 5, 5]) == 1.0


def test_order_violations_found_and_absent():
    in_order = [("k1", 0, 0, 0), ("k2", 1, 0, 0), ("k1", 0, 1, 1), ("k1", 0, 2, 2)]
    assert order_violations(in_order) == {}
    swapped = [("k1", 0, 0, 1), ("k1", 0, 1, 0)]
    assert order_violations(swapped) == {"k1": 1}
    split = [("k1", 0, 0, 0), ("k1", 1, 0, 1)]
    assert order_violations(split) == {"k1": 1}
