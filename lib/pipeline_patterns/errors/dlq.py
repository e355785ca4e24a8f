"""Dead letter queue, hand-written on kafka-python: the pattern is the lesson (no framework).

Guarantee: every consumed record is either processed to the output topic or written to
the DLQ, **at least once**; the input offset is committed only after the output/DLQ
writes of its batch are acknowledged (``future.get()`` on every send). A ``kill -9``
anywhere therefore loses nothing: the uncommitted batch is read again and written again.
Duplicates are the price; every output and DLQ record names its input position in a
``source`` header (``topic:partition:offset``), so readers count and drop them
(:mod:`pipeline_patterns.errors.dlq_audit`).

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

import hashlib
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kafka import TopicPartition
from kafka.structs import OffsetAndMetadata
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from pipeline_patterns import kafka_client
from pipeline_patterns.errors import orders
from pipeline_patterns.faults import crash_point

DEPENDENCY_TIMEOUT = "dependency_timeout"
REASONS = (*orders.TERMINAL_REASONS, DEPENDENCY_TIMEOUT)
SOURCE = kafka_client.SOURCE_HEADER
RETRY_COUNT, REDRIVEN_FROM = "retry_count", "redriven_from"
DLQ_HEADER_NAMES = ("reason", "error_type", "error_message", "source_topic", "source_partition", "source_offset",
                    SOURCE, RETRY_COUNT, "failed_at")
Headers = list[tuple[str, bytes]]
"""kafka-python's headers: a list of ``(str, bytes)`` pairs — names may repeat; no ``.get``."""


def utc_now() -> datetime:
    return datetime.now(UTC)


# --- headers ----------------------------------------------------------------------------

def header(headers: Headers | None, name: str) -> bytes | None:
    """The last value of header ``name`` (Kafka allows repeats), or None."""
    found = None
    for key, value in headers or []:
        if key == name:
            found = value
    return found


