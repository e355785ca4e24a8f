"""Lesson 11's input: raw order samples (poison included) produced to Kafka as given.

:func:`produce_samples` waits for every acknowledgement and returns the samples by the
input position each landed at (the ``source`` header value the DLQ processor will write),
so a test or the lesson can match every output and DLQ record with what was sent.
"""

from __future__ import annotations

from pipeline_patterns import kafka_client
from pipeline_patterns.errors import orders


def produce_samples(topic: str, samples: list[orders.Sample]) -> dict[bytes, orders.Sample]:
    """Send raw samples (bytes as given), wait for every acknowledgement; samples by input position."""
    producer = kafka_client.producer(linger_ms=20)
    try:
        futures = [(producer.send(topic, key=s.key, value=s.value), s) for s in samples]
        producer.flush()
        return {kafka_client.source_position(topic, (meta := future.get(timeout=30)).partition, meta.offset): sample
                for future, sample in futures}
    finally:
        producer.close(timeout=10)
