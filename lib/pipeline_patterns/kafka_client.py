"""Kafka clients built from the settings (kafka-python).

Helpers only: each pattern module states its own delivery guarantee. Defaults here
are the safe ones (``acks="all"``, idempotence on, no auto commit). Named ``kafka_client``
so that ``kafka`` in any module of the kit always means kafka-python.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError
from kafka.serializer import DefaultSerializer, JsonSerializer

from pipeline_patterns.config import Settings, get_settings


def _servers(settings: Settings | None, config: dict[str, Any] | None = None) -> list[str]:
    """``bootstrap_servers`` from ``config`` if given there (popped), else from the settings."""
    if config and "bootstrap_servers" in config:
        return config.pop("bootstrap_servers")
    return (settings or get_settings()).kafka_bootstrap_servers.split(",")


def admin(settings: Settings | None = None, **config: Any) -> KafkaAdminClient:
    return KafkaAdminClient(bootstrap_servers=_servers(settings, config), client_id="pipeline-patterns-admin",
                            **config)


def producer(settings: Settings | None = None, **config: Any) -> KafkaProducer:
    """A producer with ``acks=all`` and idempotence on unless overridden."""
    defaults = {"acks": "all", "enable_idempotence": True, "linger_ms": 5}
    return KafkaProducer(bootstrap_servers=_servers(settings, config), **{**defaults, **config})


def json_producer(settings: Settings | None = None, **config: Any) -> KafkaProducer:
    """A producer serialising values as JSON and string keys as UTF-8 (kafka-python's serializers)."""
    return producer(settings, key_serializer=DefaultSerializer(), value_serializer=JsonSerializer(), **config)


def consumer(*topics: str, settings: Settings | None = None, **config: Any) -> KafkaConsumer:
    """A consumer reading from the earliest offset, without auto commit unless overridden."""
    defaults = {"auto_offset_reset": "earliest", "enable_auto_commit": False, "consumer_timeout_ms": 10_000}
    return KafkaConsumer(*topics, bootstrap_servers=_servers(settings, config), **{**defaults, **config})


def create_topic(name: str, partitions: int = 1, replication_factor: int = 1,
                 configs: dict[str, str] | None = None, settings: Settings | None = None) -> bool:
    """Create a topic if it does not exist. Returns True when this call created it."""
    client = admin(settings)
    try:
        client.create_topics([NewTopic(name, partitions, replication_factor, topic_configs=configs or {})])
        return True
    except TopicAlreadyExistsError:
        return False
    finally:
        client.close()


def read_all(topic: str, settings: Settings | None = None, **config: Any) -> list:
    """Every record in ``topic`` up to the end offsets seen at the call (bounded, no group)."""
    c = consumer(settings=settings, **config)
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(c.partitions_for_topic(topic) or [])]
        if not partitions:
            return []
        c.assign(partitions)
        c.seek_to_beginning(*partitions)
        end = c.end_offsets(partitions)
        records = []
        while any(c.position(tp) < end[tp] for tp in partitions):
            for batch in c.poll(timeout_ms=1000).values():
                records.extend(batch)
        return records
    finally:
        c.close()


def end_offsets(topic: str, settings: Settings | None = None) -> dict[str, int]:
    """``{"topic:partition": end offset}`` of every partition of ``topic``: every record acknowledged before the
    call is below its partition's end."""
    c = consumer(settings=settings)
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(c.partitions_for_topic(topic) or [])]
        return {f"{tp.topic}:{tp.partition}": offset for tp, offset in c.end_offsets(partitions).items()}
    finally:
        c.close()


def wait_for_records(topic: str, predicate, timeout_s: float = 60.0, settings: Settings | None = None,
                     **config: Any) -> list:
    """Poll ``topic`` from the beginning until a record satisfies ``predicate`` (or time out)."""
    import time

    c = consumer(topic, settings=settings, consumer_timeout_ms=int(timeout_s * 1000), **config)
    deadline = time.monotonic() + timeout_s
    seen = []
    try:
        while time.monotonic() < deadline:
            for batch in c.poll(timeout_ms=500).values():
                seen.extend(batch)
                if any(predicate(r) for r in batch):
                    return seen
        raise TimeoutError(f"no record in {topic!r} matched within {timeout_s:.0f}s ({len(seen)} seen)")
    finally:
        c.close()


def produce_json(topic: str, rows: Iterable[dict], key: str | None = None, settings: Settings | None = None) -> int:
    """Send rows as JSON (keyed by ``row[key]`` when given), flush, return the count acknowledged."""
    p = json_producer(settings)
    futures = [p.send(topic, key=row.get(key) if key else None, value=row) for row in rows]
    p.flush()
    p.close()
    return sum(1 for f in futures if f.get(timeout=30))


SOURCE_HEADER = "source"
"""The header naming the input record an output came from (for audits, never for dedupe)."""


def source_position(topic: str, partition: int, offset: int) -> bytes:
    """An input position as a header value: ``b"topic:partition:offset"``."""
    return f"{topic}:{partition}:{offset}".encode()


def parse_source_position(value: bytes) -> tuple[str, int, int]:
    """The ``(topic, partition, offset)`` of a :func:`source_position` header value."""
    topic, partition, offset = value.decode().rsplit(":", 2)
    return topic, int(partition), int(offset)


def committed_offsets(group: str, topic: str | None = None, admin_client: KafkaAdminClient | None = None,
                      settings: Settings | None = None) -> dict[int, int]:
    """A group's committed offsets per partition (of ``topic`` if given); empty before its first commit.

    Pass an open ``admin_client`` to poll often (a test deciding when to kill a processor).
    """
    client = admin_client or admin(settings)
    try:
        offsets = client.list_group_offsets({group: None}).get(group, {})
        return {tp.partition: meta.offset for tp, meta in offsets.items()
                if meta.offset >= 0 and (topic is None or tp.topic == topic)}
    finally:
        if admin_client is None:
            client.close()
