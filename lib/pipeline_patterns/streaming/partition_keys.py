"""Partition keys: where keyed records land, how evenly, and whether per-key order holds.

Guarantee taught: Kafka keeps order *within a partition*; with a key, every record of
that key goes to one partition (murmur2(key) mod partitions, the Java client's
default, which kafka-python implements too), so per-key order holds as long as the
partition count does not change. A hot key cannot be spread: one partition carries it.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Iterable
from itertools import pairwise

from kafka.partitioner.default import murmur2


def partition_for(key: str, partitions: int) -> int:
    """The partition Kafka's default partitioner picks for a non-null key."""
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions


def zipf_user_ids(n: int, users: int = 1000, exponent: float = 1.1, seed: int = 42) -> list[str]:
    """``n`` user ids with a heavy-tailed popularity (rank r drawn with weight 1/r^exponent)."""
    rng = random.Random(seed)
    weights = [1 / rank**exponent for rank in range(1, users + 1)]
    ranks = rng.choices(range(users), weights=weights, k=n)
    return [f"user_{rank:05d}" for rank in ranks]


def skewed_keys(n: int, hot_key: str = "user_hot", hot_share: float = 0.5, users: int = 1000,
                seed: int = 42) -> list[str]:
    """``n`` keys where one hot key takes ``hot_share`` of the traffic (a celebrity, a bot)."""
    rng = random.Random(seed)
    return [hot_key if rng.random() < hot_share else f"user_{rng.randrange(users):05d}" for _ in range(n)]


def per_partition(counts_by_partition: Counter, partitions: int) -> list[int]:
    return [counts_by_partition.get(p, 0) for p in range(partitions)]


def skew_ratio(counts: list[int]) -> float:
    """Largest partition over the mean: 1.0 is perfectly even."""
    mean = sum(counts) / len(counts)
    return max(counts) / mean if mean else 0.0


def order_violations(records: Iterable[tuple[str, int, int, int]]) -> dict[str, int]:
    """Per-key order check on consumed ``(key, partition, offset, sequence)`` tuples.

    ``sequence`` is the order in which the producer sent that key's records. Returns,
    per key, how many records came back out of order (and counts a key seen in more
    than one partition as a violation too). Empty means order held for every key.
    """
    by_key: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    for key, partition, offset, sequence in records:
        by_key[key].append((partition, offset, sequence))
    violations = {}
    for key, rows in by_key.items():
        rows.sort(key=lambda r: (r[0], r[1]))
        sequences = [r[2] for r in rows]
        bad = sum(1 for a, b in pairwise(sequences) if b < a)
        if len({r[0] for r in rows}) > 1:
            bad += 1
        if bad:
            violations[key] = bad
    return violations
