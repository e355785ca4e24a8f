"""Events into Kafka with their *event time* as the record timestamp.

Both Lambda's speed layer and Kappa's replay read the same topic. Setting the record
timestamp to the event's own time is what lets ``offsets_for_times`` answer "where does
this day start?" for a replay.

It is also what makes a topic with the broker's default retention (7 days by record
timestamp) lose them: events from 2024 are past retention on arrival, and the broker's next
retention check (every 5 minutes) deletes their segments — a consumer that starts after it
silently reads nothing. Topics that carry event-time records are created by
:func:`create_event_log`, which keeps every record (``retention.ms=-1``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from pipeline_patterns import kafka_client
from pipeline_patterns.architectures.aggregation import parse_ts

LOG_CONFIG = {"retention.ms": "-1", "cleanup.policy": "delete"}  # keep every event, whatever its age


def create_event_log(topic: str, partitions: int) -> bool:
    """A topic for event-time records that never deletes by age (True when this call created it)."""
    return kafka_client.create_topic(topic, partitions=partitions, configs=LOG_CONFIG)


def event_time_ms(event: dict) -> int:
    return int(parse_ts(event["timestamp"]).timestamp() * 1000)


def produce_event_log(topic: str, events: Iterable[dict], partition_for: Callable[[dict], int] | None = None) -> int:
    """Send events keyed by user, timestamped with event time; return how many were acknowledged.

    ``partition_for`` pins an event to a partition (the Kappa lesson keeps one partition for
    an old backfill); by default Kafka places each event by its key.
    """
    producer = kafka_client.producer(linger_ms=10)
    futures = [producer.send(topic, key=e["user_id"].encode(), value=json.dumps(e).encode(),
                             timestamp_ms=event_time_ms(e),
                             partition=partition_for(e) if partition_for else None)
               for e in events]
    producer.flush()
    producer.close()
    return sum(1 for f in futures if f.succeeded())
