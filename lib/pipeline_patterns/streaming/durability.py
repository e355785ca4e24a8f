"""Durability with replication: RF=3, ``min.insync.replicas=2``, ``acks=all``.

Guarantee taught: a record the producer saw acknowledged with ``acks=all`` is on at
least ``min.insync.replicas`` brokers, so losing one broker loses no acknowledged
record; when too few replicas remain, the broker *refuses* writes
(NotEnoughReplicas) instead of accepting records it could lose. Assumes
``unclean.leader.election.enable=false`` (Kafka's default).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from kafka import TopicPartition

from pipeline_patterns import kafka as kafka_helpers
from pipeline_patterns.config import Settings


@dataclass
class ProduceOutcome:
    acknowledged: list[int] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)

    def record(self, futures: list) -> None:
        """Wait for every future; keep acknowledged ids and count errors by type."""
        for seq, future in futures:
            try:
                future.get(timeout=120)
                self.acknowledged.append(seq)
            except Exception as exc:  # every failure is counted by type, none is ignored
                self.errors[type(exc).__name__] += 1


def produce_ids(topic: str, ids: range, bootstrap: str, outcome: ProduceOutcome,
                delivery_timeout_ms: int = 15_000) -> None:
    """Send each id as a record with ``acks=all`` and idempotence, then wait for all."""
    producer = _producer(bootstrap, delivery_timeout_ms)
    try:
        futures = [(i, producer.send(topic, key=str(i).encode(), value=str(i).encode())) for i in ids]
        producer.flush(timeout=delivery_timeout_ms / 1000 + 30)
        outcome.record(futures)
    finally:
        producer.close(timeout=5)


def _producer(bootstrap: str, delivery_timeout_ms: int):
    from kafka import KafkaProducer

    return KafkaProducer(
        bootstrap_servers=bootstrap.split(","), acks="all", enable_idempotence=True,
        delivery_timeout_ms=delivery_timeout_ms, request_timeout_ms=min(5_000, delivery_timeout_ms),
        linger_ms=5,
    )


def readable_ids(topic: str, bootstrap: str) -> Counter:
    """Every id readable in ``topic`` (a bounded read to the end offsets), with multiplicity."""
    consumer = kafka_helpers.consumer(bootstrap_servers=bootstrap.split(","), consumer_timeout_ms=30_000)
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        end = consumer.end_offsets(partitions)
        seen: Counter = Counter()
        while any(consumer.position(tp) < end[tp] for tp in partitions):
            for batch in consumer.poll(timeout_ms=1000).values():
                seen.update(int(r.value) for r in batch)
        return seen
    finally:
        consumer.close()


def lost(acknowledged: list[int], readable: Counter) -> list[int]:
    """Acknowledged ids that cannot be read back."""
    return [i for i in acknowledged if readable[i] == 0]


def duplicated(readable: Counter) -> list[int]:
    return sorted(i for i, n in readable.items() if n > 1)


def settings_bootstrap(settings: Settings | None = None) -> str:
    from pipeline_patterns.config import get_settings

    return (settings or get_settings()).kafka_bootstrap_servers
