"""The runs lesson 17 and its tests use: a captured shop, its workload, the payments, the pipeline, the proof.

* :func:`start` — a new shop schema captured by a new connector (lesson 13), a payments topic and a dead
  letter topic, names unique to the run.
* :func:`play_workload` — the seeded changes committed at the source, then the payments for the live orders
  (with poison) sent to Kafka.
* :func:`caught_up` — every change committed and every payment sent so far is in Kafka, and the source has
  moved ``grace_ms`` past the last payment (a payment of an unknown order can then be judged).
* :func:`outcome` — the serving table against the independent reference, and the dead letter accounting.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import psycopg

from pipeline_patterns import kafka_client
from pipeline_patterns.capstone import reference, serving
from pipeline_patterns.capstone.payments import Payment, payment_stream
from pipeline_patterns.errors.dlq_headers import header
from pipeline_patterns.ingestion import cdc_source, debezium
from pipeline_patterns.ingestion.cdc_experiments import capture_new_shop
from pipeline_patterns.ingestion.debezium import Capture
from pipeline_patterns.poll import wait_until


@dataclass
class CapstoneRun:
    capture: Capture
    spec: cdc_source.ShopSpec
    payments_topic: str
    dlq_topic: str
    serving_table: str
    payments: list[Payment] = field(default_factory=list)
    offered: set[int] = field(default_factory=set)  # orders whose payment (or not) has been decided
    last_payment_ms: int = 0

    @property
    def cdc_topics(self) -> list[str]:
        return [self.capture.topic("customers"), self.capture.topic("orders"), self.capture.message_topic]


def start(conn: psycopg.Connection, spec: cdc_source.ShopSpec) -> CapstoneRun:
    capture = capture_new_shop(conn, spec)
    suffix = uuid.uuid4().hex[:8]
    run = CapstoneRun(capture, spec, f"payments_{suffix}", f"payments_dlq_{suffix}", f"revenue_daily_{suffix}")
    kafka_client.create_topic(run.payments_topic, partitions=2)
    kafka_client.create_topic(run.dlq_topic)
    return run


def play_workload(run: CapstoneRun, conn: psycopg.Connection, poison_rate: float, seed: int,
                  chunks: int = 1, between: Callable[[int], None] | None = None) -> None:
    """The seeded changes in ``chunks`` parts; after each, payments for the live orders not paid yet.

    A payment is sent only after its order is committed (as an application would); ``between(k)`` runs after
    chunk ``k`` (the chaos run injects its faults there and in a thread of its own).
    """
    transactions = cdc_source.changes(run.spec)
    size = -(-len(transactions) // chunks)
    producer = kafka_client.producer(acks="all")
    for k in range(chunks):
        cdc_source.run(conn, run.capture.schema, transactions[k * size:(k + 1) * size])
        orders = {o.id: o.total for o in reference.source_orders(conn, run.capture.schema) if o.id not in run.offered}
        run.offered |= set(orders)
        stream = payment_stream(orders, poison_rate=poison_rate, seed=seed * 1000 + k,
                                first_number=len(run.payments) + 1)
        futures = [producer.send(run.payments_topic, value=p.raw) for p in stream]
        producer.flush()
        stamps = [f.get(timeout=30).timestamp for f in futures]  # the broker's record time, as the pipeline reads it
        run.payments += stream
        run.last_payment_ms = max([*stamps, run.last_payment_ms, int(time.time() * 1000)])
        if between:
            between(k)
    producer.close()


def caught_up(run: CapstoneRun, conn: psycopg.Connection, grace_ms: int) -> None:
    """Wait until the source's clock is ``grace_ms`` past the last payment, then until Kafka has every change."""
    wait_until(lambda: time.time() * 1000 > run.last_payment_ms + grace_ms, grace_ms / 1000 + 30,
               "the source clock past the last payment plus the grace period")
    debezium.wait_caught_up(run.capture, conn)


@dataclass(frozen=True)
class Outcome:
    serving: dict[tuple[int, date], tuple]
    expected: dict[tuple[int, date], tuple]
    consumed: int          # payment records in the input topic
    valid: int             # records the producer sent as valid (a resent copy included)
    dead_lettered: int     # distinct input positions in the dead letter topic
    dlq_duplicates: int    # DLQ records that repeat a position (after a crash)
    dlq_reasons: dict[str, int]

    @property
    def exact(self) -> bool:
        return self.serving == self.expected

    @property
    def balanced(self) -> bool:
        return self.consumed == self.valid + self.dead_lettered


def outcome(run: CapstoneRun, conn: psycopg.Connection) -> Outcome:
    expected = reference.gold(reference.source_orders(conn, run.capture.schema), run.payments)
    dlq = kafka_client.read_all(run.dlq_topic)
    positions = Counter(header(r.headers, kafka_client.SOURCE_HEADER) for r in dlq)
    reason_at = {header(r.headers, kafka_client.SOURCE_HEADER): (header(r.headers, "reason") or b"").decode()
                 for r in dlq}
    reasons = Counter(reason_at.values())  # per input position: a record dead-lettered twice counts once
    return Outcome(serving.read(run.serving_table), expected, len(kafka_client.read_all(run.payments_topic)),
                   reference.valid_records(run.payments), len(positions), sum(positions.values()) - len(positions),
                   dict(reasons))


def remove(run: CapstoneRun) -> None:
    """Drop everything the run created at the source, in Kafka and in PostgreSQL."""
    debezium.remove(run.capture)
    admin = kafka_client.admin()
    try:
        admin.delete_topics([run.payments_topic, run.dlq_topic])
    finally:
        admin.close()
    serving.drop(run.serving_table, f"{run.serving_table}_batches", serving.close_table(run.serving_table))