def retry_count(headers: Headers | None) -> int:
    """The ``retry_count`` header as an int (0 when absent)."""
    raw = header(headers, RETRY_COUNT)
    if raw is None:
        return 0
    try:
        count = int(raw.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        raise ValueError(f"header {RETRY_COUNT!r}: expected ASCII digits like b'2', found {raw!r:.40}") from None
    if count < 0:
        raise ValueError(f"header {RETRY_COUNT!r}: expected a count >= 0, found {count}")
    return count


def dlq_headers(*, reason: str, error: BaseException, topic: str, partition: int, offset: int, retries: int,
                failed_at: datetime, redriven_from: bytes | None = None) -> Headers:
    """The DLQ record's headers; ``failed_at`` must be timezone-aware (written as UTC ISO 8601)."""
    if failed_at.tzinfo is None or failed_at.utcoffset() is None:
        raise ValueError(f"failed_at must be timezone-aware, found naive {failed_at!r}; "
                         "use datetime.now(timezone.utc), not datetime.utcnow()")
    headers = [("reason", reason.encode()), ("error_type", type(error).__name__.encode()),
               ("error_message", str(error)[:1000].encode()), ("source_topic", topic.encode()),
               ("source_partition", str(partition).encode()), ("source_offset", str(offset).encode()),
               (SOURCE, kafka_client.source_position(topic, partition, offset)), (RETRY_COUNT, str(retries).encode()),
               ("failed_at", failed_at.astimezone(UTC).isoformat().encode())]
    return headers + ([(REDRIVEN_FROM, redriven_from)] if redriven_from is not None else [])


# --- the dependency and the retry policy ------------------------------------------------

@dataclass
class RiskService:
    """A risk-scoring dependency that times out for chosen orders, deterministic by ``seed``.

    ``down_share`` of orders always time out; ``flaky_share`` time out on their first one
    or two calls in this process, then answer. Same seed, same order id: same behaviour,
    in every process (a hash, not ``random``), so a rerun after a crash sees what the
    crashed run saw.
    """

    seed: int = 42
    down_share: float = 0.0
    flaky_share: float = 0.0
    calls: Counter = field(default_factory=Counter)

    def _u(self, order_id: str, salt: str) -> float:
        digest = hashlib.sha256(f"{self.seed}:{salt}:{order_id}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    def planned_failures(self, order_id: str) -> int | None:
        """How many calls for ``order_id`` time out before it answers; None = it never answers."""
        u = self._u(order_id, "plan")
        if u < self.down_share:
            return None
        if u < self.down_share + self.flaky_share:
            return 1 + int(self._u(order_id, "flaky") * 2)
        return 0

    def __call__(self, order_id: str) -> int:
        self.calls[order_id] += 1
        failures = self.planned_failures(order_id)
        if failures is None or self.calls[order_id] <= failures:
            raise TimeoutError(f"risk service did not answer for order {order_id!r} "
                               f"(call {self.calls[order_id]})")
        return int(self._u(order_id, "score") * 100)


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 3
    backoff_s: float = 0.01
    max_backoff_s: float = 0.2
    sleep: Callable[[float], None] = time.sleep
    """Injected so tests run instantly and exactly."""


class RetriesExhausted(Exception):
    def __init__(self, error: BaseException, retries: int) -> None:
        super().__init__(f"gave up after {retries} retries: {error}")
        self.error, self.retries = error, retries


def call_with_retries(fn: Callable[[], Any], policy: RetryPolicy) -> tuple[Any, int]:
    """``(fn(), retries needed)``; TimeoutError is retried with backoff, others propagate at once."""
    attempts = 0

    def attempt() -> Any:
        nonlocal attempts
        attempts += 1
        return fn()

    retrying = Retrying(retry=retry_if_exception_type(TimeoutError), stop=stop_after_attempt(policy.max_retries + 1),
                        wait=wait_exponential(multiplier=policy.backoff_s, max=policy.max_backoff_s),
                        sleep=policy.sleep, reraise=True)
    try:
        return retrying(attempt), attempts - 1
    except TimeoutError as exc:
        raise RetriesExhausted(exc, attempts - 1) from exc


# --- one record: processed or dead-lettered ---------------------------------------------

@dataclass(frozen=True)
class Outcome:
    dead: bool
    value: bytes | None
    headers: Headers
    reason: str | None = None
    retries: int = 0


def decide(record: Any, lookup: Callable[[str], int], policy: RetryPolicy,
           now: Callable[[], datetime] = utc_now) -> Outcome:
    """Validate, enrich and transform ``record`` (a ConsumerRecord), or say why it is dead.

    A DLQ outcome carries the original value unchanged; the key is the caller's to keep.
    """
    redriven = header(record.headers, REDRIVEN_FROM)
    lineage = [(REDRIVEN_FROM, redriven)] if redriven is not None else []
    where = {"topic": record.topic, "partition": record.partition, "offset": record.offset}
    try:
        order = orders.validate(record.value)
        score, retries = call_with_retries(lambda: lookup(order["order_id"]), policy)
    except orders.InvalidRecord as exc:
        return Outcome(True, record.value, dlq_headers(reason=exc.reason, error=exc, **where, retries=0,
                                                       failed_at=now(), redriven_from=redriven), exc.reason)
    except RetriesExhausted as exc:
        return Outcome(True, record.value, dlq_headers(reason=DEPENDENCY_TIMEOUT, error=exc.error, **where,
                                                       retries=exc.retries, failed_at=now(), redriven_from=redriven),
                       DEPENDENCY_TIMEOUT, exc.retries)
    headers = [(SOURCE, kafka_client.source_position(**where)), (RETRY_COUNT, str(retries).encode()), *lineage]
    return Outcome(False, orders.transform(order, score), headers, retries=retries)


# --- the processor ----------------------------------------------------------------------

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


@dataclass(frozen=True)
class ProcessorConfig:
    input_topic: str
    output_topic: str
    dlq_topic: str
    group_id: str
    max_poll_records: int = 100
    policy: RetryPolicy = RetryPolicy()
    commit_before_ack: bool = False
    """True reproduces the guide's bug: offsets committed while the sends may still be in flight."""
    linger_ms: int = 5


@dataclass
class RunStats:
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


def run(cfg: ProcessorConfig, lookup: Callable[[str], int], now: Callable[[], datetime] = utc_now) -> RunStats:
    """Process ``input_topic`` from the group's committed offsets up to the end offsets at start."""
    started = time.perf_counter()
    consumer = kafka_client.consumer(group_id=cfg.group_id, max_poll_records=cfg.max_poll_records,
                                     consumer_timeout_ms=1000)
    producer = kafka_client.producer(linger_ms=cfg.linger_ms)
    stats = RunStats()
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


def _batch(cfg, consumer, producer, end, lookup, now, stats: RunStats) -> None:
    """One poll: decide, send, wait for every acknowledgement, then commit (or the guide's order)."""
    futures, next_offsets = [], {}
    for tp, records in consumer.poll(timeout_ms=500).items():
        for record in records:
            if record.offset >= end[tp]:
                break
            outcome = decide(record, lookup, cfg.policy, now)
            topic = cfg.dlq_topic if outcome.dead else cfg.output_topic
            futures.append(producer.send(topic, key=record.key, value=outcome.value, headers=outcome.headers))
            next_offsets[tp] = record.offset + 1
            stats.consumed += 1
            if outcome.dead:
                stats.dead_lettered[outcome.reason] += 1
                crash_point("after-dlq-send")
            else:
                stats.processed += 1
                stats.retried += outcome.retries > 0
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
