"""Kappa architecture: one immutable log, processors as versions, reprocessing by replay.

* The log is a topic with unlimited retention (``retention.ms=-1``): the source of truth.
* A processor version reads the log and maintains an output table in PostgreSQL. Each
  poll batch is applied in one transaction together with the offsets it reached
  (offsets stored with the output), so the table always matches a log position.
* Reprocessing (:func:`replay`) starts a new version from a timestamp: per-partition
  offsets from ``offsets_for_times`` (milliseconds; a partition with no record at or after
  the timestamp starts at its end offset), a new consumer group, a versioned output table
  named from (version, timestamp) — so a rerun rebuilds the same table — and it runs
  until it reaches the end offsets captured when it started.
* Readers query a view; :func:`swap` re-points it in one transaction. Guarantee: a
  concurrent reader sees the old version or the new one, never a missing or partial table.
"""

from __future__ import annotations

import re
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg
from kafka.structs import TopicPartition
from psycopg import sql

from pipeline_patterns import kafka_client, postgres
from pipeline_patterns.architectures.aggregation import Answer, aggregate
from pipeline_patterns.architectures.event_log import create_event_log


@dataclass(frozen=True)
class Version:
    """One version of the processing logic."""

    name: str
    to_cents: Callable[[float], int]
    description: str


V1 = Version("v1", lambda revenue: int(revenue * 100), "revenue cents by int(): truncates (19.99 -> 1998)")
V2 = Version("v2", lambda revenue: round(revenue * 100), "revenue cents by round(): the fix")


def create_log(topic: str, partitions: int = 4) -> bool:
    """The immutable log: a topic that never deletes by age."""
    return create_event_log(topic, partitions)


def partition_by_user(partitions: int) -> Callable[[dict], int]:
    """A stable user -> partition map (crc32) over the first ``partitions`` partitions."""
    return lambda event: zlib.crc32(event["user_id"].encode()) % partitions


def output_table(view: str, version: Version, from_ms: int) -> str:
    """Deterministic: the same version replayed from the same timestamp gets the same table
    (named after the view it is built for, so deployments never share tables).

    (The guide names it from ``datetime.now()``: two runs on one day collide, and a rerun
    on another day silently creates a second table.)
    """
    return f"{view}_{version.name}_from_{from_ms}"


def start_offsets(topic: str, from_ms: int) -> dict[int, int]:
    """Partition -> first offset with a timestamp >= ``from_ms``; its end offset if none.

    ``offsets_for_times`` takes milliseconds since the epoch and returns ``None`` for a
    partition with no such record — the guide's ``offset[tp].offset`` crashes there.
    """
    consumer = kafka_client.consumer()
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        found = consumer.offsets_for_times({tp: from_ms for tp in partitions})
        end = consumer.end_offsets(partitions)
        return {tp.partition: (found[tp].offset if found[tp] is not None else end[tp]) for tp in partitions}
    finally:
        consumer.close()


def offsets_found(topic: str, from_ms: int) -> dict[int, int | None]:
    """What ``offsets_for_times`` itself answers per partition (None where nothing is later)."""
    consumer = kafka_client.consumer()
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        found = consumer.offsets_for_times({tp: from_ms for tp in partitions})
        return {tp.partition: (None if found[tp] is None else found[tp].offset) for tp in partitions}
    finally:
        consumer.close()


def live_table(view: str) -> str | None:
    """The table the view currently reads, or None when there is no view yet."""
    with postgres.connect() as conn:
        row = conn.execute("""
            SELECT DISTINCT t.relname FROM pg_depend d
            JOIN pg_rewrite r ON r.oid = d.objid
            JOIN pg_class v ON v.oid = r.ev_class
            JOIN pg_class t ON t.oid = d.refobjid
            WHERE v.relname = %s AND v.relkind = 'v' AND t.relkind = 'r' AND t.oid <> v.oid""", (view,)).fetchone()
        return row[0] if row else None


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


