"""What exactly-once costs: the same processor, at-least-once vs transactional, same input.

Each measurement processes a fresh copy of the input with a new group and output topic, so
rounds are independent; rounds interleave the modes so drift on a shared laptop hits both.
"""

from __future__ import annotations

import statistics
import uuid
from dataclasses import dataclass

from pipeline_patterns import datagen, kafka_client
from pipeline_patterns.exactly_once.kafka_transactions import ReadProcessWriteConfig, run


@dataclass(frozen=True)
class Measurement:
    """One run of a read-process-write processor: records committed, in how long, in how many commits."""

    mode: str
    commit_interval_ms: int
    records: int
    seconds: float
    commits: int
    client: str = "kafka-python"
    """The Kafka client that ran the loop (``benchmarks/exactly_once_overhead.py`` compares several)."""

    @property
    def records_per_s(self) -> float:
        return self.records / self.seconds


def prepare_input(n: int, seed: int = 42, partitions: int = 3) -> str:
    """A topic holding ``n`` seeded user events (keyed by user)."""
    topic = f"eos_bench_in_{uuid.uuid4().hex[:8]}"
    kafka_client.create_topic(topic, partitions=partitions)
    kafka_client.produce_json(topic, datagen.user_events(n, seed=seed), key="user_id")
    return topic


def measure(input_topic: str, mode: str, commit_interval_ms: int, partitions: int = 3) -> Measurement:
    suffix = uuid.uuid4().hex[:8]
    output = f"eos_bench_out_{suffix}"
    kafka_client.create_topic(output, partitions=partitions)
    stats = run(ReadProcessWriteConfig(input_topic, output, f"eos_bench_{suffix}", mode=mode,
                                commit_interval_ms=commit_interval_ms))
    return Measurement(mode, commit_interval_ms, stats.committed, stats.seconds, stats.commits)


def compare(n: int, intervals_ms: tuple[int, ...] = (10, 100, 1000), rounds: int = 2,
            seed: int = 42) -> list[dict]:
    """Median records/s per (interval, mode) and the transactional / at-least-once ratio.

    ``committed`` lists, per measurement of the row (both modes, every round), how many records
    that run committed: a run that stopped early would show fewer than ``n`` there.
    """
    topic = prepare_input(n, seed)
    rows = []
    for interval in intervals_ms:
        rates: dict[str, list[Measurement]] = {"at-least-once": [], "transactional": []}
        for _ in range(rounds):
            for mode in rates:
                rates[mode].append(measure(topic, mode, interval))
        alo = statistics.median(m.records_per_s for m in rates["at-least-once"])
        txn = statistics.median(m.records_per_s for m in rates["transactional"])
        rows.append({"commit_interval_ms": interval, "at_least_once_per_s": alo, "transactional_per_s": txn,
                     "ratio": txn / alo, "transactions": rates["transactional"][0].commits,
                     "committed": [m.records for ms in rates.values() for m in ms]})
    return rows
