"""The idempotent producer under a stalled broker: retries without (and with) duplicates.

Guarantee (``enable_idempotence=True``): a retry of a batch the broker already wrote is
recognised by its producer id and sequence number and not written again — within one
producer session. It does not dedupe a restarted producer or an application that calls
``send`` twice for the same event (that needs transactions or an idempotent consumer).

The demonstration is real: the broker process is frozen with SIGSTOP while the producer
sends with a short ``request_timeout_ms``. The requests sit in the broker's socket; the
producer times them out and retries; when the broker is resumed (SIGCONT) it reads the
originals *and* the retries.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass

from pipeline_patterns import kafka
from pipeline_patterns.poll import wait_until
from pipeline_patterns.stack import Stack


@dataclass(frozen=True)
class StallResult:
    idempotent: bool
    sent: int
    acknowledged: int
    in_topic: int
    duplicates: int
    retried: bool


def send_through_a_broker_stall(topic: str, n: int, idempotent: bool, stack: Stack | None = None,
                                broker: str = "kafka-1", request_timeout_ms: int = 1500) -> StallResult:
    """Send ``n`` numbered records, freezing the broker for the second half; count what landed."""
    stack = stack or Stack(echo=lambda _: None)
    producer = kafka.producer(enable_idempotence=idempotent, acks="all", linger_ms=0,
                              request_timeout_ms=request_timeout_ms, retry_backoff_ms=100,
                              max_in_flight_requests_per_connection=5, delivery_timeout_ms=120_000)
    futures = [producer.send(topic, json.dumps({"seq": i}).encode()) for i in range(n // 2)]
    producer.flush()
    stack.pause(broker)
    try:
        futures += [producer.send(topic, json.dumps({"seq": i}).encode()) for i in range(n // 2, n)]
        # Frozen until the producer has timed out requests and retried (its own metric says so).
        wait_until(lambda: producer.metrics()["producer-metrics"]["record-retry-rate"] > 0,
                   timeout_s=60, what="the producer to retry a timed-out request", interval_s=0.1)
        retried = True
    finally:
        stack.resume(broker)
    producer.flush(timeout=120)
    acknowledged = sum(1 for f in futures if f.succeeded())
    producer.close()
    counts = Counter(json.loads(r.value)["seq"] for r in kafka.read_all(topic))
    return StallResult(idempotent=idempotent, sent=n, acknowledged=acknowledged, in_topic=sum(counts.values()),
                       duplicates=sum(counts.values()) - len(counts), retried=retried)
