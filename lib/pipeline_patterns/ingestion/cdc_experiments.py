"""The runs lesson 13 and its tests use to prove the CDC claims on the real stack.

* :func:`capture_new_shop` — a new shop schema with its initial rows, captured by a new connector.
* :func:`topic_records` — every record of the capture's topics, as the replica receives them.
* :func:`duplicates` — how many records repeat an earlier one (same topic, key, LSN and op):
  what Debezium re-sent after a crash.
* :func:`crash_connect_during` — ``kill -9`` of Kafka Connect in the middle of a workload, with
  records in Kafka that its flushed offset does not cover; the rest written while it is down;
  then a restart: the connector resumes from its last flushed offset and sends again what came
  after it.
* :func:`replay` — the same records, then an older part of them again, to a replica with the
  position rule and to one that applies changes in arrival order.
* :func:`abandoned_slot` — with the connector gone and its slot left behind, every WAL byte
  written since the slot's position stays on disk.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from pyspark.sql import SparkSession

from pipeline_patterns import connect, kafka_client
from pipeline_patterns.config import Settings
from pipeline_patterns.ingestion.cdc_replica import Replica
from pipeline_patterns.ingestion.cdc_source import TABLES, Op, ShopSpec, create, initial_rows, run
from pipeline_patterns.ingestion.debezium import (
    Capture,
    SlotLag,
    flushed_lsn,
    prepare_source,
    remove,
    slot_lag,
    start,
    wait_caught_up,
)
from pipeline_patterns.poll import wait_until
from pipeline_patterns.stack.manager import Stack

Record = tuple[str | None, str | None, int]  # key JSON, value JSON, offset (one topic)


def topic_records(capture: Capture, settings: Settings | None = None) -> dict[str, list[Record]]:
    """Topic -> its records in offset order, decoded to JSON text as Spark's Kafka source gives them."""
    def text(raw: bytes | None) -> str | None:
        return raw.decode() if raw is not None else None

    return {topic: [(text(r.key), text(r.value), r.offset) for r in kafka_client.read_all(topic, settings)]
            for topic in capture.topics}


def duplicates(records: dict[str, list[Record]]) -> int:
    """Records that repeat an earlier record of their topic: same key, source LSN and operation."""
    seen, repeated = set(), 0
    for topic, rows in records.items():
        for key, value, _ in rows:
            if value is None:
                identity = (topic, key, "tombstone", None)
            else:
                payload = json.loads(value)
                payload = payload.get("payload", payload)
                identity = (topic, key, payload.get("op"), (payload.get("source") or {}).get("lsn"))
            repeated += identity in seen and value is not None
            seen.add(identity)
    return repeated


@dataclass(frozen=True)
class CrashRun:
    records_before_kill: int
    unflushed_at_kill: int  # WAL bytes Kafka had that Connect had not flushed as its offset: sent again
    lag_while_down: SlotLag  # the rest of the workload waits in the slot's WAL
    restart_s: float
    kills: int  # a kill that met a just-flushed offset is repeated after the next transaction