# --- serving: the view readers use, swapped atomically ----------------------------------------

VIEW_COLUMNS = ("user_id", "event_type", "event_count", "revenue_cents", "last_event", "version")


def swap(view: str, table: str) -> None:
    """Re-point ``view`` at ``table`` in one transaction (readers see old or new, never neither)."""
    with postgres.connect() as conn, conn.transaction():
        conn.execute(sql.SQL("CREATE OR REPLACE VIEW {} AS SELECT {} FROM {}").format(
            sql.Identifier(view), sql.SQL(", ").join(map(sql.Identifier, VIEW_COLUMNS)), sql.Identifier(table)))


def non_atomic_swap(view: str, table: str) -> None:
    """The counterfactual: drop, then create, as two autocommitted statements."""
    with postgres.connect(autocommit=True) as conn:
        conn.execute(sql.SQL("DROP VIEW IF EXISTS {}").format(sql.Identifier(view)))
        conn.execute(sql.SQL("CREATE VIEW {} AS SELECT {} FROM {}").format(
            sql.Identifier(view), sql.SQL(", ").join(map(sql.Identifier, VIEW_COLUMNS)), sql.Identifier(table)))


def drop_deployment(view: str) -> list[str]:
    """Drop ``view`` and every version table built for it (:func:`output_table` names and their
    offsets tables); return the tables dropped. Tables of other views are never matched."""
    own = re.compile(rf"{re.escape(view)}_[^_]+_from_-?\d+(_offsets)?")
    with postgres.connect() as conn, conn.transaction():
        conn.execute(sql.SQL("DROP VIEW IF EXISTS {}").format(sql.Identifier(view)))
        names = [n for (n,) in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
                 if own.fullmatch(n)]
        if names:
            conn.execute(sql.SQL("DROP TABLE {}").format(sql.SQL(", ").join(map(sql.Identifier, names))))
    return sorted(names)


def table_answer(table: str) -> Answer:
    """A table or view as ``(user, type) -> (events, revenue cents, last event)``."""
    with postgres.connect() as conn:
        return {(u, t): (int(c), int(r), last) for u, t, c, r, last in conn.execute(sql.SQL(
            "SELECT user_id, event_type, event_count, revenue_cents, last_event FROM {}").format(
            sql.Identifier(table)))}


def table_totals(table: str) -> tuple[int, int, int]:
    """(rows, events, revenue cents): a fingerprint a reader can recognise a version by."""
    with postgres.connect() as conn:
        rows, events, cents = postgres.one_row(conn.execute(sql.SQL(
            "SELECT count(*), coalesce(sum(event_count), 0), coalesce(sum(revenue_cents), 0) FROM {}").format(
            sql.Identifier(table))))
        return int(rows), int(events), int(cents)


def batch_compute(events: list[dict], version: Version, from_ms: int) -> Answer:
    """The version's logic over all events at or after ``from_ms``, in plain Python (no Kafka)."""
    return aggregate(events, version.to_cents, keep=lambda ts: ts.timestamp() * 1000 >= from_ms)


class ConcurrentReader:
    """A thread that queries the view in a loop and classifies every answer.

    Each answer is the view's totals (:func:`table_totals`); it must equal one of the
    versions' totals. Errors (the view missing, a relation gone) are counted, not raised.
    """

    def __init__(self, view: str) -> None:
        self.view = view
        self.answers: list[tuple[int, int, int]] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> ConcurrentReader:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        query = sql.SQL("SELECT count(*), coalesce(sum(event_count), 0), coalesce(sum(revenue_cents), 0) "
                        "FROM {}").format(sql.Identifier(self.view))
        with postgres.connect(autocommit=True) as conn:
            while not self._stop.is_set():
                try:
                    rows, events, cents = postgres.one_row(conn.execute(query))
                    self.answers.append((int(rows), int(events), int(cents)))
                except psycopg.Error as exc:
                    self.errors.append(type(exc).__name__)
