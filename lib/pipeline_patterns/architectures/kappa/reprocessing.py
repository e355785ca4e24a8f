"""Kappa reprocessing: replay the log from a timestamp into a version's own table.

A replay uses a new consumer group and a versioned output table, starts at
:func:`~.log.start_offsets` and runs until it reaches the end offsets captured when it
started (events that arrive later belong to the live processor). Guarantee: each poll
batch is applied in one transaction together with the offsets it reached (offsets stored
with the output), so the table always matches a log position. It refuses to rebuild the
table the view currently serves.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from kafka.structs import TopicPartition
from psycopg import sql

from pipeline_patterns import kafka_client, postgres
from pipeline_patterns.architectures.aggregation import aggregate
from pipeline_patterns.architectures.kappa.log import start_offsets
from pipeline_patterns.architectures.kappa.serving import live_table
from pipeline_patterns.architectures.kappa.versions import Version, output_table


def _create_output(conn, table: str) -> None:
    t, o = sql.Identifier(table), sql.Identifier(f"{table}_offsets")
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}, {}").format(t, o))
    conn.execute(sql.SQL("""CREATE TABLE {} (
        user_id text NOT NULL, event_type text NOT NULL, event_count bigint NOT NULL,
        revenue_cents bigint NOT NULL, last_event timestamptz NOT NULL, version text NOT NULL,
        PRIMARY KEY (user_id, event_type))""").format(t))
    conn.execute(sql.SQL("CREATE TABLE {} (topic_partition int PRIMARY KEY, next_offset bigint NOT NULL)").format(o))


@dataclass
class ReplayResult:
    table: str
    group: str
    start: dict[int, int]
    end: dict[int, int]
    events: int = 0
    batches: int = 0
    seconds: float = 0.0
    per_batch_lag: list[int] = field(default_factory=list)
    """Events still behind the captured end offsets after each batch (the catch-up curve)."""

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def replay(topic: str, version: Version, from_ms: int, view: str, max_poll_records: int = 500) -> ReplayResult:
    """Build ``version``'s table for ``view`` from the log, starting at ``from_ms``, until caught up.

    Refuses to rebuild the table the view currently serves (reprocess into a new version).
    """
    table = output_table(view, version, from_ms)
    if live_table(view) == table:
        raise ValueError(f"{table} is what {view!r} serves now; replay into another version or timestamp, "
                         "then swap")
    group = f"kappa-{table}"
    consumer = kafka_client.consumer(group_id=group, max_poll_records=max_poll_records, consumer_timeout_ms=1000)
    started = time.perf_counter()
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        consumer.assign(partitions)
        start = start_offsets(topic, from_ms)
        end = {tp.partition: o for tp, o in consumer.end_offsets(partitions).items()}  # captured now
        for tp in partitions:
            consumer.seek(tp, start[tp.partition])
        result = ReplayResult(table=table, group=group, start=start, end=end)
        with postgres.connect() as conn:
            with conn.transaction():
                _create_output(conn, table)
            while any(consumer.position(tp) < end[tp.partition] for tp in partitions):
                batch = [r for tp, records in consumer.poll(timeout_ms=500).items()
                         for r in records if r.offset < end[tp.partition]]
                if not batch:
                    continue
                _apply(conn, table, version, batch)
                consumer.commit()  # for monitoring tools; the table's own offsets are the truth
                result.events += len(batch)
                result.batches += 1
                result.per_batch_lag.append(sum(end[tp.partition] - consumer.position(tp) for tp in partitions))
        result.seconds = time.perf_counter() - started
        return result
    finally:
        consumer.close()


def _apply(conn, table: str, version: Version, batch: list) -> None:
    """One poll batch and the offsets it reached, in one transaction."""
    import json

    # The batch's own totals: the upsert below adds them to the table's (batch_compute is the whole answer).
    deltas = aggregate((json.loads(record.value) for record in batch), version.to_cents)
    reached: dict[int, int] = {}
    for record in batch:
        reached[record.partition] = max(reached.get(record.partition, -1), record.offset + 1)
    t, o = sql.Identifier(table), sql.Identifier(f"{table}_offsets")
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(sql.SQL("""
            INSERT INTO {t} AS m (user_id, event_type, event_count, revenue_cents, last_event, version)
            VALUES (%s, %s, %s, %s, %s, %s)
            ON CONFLICT (user_id, event_type) DO UPDATE SET
                event_count = m.event_count + EXCLUDED.event_count,
                revenue_cents = m.revenue_cents + EXCLUDED.revenue_cents,
                last_event = greatest(m.last_event, EXCLUDED.last_event)""").format(t=t),
            [(u, et, c, r, last, version.name) for (u, et), (c, r, last) in deltas.items()])
        cur.executemany(sql.SQL("""INSERT INTO {o} (topic_partition, next_offset) VALUES (%s, %s)
            ON CONFLICT (topic_partition) DO UPDATE SET next_offset = EXCLUDED.next_offset""").format(o=o),
            list(reached.items()))
