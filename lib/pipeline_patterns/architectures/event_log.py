"""Events into Kafka with their *event time* as the record timestamp.

Both Lambda's speed layer and Kappa's replay read the same topic. Setting the record
timestamp to the event's own time is what lets ``offsets_for_times`` answer "where does
this day start?" for a replay.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from pipeline_patterns import kafka
from pipeline_patterns.architectures.lambda_architecture import parse_ts


def event_time_ms(event: dict) -> int:
    return int(parse_ts(event["timestamp"]).timestamp() * 1000)


def produce_event_log(topic: str, events: Iterable[dict], partition_for: Callable[[dict], int] | None = None) -> int:
    """Send events keyed by user, timestamped with event time; return how many were acknowledged.

    ``partition_for`` pins an event to a partition (the Kappa lesson keeps one partition for
    an old backfill); by default Kafka places each event by its key.
    """
    producer = kafka.producer(linger_ms=10)
    futures = [producer.send(topic, key=e["user_id"].encode(), value=json.dumps(e).encode(),
                             timestamp_ms=event_time_ms(e),
                             partition=partition_for(e) if partition_for else None)
               for e in events]
    producer.flush()
    producer.close()
    return sum(1 for f in futures if f.succeeded())
