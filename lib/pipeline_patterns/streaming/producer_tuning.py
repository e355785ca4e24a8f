"""Producer batching: how ``linger_ms``, ``batch_size`` and compression change throughput.

Measured, never asserted: :func:`measure` returns records per second for one
configuration on this machine, with every record acknowledged (``acks=all``) — a
faster setting that lost records would not count.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from pipeline_patterns import kafka_client as kafka_helpers
from pipeline_patterns.datagen import user_events

DEFAULT: dict[str, Any] = {}
TUNED: dict[str, Any] = {"linger_ms": 20, "batch_size": 256 * 1024, "compression_type": "lz4"}


@dataclass
class Throughput:
    name: str
    records: int
    seconds: float
    payload_bytes: int

    @property
    def records_per_s(self) -> float:
        return self.records / self.seconds

    @property
    def mib_per_s(self) -> float:
        return self.payload_bytes / self.seconds / 2**20


def payloads(n: int, seed: int = 42) -> list[tuple[bytes, bytes]]:
    """``n`` (key, value) pairs of seeded user events as JSON bytes."""
    return [(e["user_id"].encode(), json.dumps(e).encode()) for e in user_events(n, seed=seed)]


def measure(name: str, topic: str, records: list[tuple[bytes, bytes]], **config) -> Throughput:
    """Send every record with ``acks=all``, wait for every acknowledgement, time it."""
    producer = kafka_helpers.producer(None, **config)
    try:
        started = time.perf_counter()
        futures = [producer.send(topic, key=k, value=v) for k, v in records]
        producer.flush()
        for future in futures:
            future.get(timeout=60)  # raises if any record was not acknowledged
        seconds = time.perf_counter() - started
    finally:
        producer.close()
    return Throughput(name, len(records), seconds, sum(len(k) + len(v) for k, v in records))
