"""Topics declared as data, created idempotently, and read back from the broker.

Guarantee: :func:`ensure_topic` leaves the broker with a topic equal to the
declaration or raises :class:`TopicMismatch` saying which settings differ — it never
silently keeps a topic that drifted (Kafka cannot shrink partitions or change the
replication factor in place). Assumes the cluster has at least
``replication_factor`` brokers; on one broker RF=3 is refused (the guide's pitfall).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from kafka.admin import ConfigResource, ConfigResourceType

from pipeline_patterns import kafka_client as kafka_helpers
from pipeline_patterns.config import Settings


@dataclass(frozen=True)
class TopicSpec:
    """A topic's shape and the configs the guide sets (bytes and milliseconds, as Kafka says)."""

    name: str
    partitions: int
    replication_factor: int = 1
    retention_ms: int = 7 * 24 * 3600 * 1000
    retention_bytes: int = -1
    cleanup_policy: str = "delete"
    min_insync_replicas: int = 1
    segment_bytes: int = 1024**3

    def configs(self) -> dict[str, str]:
        return {
            "retention.ms": str(self.retention_ms),
            "retention.bytes": str(self.retention_bytes),
            "cleanup.policy": self.cleanup_policy,
            "min.insync.replicas": str(self.min_insync_replicas),
            "segment.bytes": str(self.segment_bytes),
        }

    def differences(self, other: TopicSpec) -> dict[str, tuple[object, object]]:
        """Fields whose values differ: ``{field: (declared, found)}``."""
        mine, theirs = asdict(self), asdict(other)
        return {k: (mine[k], theirs[k]) for k in mine if mine[k] != theirs[k]}


class TopicMismatch(RuntimeError):
    """The broker's topic differs from its declaration."""


class TopicNotFound(LookupError):
    """The broker does not (yet) know the topic."""


def describe(name: str, settings: Settings | None = None) -> TopicSpec:
    """Read a topic's partitions, replication factor and configs back from the broker."""
    admin = kafka_helpers.admin(settings)
    try:
        topic = admin.describe_topics([name])[0]
        if topic["error_code"] or not topic["partitions"]:
            raise TopicNotFound(f"topic {name!r} not found (error code {topic['error_code']})")
        partitions = topic["partitions"]
        response = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)])
    finally:
        admin.close()
    configs = {key: entry["value"] for key, entry in response["topic"][name].items()}
    return TopicSpec(
        name=name,
        partitions=len(partitions),
        replication_factor=len(partitions[0]["replica_nodes"]),
        retention_ms=int(configs["retention.ms"]),
        retention_bytes=int(configs["retention.bytes"]),
        cleanup_policy=configs["cleanup.policy"],
        min_insync_replicas=int(configs["min.insync.replicas"]),
        segment_bytes=int(configs["segment.bytes"]),
    )


def ensure_topic(spec: TopicSpec, settings: Settings | None = None) -> bool:
    """Create the topic if missing; check an existing one matches. True when created now."""
    created = kafka_helpers.create_topic(spec.name, spec.partitions, spec.replication_factor, spec.configs(),
                                         settings)
    found = _wait_described(spec.name, settings)
    diff = spec.differences(found)
    if diff:
        raise TopicMismatch(
            f"topic {spec.name!r} exists but differs from its declaration: "
            + ", ".join(f"{k}: declared {a}, found {b}" for k, (a, b) in diff.items())
            + ". Partitions can only grow and the replication factor needs a reassignment: "
              "declare what exists, or create a new topic and migrate."
        )
    return created


def _wait_described(name: str, settings: Settings | None) -> TopicSpec:
    """``describe`` once the new topic's metadata has reached the broker we ask."""
    from pipeline_patterns.poll import wait_until

    def attempt() -> TopicSpec | None:
        try:
            return describe(name, settings)
        except TopicNotFound:
            return None

    return wait_until(attempt, 30, f"topic {name!r} metadata", interval_s=0.2)


# The guide's table: throughput (messages/s) -> partitions.
GUIDE_PARTITIONS = (
    (10_000, (6, 12), "a single consumer can keep up"),
    (100_000, (24, 48), "several consumers needed"),
    (math.inf, (100, None), "scale consumers with partitions"),
)


def guide_partitions(messages_per_second: float) -> tuple[int, int | None]:
    """The guide's partition range for a throughput: < 10K -> 6-12, 10K-100K -> 24-48, > 100K -> 100+.

    10,000 and 100,000 themselves fall in the middle row ("10K-100K").
    """
    if messages_per_second < 0:
        raise ValueError(f"throughput must be >= 0 messages/s, got {messages_per_second}")
    if messages_per_second < 10_000:
        return GUIDE_PARTITIONS[0][1]
    if messages_per_second <= 100_000:
        return GUIDE_PARTITIONS[1][1]
    return GUIDE_PARTITIONS[2][1]


def partitions_for_throughput(target_per_s: float, producer_per_partition_per_s: float,
                              consumer_per_partition_per_s: float) -> int:
    """Where such tables come from: enough partitions for both sides to reach the target.

    A partition is read by at most one consumer of a group, so the slower of the
    measured per-partition producer and consumer rates sets the count:
    ``ceil(max(target / producer_rate, target / consumer_rate))``.
    """
    if min(producer_per_partition_per_s, consumer_per_partition_per_s) <= 0:
        raise ValueError("per-partition rates must be positive (measure them first)")
    return max(1, math.ceil(max(target_per_s / producer_per_partition_per_s,
                                target_per_s / consumer_per_partition_per_s)))
