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

from pipeline_patterns import kafka_client as kafka_helpers


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
    producer = kafka_helpers.producer(
        None, bootstrap_servers=bootstrap.split(","), acks="all", enable_idempotence=True,
        delivery_timeout_ms=delivery_timeout_ms, request_timeout_ms=min(5_000, delivery_timeout_ms))
    try:
        futures = [(i, producer.send(topic, key=str(i).encode(), value=str(i).encode())) for i in ids]
        producer.flush(timeout=delivery_timeout_ms / 1000 + 30)
        outcome.record(futures)
    finally:
        producer.close(timeout=5)


def readable_ids(topic: str, bootstrap: str) -> Counter:
    """Every id readable in ``topic`` (a bounded read to the end offsets), with multiplicity."""
    return Counter(int(r.value) for r in kafka_helpers.read_all(topic, bootstrap_servers=bootstrap.split(",")))


def lost(acknowledged: list[int], readable: Counter) -> list[int]:
    """Acknowledged ids that cannot be read back."""
    return [i for i in acknowledged if readable[i] == 0]


def duplicated(readable: Counter) -> list[int]:
    return sorted(i for i, n in readable.items() if n > 1)


def isr_by_partition(topic: str, bootstrap: str) -> list[list[int]] | None:
    """Each partition's in-sync replicas, or None while a dead broker makes the admin call fail."""
    import kafka.errors

    admin = kafka_helpers.admin(None, bootstrap_servers=bootstrap.split(","))
    try:
        described = admin.describe_topics([topic])[0]
    except kafka.errors.KafkaConnectionError:
        return None
    finally:
        admin.close()
    return [sorted(p["isr_nodes"]) for p in sorted(described["partitions"], key=lambda p: p["partition_index"])]


def wait_for_isr(topic: str, bootstrap: str, expected: list[int], timeout_s: float = 60) -> list[list[int]]:
    """Poll until every partition's ISR is ``expected`` (a dead follower leaves it after
    ``replica.lag.time.max.ms``)."""
    from pipeline_patterns.poll import wait_until

    def check():
        isr = isr_by_partition(topic, bootstrap)
        return isr if isr and all(replicas == expected for replicas in isr) else None

    return wait_until(check, timeout_s, f"ISR of {topic!r} to become {expected}")


@dataclass
class DurabilityReport:
    """Counts from :func:`kill_brokers_while_producing` (every number from a real broker)."""

    acknowledged_all_up: int
    acknowledged_one_down: int
    readable_one_down: int
    lost_one_down: int
    duplicates_one_down: int
    refused_two_down: Counter
    acknowledged_two_down: int
    lost_after_restart: int
    duplicates_after_restart: int


def kill_brokers_while_producing(stack, topic: str, per_phase: int = 2000,
                                 bootstrap: str | None = None) -> DurabilityReport:
    """RF=3, min.insync.replicas=2, acks=all on the three-broker stack (``--brokers 3``).

    Phase 1: all brokers up. Phase 2: kafka-3 killed; producing goes on. Phase 3: kafka-2
    killed too; once the ISR has shrunk to broker 1 alone, a producer that does not
    retry is refused with NotEnoughReplicas for every record. Finally the killed brokers
    restart and every acknowledged record is looked up again. Broker 1 (the bootstrap)
    stays up throughout.
    """
    from pipeline_patterns.config import get_settings
    from pipeline_patterns.streaming.topics import TopicSpec, ensure_topic

    bootstrap = bootstrap or get_settings().kafka_bootstrap_servers.split(",")[0]  # broker 1
    ensure_topic(TopicSpec(topic, partitions=3, replication_factor=3, min_insync_replicas=2))
    outcome = ProduceOutcome()
    produce_ids(topic, range(0, per_phase), bootstrap, outcome)
    all_up = len(outcome.acknowledged)
    stack.kill("kafka-3")
    produce_ids(topic, range(per_phase, 2 * per_phase), bootstrap, outcome)
    readable = readable_ids(topic, bootstrap)
    one_down = (len(outcome.acknowledged) - all_up, sum(readable.values()), len(lost(outcome.acknowledged, readable)),
                len(duplicated(readable)))
    stack.kill("kafka-2")
    wait_for_isr(topic, bootstrap, [1])
    probe = kafka_helpers.producer(None, bootstrap_servers=bootstrap.split(","), acks="all",
                                   enable_idempotence=False, retries=0)
    futures = [(i, probe.send(topic, key=str(i).encode(), value=str(i).encode()))
               for i in range(2 * per_phase, 2 * per_phase + 100)]
    probe.flush()
    probe.close()
    refused = ProduceOutcome()
    refused.record(futures)
    stack.up(brokers=3)
    wait_for_isr(topic, bootstrap, [1, 2, 3])
    after = readable_ids(topic, bootstrap)
    return DurabilityReport(
        acknowledged_all_up=all_up, acknowledged_one_down=one_down[0], readable_one_down=one_down[1],
        lost_one_down=one_down[2], duplicates_one_down=one_down[3], refused_two_down=refused.errors,
        acknowledged_two_down=len(refused.acknowledged),
        lost_after_restart=len(lost(outcome.acknowledged, after)), duplicates_after_restart=len(duplicated(after)),
    )
