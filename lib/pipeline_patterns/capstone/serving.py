"""Gold published to PostgreSQL, exactly once per micro-batch: lesson 10's rule applied to replaced days.

Guarantee of :func:`publish`: in **one PostgreSQL transaction** it claims ``(sink, batch_id)`` in the ledger,
deletes the serving rows of the batch's affected days and inserts their recomputed rows. A batch whose claim is
already committed (Spark replays an unfinished batch under the same id after a crash) changes nothing; a batch
that died before its commit left nothing behind. The ledger row also keeps the source commit times of the
changes the batch carried, so that end-to-end latency (source commit to serving commit) is read back from the
database, crash or not, and how far the batch consumed each Kafka partition (``consumed``: the next offset), so that
a barrier can tell whether every record of a topic up to a point has been served (:mod:`.barrier`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from pipeline_patterns import postgres

COLUMNS = ("customer_id", "day", "orders", "revenue", "paid_orders", "paid_amount", "unpaid_orders")
GoldRow = tuple[int, date, int, Decimal, int, Decimal, int]


def ensure_gold_table(conn: psycopg.Connection, table: str) -> None:
    """A table of gold rows keyed by (customer_id, day); ``batch_id`` names what wrote each row."""
    conn.execute(sql.SQL("""
        CREATE TABLE IF NOT EXISTS {table} (
            customer_id int NOT NULL, day date NOT NULL, orders int NOT NULL, revenue numeric(14,2) NOT NULL,
            paid_orders int NOT NULL, paid_amount numeric(14,2) NOT NULL, unpaid_orders int NOT NULL,
            batch_id bigint NOT NULL, PRIMARY KEY (customer_id, day))""").format(table=sql.Identifier(table)))


def close_table(serving_table: str) -> str:
    """The daily close's table (:mod:`.maintenance`) beside a serving table."""
    return f"{serving_table}_daily_close"


def ensure_tables(table: str, ledger: str) -> None:
    with postgres.connect(autocommit=True) as conn:
        ensure_gold_table(conn, table)
        conn.execute(sql.SQL("""
            CREATE TABLE IF NOT EXISTS {ledger} (
                sink text NOT NULL, batch_id bigint NOT NULL, days int NOT NULL,
                source_ts_ms bigint[] NOT NULL, progress_ms bigint NOT NULL, consumed jsonb NOT NULL,
                committed_at timestamptz NOT NULL DEFAULT clock_timestamp(), PRIMARY KEY (sink, batch_id))""")
            .format(ledger=sql.Identifier(ledger)))


def publish(rows: list[GoldRow], days: list[date], batch_id: int, table: str, ledger: str, sink: str,
            source_ts_ms: list[int], progress_ms: int, consumed: dict[str, int]) -> bool:
    """Replace ``days`` of ``table`` by ``rows`` in one transaction with the ledger; False if already applied.
    ``consumed``: ``{"topic:partition": next offset}`` of the partitions the batch read records from."""
    outside = [r for r in rows if r[1] not in set(days)]
    if outside:
        raise ValueError(f"expected rows only for the replaced days, found {len(outside)} outside them: {outside[0]}")
    with postgres.connect() as conn, conn.transaction():
        claimed = conn.execute(
            sql.SQL("INSERT INTO {} (sink, batch_id, days, source_ts_ms, progress_ms, consumed) "
                    "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING batch_id").format(
                sql.Identifier(ledger)),
            (sink, batch_id, len(days), source_ts_ms, progress_ms, Jsonb(consumed))).fetchone()
        if claimed is None:
            return False
        replace_days(conn, table, days, rows, batch_id)
    return True


def replace_days(conn: psycopg.Connection, table: str, days: list[date], rows: list[GoldRow], batch_id: int,
                 before_insert: Callable[[], None] | None = None) -> None:
    """In the caller's transaction: delete ``days`` from ``table`` and insert ``rows`` (``before_insert`` runs
    between the two: the window a kill lands in, in lesson 17)."""
    conn.execute(sql.SQL("DELETE FROM {} WHERE day = ANY(%s)").format(sql.Identifier(table)), (days,))
    if before_insert:
        before_insert()
    with conn.cursor() as cur:
        cur.executemany(sql.SQL("INSERT INTO {} ({}, batch_id) VALUES ({}, %s)").format(
            sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, COLUMNS)),
            sql.SQL(", ").join(sql.Placeholder() * len(COLUMNS))), [(*r, batch_id) for r in rows])


def progress_ms(ledger: str, sink: str) -> int:
    """The newest source commit time (epoch ms) a committed batch of ``sink`` had seen; 0 before the first."""
    with postgres.connect() as conn:
        row = conn.execute(sql.SQL("SELECT coalesce(max(progress_ms), 0) FROM {} WHERE sink = %s").format(
            sql.Identifier(ledger)), (sink,)).fetchone()
    return int(row[0]) if row else 0


def consumed(ledger: str, sink: str) -> dict[str, int]:
    """``{"topic:partition": next offset}``: how far the committed batches of ``sink`` consumed each partition."""
    with postgres.connect() as conn:
        rows = conn.execute(sql.SQL("SELECT part.key, max(part.value::bigint) FROM {}, jsonb_each_text(consumed) "
                                    "AS part WHERE sink = %s GROUP BY part.key").format(sql.Identifier(ledger)),
                            (sink,)).fetchall()
    return {key: int(offset) for key, offset in rows}


def read(table: str) -> dict[tuple[int, date], tuple]:
    """The serving table, keyed by (customer_id, day): (orders, revenue, paid_orders, paid_amount, unpaid_orders)."""
    with postgres.connect() as conn:
        rows = conn.execute(sql.SQL("SELECT {} FROM {}").format(
            sql.SQL(", ").join(map(sql.Identifier, COLUMNS)), sql.Identifier(table))).fetchall()
    return {(r[0], r[1]): tuple(r[2:]) for r in rows}


def latencies_ms(ledger: str) -> list[tuple[float, int]]:
    """(serving commit time as epoch ms, latency ms) for every source change a committed batch carried."""
    with postgres.connect() as conn:
        rows = conn.execute(sql.SQL("SELECT extract(epoch FROM committed_at) * 1000, source_ts_ms FROM {}").format(
            sql.Identifier(ledger))).fetchall()
    return sorted((float(at), int(float(at) - ts)) for at, stamps in rows for ts in stamps)


def drop(*tables: str) -> None:
    with postgres.connect(autocommit=True) as conn:
        for name in tables:
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(name)))
