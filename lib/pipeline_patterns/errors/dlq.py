"""Dead letter queue, hand-written on kafka-python: the pattern is the lesson (no framework).

Guarantee: every consumed record is either processed to the output topic or written to
the DLQ, **at least once**; the input offset is committed only after the output/DLQ
writes of its batch are acknowledged (``future.get()`` on every send). A ``kill -9``
anywhere therefore loses nothing: the uncommitted batch is read again and written again.
Duplicates are the price; every output and DLQ record names its input position in a
``source`` header (``topic:partition:offset``), so readers count and drop them
(:mod:`pipeline_patterns.errors.dlq_audit`).

This module is the loop: poll, decide each record (:mod:`~pipeline_patterns.errors.dlq_classify`),
send, wait for the acknowledgements, commit. Headers are in :mod:`~pipeline_patterns.errors.dlq_headers`,
the retry policy in :mod:`~pipeline_patterns.errors.dlq_retry`, the CLI process in
:mod:`~pipeline_patterns.errors.dlq_processor`; the lesson's dependency and input are fakes
(:mod:`pipeline_patterns.errors.fakes`).

Classification comes first (style: retriable vs terminal). Terminal errors — bytes that
are not UTF-8, not JSON, or break the schema (:func:`orders.validate`) — go to the DLQ
at once: retrying the same bytes gives the same answer. A retriable error — the risk
service timing out — is retried with exponential backoff (tenacity) and goes to the DLQ
once ``max_retries`` retries have failed. Any other exception is a bug in the processor:
it propagates, nothing of the batch is committed, and the processor exits non-zero.

Why in-process retries and not a retry topic: they keep per-partition order and need no
second topic with its own offsets, and the retry count cannot be lost between topics; the
count travels in the ``retry_count`` header of the output or DLQ record. The cost is
head-of-line blocking for at most the total backoff (``max_retries`` × ``max_backoff_s``);
for outages longer than that use a delayed retry topic or a circuit breaker (lesson 12).

Assumes: the dependency's answer for a record does not change between a crash and the
rerun (otherwise one input position could land in the output *and* the DLQ; readers
should then prefer the output). Breaks it: committing before the sends are acknowledged
(``commit_before_ack=True`` reproduces the guide's order to show the loss).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from kafka import TopicPartition
from kafka.structs import OffsetAndMetadata

from pipeline_patterns import kafka_client
from pipeline_patterns.errors.dlq_classify import decide
from pipeline_patterns.errors.dlq_headers import utc_now
from pipeline_patterns.errors.dlq_retry import RetryPolicy
from pipeline_patterns.faults import crash_point


@dataclass(frozen=True)
class DlqProcessorConfig:
    """The DLQ processor's topics, consumer group and retry policy."""

    input_topic: str
    output_topic: str
    dlq_topic: str
    group_id: str
    max_poll_records: int = 100
    policy: RetryPolicy = RetryPolicy()  # noqa: RUF009 -- frozen, so one shared default is safe
    commit_before_ack: bool = False
    """True reproduces the guide's bug: offsets committed while the sends may still be in flight."""
    linger_ms: int = 5


@dataclass
class DlqRunStats:
    """What one run of the DLQ processor says it did (:mod:`~pipeline_patterns.errors.dlq_audit` checks it)."""

    consumed: int = 0
    processed: int = 0
    dead_lettered: Counter = field(default_factory=Counter)
    retried: int = 0
    """Records that needed at least one retry and were then processed."""
    commits: int = 0
    seconds: float = 0.0
    end_offsets: dict[int, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"consumed": self.consumed, "processed": self.processed, "dead_lettered": dict(self.dead_lettered),
                "retried": self.retried, "commits": self.commits, "seconds": round(self.seconds, 3)}


def run(cfg: DlqProcessorConfig, lookup: Callable[[str], int], now: Callable[[], datetime] = utc_now) -> DlqRunStats:
    """Process ``input_topic`` from the group's committed offsets up to the end offsets at start."""
    started = time.perf_counter()
    consumer = kafka_client.consumer(group_id=cfg.group_id, max_poll_records=cfg.max_poll_records,
                                     consumer_timeout_ms=1000)
    producer = kafka_client.producer(linger_ms=cfg.linger_ms)
    stats = DlqRunStats()
    try:
        partitions = [TopicPartition(cfg.input_topic, p)
                      for p in sorted(consumer.partitions_for_topic(cfg.input_topic) or [])]
        if not partitions:
            raise ValueError(f"input topic {cfg.input_topic!r} does not exist (create it and produce to it first)")
        consumer.assign(partitions)  # no group membership: a restarted instance starts at once
        beginning, end = consumer.beginning_offsets(partitions), consumer.end_offsets(partitions)
        for tp in partitions:
            committed = consumer.committed(tp)
            consumer.seek(tp, beginning[tp] if committed is None else committed)
        stats.end_offsets = {tp.partition: end[tp] for tp in partitions}
        while any(consumer.position(tp) < end[tp] for tp in partitions):
            _batch(cfg, consumer, producer, end, lookup, now, stats)
        stats.seconds = time.perf_counter() - started
        return stats
    finally:
        producer.close(timeout=10)
        consumer.close()


def _batch(cfg, consumer, producer, end, lookup, now, stats: DlqRunStats) -> None:
    """One poll: decide, send, wait for every acknowledgement, then commit (or the guide's order)."""
    futures, next_offsets = [], {}
    for tp, records in consumer.poll(timeout_ms=500).items():
        for record in records:
            if record.offset >= end[tp]:
                break
            decision = decide(record, lookup, cfg.policy, now)
            topic = cfg.dlq_topic if decision.dead else cfg.output_topic
            futures.append(producer.send(topic, key=record.key, value=decision.value, headers=decision.headers))
            next_offsets[tp] = record.offset + 1
            stats.consumed += 1
            if decision.dead:
                stats.dead_lettered[decision.reason] += 1
                crash_point("after-dlq-send")
            else:
                stats.processed += 1
                stats.retried += decision.retries > 0
    if not next_offsets:
        return
    offsets = {tp: OffsetAndMetadata(offset, "", -1) for tp, offset in next_offsets.items()}
    if cfg.commit_before_ack:  # the guide: send (asynchronous), commit, hope
        consumer.commit(offsets)
        crash_point("after-commit-before-ack")
        producer.flush()
    else:
        for future in futures:
            future.get(timeout=30)  # raises if a write was not acknowledged: nothing gets committed
        crash_point("after-ack")
        consumer.commit(offsets)
    stats.commits += 1
    crash_point("after-commit")
