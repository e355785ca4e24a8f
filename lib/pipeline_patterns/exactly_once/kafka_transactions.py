"""Read-process-write with Kafka transactions (kafka-python), and its at-least-once twin.

Guarantee (``mode="transactional"``): a ``read_committed`` reader of the output sees the
result of every input record exactly once, however often the processor is killed and
restarted. The output records and the input offsets commit in *one* transaction; a
restarted instance with the same ``transactional_id`` fences the dead one and aborts its
open transaction (``init_transactions``); after an abort the consumer seeks back to the
last committed offsets, so the aborted records are processed again rather than skipped.

``mode="at-least-once"`` is the same loop without transactions (flush, then commit the
offsets): nothing is lost, but a crash between the flush and the offset commit writes
the batch again — the counterfactual the reliability tests use to show they can fail.

The processor reads until it reaches the end offsets captured at start, then exits, so
it can run as an OS process that tests kill with ``kill -9`` and start again.

An abort is retried by reading the batch again, but not forever: after
``max_consecutive_aborts`` aborts in a row with no commit between them the processor
stops with :class:`~.abort_budget.TooManyAborts`, naming the last error (a poison record or a broker
that refuses the transaction fails the same way every time; looping would hide it).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import click
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata

from pipeline_patterns import kafka_client
from pipeline_patterns.exactly_once.abort_budget import AbortBudget
from pipeline_patterns.faults import crash_point

MODES = ("transactional", "at-least-once")


def transform(value: bytes) -> bytes:
    """The processing step: a user event (``datagen``) with its revenue in integer cents."""
    event = json.loads(value)
    return json.dumps({
        "event_id": event["event_id"], "user_id": event["user_id"], "event_type": event["event_type"],
        "revenue_cents": round(float(event["revenue"]) * 100),
    }).encode()


@dataclass(frozen=True)
class ReadProcessWriteConfig:
    """One read-process-write processor: its topics, group, delivery mode and batching."""

    input_topic: str
    output_topic: str
    group_id: str
    mode: str = "transactional"
    commit_interval_ms: int = 100
    """How long a transaction stays open collecting records (Kafka Streams' commit.interval.ms)."""
    max_poll_records: int = 500
    seek_back_on_abort: bool = True
    """False reproduces the guide's bug: after an abort the aborted records are skipped."""
    max_consecutive_aborts: int = 5
    """Aborts in a row (no commit between them) before the processor stops with TooManyAborts."""

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if self.max_consecutive_aborts < 1:
            raise ValueError(f"max_consecutive_aborts must be at least 1, got {self.max_consecutive_aborts}")

    @property
    def transactional_id(self) -> str:
        """Stable across restarts (one per input assignment): that is what fences zombies."""
        return f"{self.group_id}-{self.input_topic}"


@dataclass
class ReadProcessWriteStats:
    """What one run of the read-process-write processor did (its own counts; the audits check them)."""

    consumed: int = 0
    """Records read, counting a record again when an aborted batch is read a second time."""
    committed: int = 0
    """Records whose output was committed (transactional) or flushed and committed."""
    commits: int = 0
    aborts: int = 0
    aborted: int = 0
    seconds: float = 0.0
    end_offsets: dict[int, int] = field(default_factory=dict)

    @property
    def records_per_s(self) -> float:
        return self.consumed / self.seconds if self.seconds else 0.0


def make_clients(cfg: ReadProcessWriteConfig) -> tuple[KafkaConsumer, KafkaProducer]:
    """A group-less assigned consumer (offsets committed under ``group_id``) and the producer.

    Manual ``assign`` instead of ``subscribe``: a restarted instance starts at once instead of
    waiting for the dead member's session to expire before a rebalance.
    """
    consumer = kafka_client.consumer(group_id=cfg.group_id, isolation_level="read_committed",
                              max_poll_records=cfg.max_poll_records, consumer_timeout_ms=1000)
    extra: dict[str, Any] = {"transactional_id": cfg.transactional_id} if cfg.mode == "transactional" else {}
    producer = kafka_client.producer(linger_ms=5, **extra)
    return consumer, producer


def _committed_positions(consumer: KafkaConsumer, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
    beginning = consumer.beginning_offsets(partitions)
    return {tp: (consumer.committed(tp) if consumer.committed(tp) is not None else beginning[tp])
            for tp in partitions}


def run(cfg: ReadProcessWriteConfig, fail_batch: Callable[[int], bool] = lambda n: False) -> ReadProcessWriteStats:
    """Process ``input_topic`` up to its end offsets at start; return what was done.

    ``fail_batch(n)`` injects a processing error into batch ``n`` after its records were
    written (uncommitted) and before the commit — the lessons use it to show an abort.
    """
    consumer, producer = make_clients(cfg)
    stats = ReadProcessWriteStats()
    started = time.perf_counter()
    try:
        if cfg.mode == "transactional":
            producer.init_transactions()  # fences an older instance; aborts its open transaction
        partitions = [TopicPartition(cfg.input_topic, p)
                      for p in sorted(consumer.partitions_for_topic(cfg.input_topic) or [])]
        if not partitions:
            raise ValueError(f"input topic {cfg.input_topic!r} does not exist (create it and produce to it first)")
        consumer.assign(partitions)
        for tp, offset in _committed_positions(consumer, partitions).items():
            consumer.seek(tp, offset)
        end = consumer.end_offsets(partitions)
        stats.end_offsets = {tp.partition: end[tp] for tp in partitions}
        batch_no = 0
        budget = AbortBudget(cfg.max_consecutive_aborts)
        while any(consumer.position(tp) < end[tp] for tp in partitions):
            batch_no += 1
            _one_batch(cfg, consumer, producer, end, partitions, batch_no, fail_batch, stats, budget)
        stats.seconds = time.perf_counter() - started
        return stats
    finally:
        producer.close(timeout=10)
        consumer.close()


def _one_batch(cfg, consumer, producer, end, partitions, batch_no, fail_batch, stats, budget) -> None:
    """Collect records for ``commit_interval_ms``, write them, commit; abort and seek back on error."""
    transactional = cfg.mode == "transactional"
    next_offsets: dict[TopicPartition, int] = {}
    written = 0
    deadline = time.perf_counter() + cfg.commit_interval_ms / 1000
    if transactional:
        producer.begin_transaction()
    try:
        while time.perf_counter() < deadline and any(consumer.position(tp) < end[tp] for tp in partitions):
            for tp, records in consumer.poll(timeout_ms=100).items():
                for record in records:
                    if record.offset >= end[tp]:
                        break
                    producer.send(cfg.output_topic, key=record.key, value=transform(record.value),
                                  headers=[(kafka_client.SOURCE_HEADER,
                                            kafka_client.source_position(tp.topic, tp.partition, record.offset))])
                    next_offsets[tp] = record.offset + 1  # the *next* offset to read
                    written += 1
        stats.consumed += written
        if not next_offsets:
            if transactional:
                producer.abort_transaction()  # an empty transaction: nothing to keep
            return
        if fail_batch(batch_no):
            producer.flush()  # the batch's writes are in the log (uncommitted) when the failure hits
            raise RuntimeError(f"injected processing failure in batch {batch_no}")
        crash_point("before-commit")
        offsets = {tp: OffsetAndMetadata(o, "", -1) for tp, o in next_offsets.items()}
        if transactional:
            producer.send_offsets_to_transaction(offsets, cfg.group_id)
            producer.commit_transaction()
        else:
            producer.flush()
            crash_point("after-flush")  # at-least-once: written, offsets not yet committed
            consumer.commit(offsets)
        stats.commits += 1
        stats.committed += written
        budget.committed()
        crash_point("after-commit")
    except (KafkaError, RuntimeError) as error:
        if not transactional:
            raise
        producer.abort_transaction()
        stats.aborts += 1
        stats.aborted += written
        budget.aborted(error, f"processor {cfg.transactional_id!r} ({cfg.input_topic} -> {cfg.output_topic}), "
                              f"batch {batch_no}")
        if cfg.seek_back_on_abort:  # the guide's snippet stops here: the batch would be skipped
            for tp, offset in _committed_positions(consumer, partitions).items():
                consumer.seek(tp, offset)


@click.command()
@click.option("--input", "input_topic", required=True)
@click.option("--output", "output_topic", required=True)
@click.option("--group", "group_id", required=True)
@click.option("--mode", type=click.Choice(MODES), default="transactional", show_default=True)
@click.option("--commit-interval-ms", type=int, default=100, show_default=True)
@click.option("--max-consecutive-aborts", type=click.IntRange(min=1), default=5, show_default=True)
def main(input_topic: str, output_topic: str, group_id: str, mode: str, commit_interval_ms: int,
         max_consecutive_aborts: int) -> None:
    """Process INPUT into OUTPUT until caught up, then exit (kill -9 it and start it again)."""
    stats = run(ReadProcessWriteConfig(input_topic, output_topic, group_id, mode=mode,
                                       commit_interval_ms=commit_interval_ms,
                                       max_consecutive_aborts=max_consecutive_aborts))
    click.echo(json.dumps({"consumed": stats.consumed, "committed": stats.committed, "commits": stats.commits,
                           "aborts": stats.aborts, "seconds": round(stats.seconds, 3)}))


if __name__ == "__main__":
    main()