def crash_connect_during(capture: Capture, conn: psycopg.Connection, transactions: list[tuple[Op, ...]],
                         settings: Settings | None = None) -> CrashRun:
    """Play the first half of ``transactions``; once Connect has flushed its offset for them, play one
    more and ``kill -9`` Connect as soon as Kafka has it (before the next flush, every 5 s); play the
    rest while it is down; restart it and wait until Kafka has everything.

    Connect must be killed while some delivered records are not covered by its flushed offset —
    that is what it sends again. The flushed position is read after the kill; if a flush slipped
    in just before it, Connect is restarted and the kill repeated after the next transaction.
    """
    stack = Stack(settings, echo=lambda _: None)
    layout = stack.saved_layout()
    half = len(transactions) // 2
    run(conn, capture.schema, transactions[:half])
    marker = wait_caught_up(capture, conn, settings=settings)
    wait_until(lambda: flushed_lsn(conn, capture.slot) >= marker, 60, "Connect to flush its offset")
    kills, restart_s, unflushed = 0, 0.0, 0
    for tx in transactions[half:]:
        run(conn, capture.schema, [tx])
        if unflushed:
            continue  # Connect is down: the rest waits in the WAL
        marker = wait_caught_up(capture, conn, settings=settings)
        delivered = sum(len(rows) for rows in topic_records(capture, settings).values())
        stack.kill("connect")
        kills += 1
        unflushed = max(0, marker - flushed_lsn(conn, capture.slot))
        if not unflushed:  # a flush came between the marker and the kill: nothing would be sent again
            stack.up(brokers=layout.brokers if layout else 1)
            connect.wait_running(capture.connector, settings)
    if not unflushed:
        raise RuntimeError(f"every kill of Connect ({kills}) met a just-flushed offset; use a longer workload")
    down = slot_lag(conn, capture.slot)
    started = stack.up(brokers=layout.brokers if layout else 1)
    restart_s = started.get("connect", 0.0)
    connect.wait_running(capture.connector, settings)
    wait_caught_up(capture, conn, settings=settings)
    return CrashRun(delivered, unflushed, down, restart_s, kills)


@dataclass(frozen=True)
class AbandonedSlot:
    before: SlotLag
    after: SlotLag
    wal_written: int  # bytes of WAL the scratch writes produced


def abandoned_slot(conn: psycopg.Connection, capture: Capture, rows: int,
                   settings: Settings | None = None) -> AbandonedSlot:
    """Delete the connector but not its slot, write ``rows`` rows elsewhere, and measure the slot."""
    connect.delete(capture.connector, settings)

    def inactive() -> SlotLag | None:
        lag = slot_lag(conn, capture.slot)
        return None if lag.active else lag

    before = wait_until(inactive, 60, f"slot {capture.slot!r} to be released by the deleted connector")
    start = conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0]  # type: ignore[index]
    scratch = sql.Identifier(capture.schema, "scratch")
    conn.execute(sql.SQL("CREATE TABLE {} (id int, payload text)").format(scratch))
    conn.execute(sql.SQL("INSERT INTO {} SELECT g, md5(g::text) FROM generate_series(1, %s) g").format(scratch),
                 (rows,))
    conn.commit()
    written = conn.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)::bigint", (start,)).fetchone()[0]  # type: ignore[index]
    return AbandonedSlot(before, slot_lag(conn, capture.slot), int(written))


REPLAY_RULES = {"position rule": True, "arrival order": False}


def replay(spark: SparkSession, root: Path, schema: str, keys: dict[str, tuple[str, ...]],
           everything: list[Record], replayed: list[Record]) -> dict[str, Replica]:
    """Two fresh replicas — with the position rule and in arrival order — given every record, then
    ``replayed`` again (what a restart from an old offset re-sends); side by side, a thread each."""
    replicas = {name: Replica(spark, root / f"replay_{name.replace(' ', '_')}", keys, schema, position_rule=rule)
                for name, rule in REPLAY_RULES.items()}

    def feed(replica: Replica) -> None:
        replica.apply(everything)
        replica.apply(replayed)

    with ThreadPoolExecutor(max_workers=len(replicas)) as pool:
        list(pool.map(feed, replicas.values()))
    return replicas


def capture_new_shop(conn: psycopg.Connection, spec: ShopSpec, settings: Settings | None = None) -> Capture:
    """A new shop schema with its initial rows, published and captured by a running connector
    (its snapshot sends those rows as ``op = r``). Remove it with :func:`.debezium.remove`; a
    failure half-way removes what was created before raising."""
    capture = Capture.new(TABLES)
    try:
        create(conn, capture.schema)
        conn.commit()
        run(conn, capture.schema, initial_rows(spec))
        prepare_source(conn, capture, settings)
        start(capture, settings)
    except BaseException:
        remove(capture, settings)
        raise
    return capture
