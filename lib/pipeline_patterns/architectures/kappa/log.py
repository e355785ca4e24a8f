"""Kappa's log: an event-time topic that keeps every record, and where a replay starts in it.

Guarantee of :func:`start_offsets`: per partition, the first offset whose record timestamp
is at or after ``from_ms`` (milliseconds since the epoch); a partition with no such record
starts at its end offset (the guide's ``offset[tp].offset`` crashes there, on ``None``).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

from kafka.structs import TopicPartition

from pipeline_patterns import kafka_client
from pipeline_patterns.architectures.event_log import create_event_log


def create_log(topic: str, partitions: int = 4) -> bool:
    """The immutable log: a topic that never deletes by age."""
    return create_event_log(topic, partitions)


def partition_by_user(partitions: int) -> Callable[[dict], int]:
    """A stable user -> partition map (crc32) over the first ``partitions`` partitions."""
    return lambda event: zlib.crc32(event["user_id"].encode()) % partitions


def start_offsets(topic: str, from_ms: int) -> dict[int, int]:
    """Partition -> first offset with a timestamp >= ``from_ms``; its end offset if none.

    ``offsets_for_times`` takes milliseconds since the epoch and returns ``None`` for a
    partition with no such record — the guide's ``offset[tp].offset`` crashes there.
    """
    consumer = kafka_client.consumer()
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        found = consumer.offsets_for_times({tp: from_ms for tp in partitions})
        end = consumer.end_offsets(partitions)
        return {tp.partition: (found[tp].offset if found[tp] is not None else end[tp]) for tp in partitions}
    finally:
        consumer.close()


def offsets_found(topic: str, from_ms: int) -> dict[int, int | None]:
    """What ``offsets_for_times`` itself answers per partition (None where nothing is later)."""
    consumer = kafka_client.consumer()
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        found = consumer.offsets_for_times({tp: from_ms for tp in partitions})
        return {tp.partition: (None if found[tp] is None else found[tp].offset) for tp in partitions}
    finally:
        consumer.close()
