"""Partition keys: where keyed records land, how evenly, and whether per-key order holds.

Guarantee taught: Kafka keeps order *within a partition*; with a key, every record of
that key goes to one partition (murmur2(key) mod partitions, the Java client's
default, which kafka-python implements too), so per-key order holds as long as the
partition count does not change. A hot key cannot be spread: one partition carries it.

:func:`java_client_placement` is the independent check: Kafka's own Java producer (the
reference implementation of the default partitioner) writes each key once, and the broker
says where each record landed — so :func:`partition_for` is compared with the real thing,
not with kafka-python's partitioner (which uses the same function).
"""

from __future__ import annotations

import random
import subprocess
from collections import Counter, defaultdict
from collections.abc import Iterable
from itertools import pairwise

from kafka.partitioner.default import murmur2

from pipeline_patterns import kafka_client
from pipeline_patterns.config import Settings, get_settings


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


def java_client_placement(topic: str, keys: Iterable[str], settings: Settings | None = None,
                          timeout_s: float = 120.0) -> dict[str, set[int]]:
    """Produce one record per key with Kafka's Java console producer; read back where each landed.

    Returns, per key, the set of partitions the broker holds its records in (one element when
    placement is deterministic). Uses the broker's own jars (``stack/jars/kafka``) and Java.
    """
    from pipeline_patterns.stack.jvm import CONF_DIR, JARS_DIR
    from pipeline_patterns.stack.preflight import java_executable

    settings = settings or get_settings()
    lines = "".join(f"{key}\t{i}\n" for i, key in enumerate(keys))
    done = subprocess.run(
        [java_executable(), "-Xmx128m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
         f"-Dlog4j2.configurationFile={CONF_DIR / 'log4j2.properties'}", "-cp", str(JARS_DIR / "kafka" / "*"),
         "org.apache.kafka.tools.ConsoleProducer", "--bootstrap-server", settings.kafka_bootstrap_servers,
         "--topic", topic, "--property", "parse.key=true", "--property", "key.separator=\t"],
        input=lines, capture_output=True, text=True, timeout=timeout_s)
    if done.returncode != 0:
        raise RuntimeError(f"Kafka's console producer exited with {done.returncode}: {done.stderr[-2000:]}")
    placement: dict[str, set[int]] = defaultdict(set)
    for record in kafka_client.read_all(topic, settings=settings):
        placement[record.key.decode()].add(record.partition)
    return dict(placement)
