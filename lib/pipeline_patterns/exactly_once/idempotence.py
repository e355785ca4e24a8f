"""The idempotent producer under a stalled broker: retries without (and with) duplicates.

Guarantee (``enable_idempotence=True``): a retry of a batch the broker already wrote is
recognised by its producer id and sequence number and not written again — within one
producer session. It does not dedupe a restarted producer or an application that calls
``send`` twice for the same event (that needs transactions or an idempotent consumer).

The demonstration is real: the broker process is frozen with SIGSTOP while the producer
sends with a short ``request_timeout_ms``. The requests sit in the broker's socket; the
producer times them out and retries; when the broker is resumed (SIGCONT) it reads the
originals *and* the retries. Whether the producer retried is its own count: a cumulative
total added to kafka-python's ``record-retries`` sensor (which only publishes a windowed
rate), so a run in which nothing was retried reports 0 — and proves nothing.
"""

from __future__ import annotations

import json
from collections import Counter
from contextlib import suppress
from dataclasses import dataclass

from kafka import KafkaProducer
from kafka.metrics import MetricName
from kafka.metrics.stats import Total

from pipeline_patterns import kafka_client
from pipeline_patterns.poll import wait_until
from pipeline_patterns.stack import Stack


@dataclass(frozen=True)
class StallResult:
    idempotent: bool
    sent: int
    acknowledged: int
    in_topic: int
    duplicates: int
    retried_records: int
    """Record sends the producer retried, by its own ``record-retries`` sensor (0: no retry happened)."""


def retry_counter(producer: KafkaProducer):
    """A function returning how many record sends ``producer`` has retried so far.

    kafka-python records every retried batch's record count on its ``record-retries`` sensor but
    publishes only ``record-retry-rate`` (a 30 s window); a ``Total`` on the same sensor counts them all.
    """
    name = MetricName("record-retry-total", "producer-metrics", "Retried record sends since the producer started")
    producer._metrics.get_sensor("record-retries").add(name, Total())  # the producer's own sensor
    return lambda: int(producer.metrics()["producer-metrics"]["record-retry-total"])


def send_through_a_broker_stall(topic: str, n: int, idempotent: bool, stack: Stack | None = None,
                                broker: str = "kafka-1", request_timeout_ms: int = 1500,
                                stall_deadline_s: float = 30.0) -> StallResult:
    """Send ``n`` numbered records, freezing the broker for the second half; count what landed."""
    stack = stack or Stack(echo=lambda _: None)
    producer = kafka_client.producer(enable_idempotence=idempotent, acks="all", linger_ms=0,
                              request_timeout_ms=request_timeout_ms, retry_backoff_ms=100,
                              max_in_flight_requests_per_connection=5, delivery_timeout_ms=120_000)
    retries = retry_counter(producer)
    futures = [producer.send(topic, json.dumps({"seq": i}).encode()) for i in range(n // 2)]
    producer.flush()
    stack.pause(broker)
    try:
        futures += [producer.send(topic, json.dumps({"seq": i}).encode()) for i in range(n // 2, n)]
        # Frozen until the producer has timed out requests and retried (its own count says so);
        # past the deadline the broker resumes anyway and the result reports what happened.
        with suppress(TimeoutError):  # no retry: retried_records is 0 and the caller's assertions say so
            wait_until(lambda: retries() > 0, timeout_s=stall_deadline_s,
                       what="the producer to retry a timed-out request", interval_s=0.1)
    finally:
        stack.resume(broker)
    producer.flush(timeout=120)
    acknowledged = sum(1 for f in futures if f.succeeded())
    retried_records = retries()
    producer.close()
    counts = Counter(json.loads(r.value)["seq"] for r in kafka_client.read_all(topic))
    return StallResult(idempotent=idempotent, sent=n, acknowledged=acknowledged, in_topic=sum(counts.values()),
                       duplicates=sum(counts.values()) - len(counts), retried_records=retried_records)
