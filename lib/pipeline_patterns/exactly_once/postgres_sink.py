"""The PostgreSQL side of the exactly-once Spark sink: one micro-batch applied in one transaction.

Guarantee: :func:`apply_batch` applies a batch id to a table at most once per ``sink``,
all of it or none of it. In **one PostgreSQL transaction** it claims ``(sink, batch_id)``
in a ledger table, ``COPY``s the rows into a temporary table and ``MERGE``s them into the
target by ``event_id`` with explicit column lists, then commits. A replayed batch whose
claim is already committed is skipped (returns False); a batch that died before its
commit left nothing behind. With Spark's checkpoint replaying an unfinished batch under
the same id (:mod:`~pipeline_patterns.exactly_once.spark_postgres`) that makes every
event land exactly once. The MERGE alone would already make replays harmless for a plain
upsert; the ledger is what makes non-idempotent writes — counters, appends — safe too,
and it is an audit trail.

The rows arrive as an Arrow table and are encoded as CSV by Arrow in C++ *before* the
transaction opens, so the transaction holds no lock while Python works.
:func:`row_by_row_apply_batch` is the previous per-row transfer, kept for the benchmark;
:func:`ledger` and :func:`table_event_ids` read the result back independently.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.csv as pa_csv
from psycopg import sql

from pipeline_patterns import postgres
from pipeline_patterns.faults import crash_point

COLUMNS = ("event_id", "user_id", "event_type", "revenue_cents", "event_time", "kafka_partition", "kafka_offset")
KEY = "event_id"
ARROW_SCHEMA = pa.schema([
    ("event_id", pa.string()), ("user_id", pa.string()), ("event_type", pa.string()),
    ("revenue_cents", pa.int64()), ("event_time", pa.timestamp("us", tz="UTC")),
    ("kafka_partition", pa.int32()), ("kafka_offset", pa.int64()),
])


def ensure_tables(table: str, ledger: str) -> None:
    """The target table and the ledger of applied batches (created if missing)."""
    with postgres.connect(autocommit=True) as conn:
        conn.execute(sql.SQL("""
            CREATE TABLE IF NOT EXISTS {table} (
                event_id uuid PRIMARY KEY,
                user_id text NOT NULL,
                event_type text NOT NULL,
                revenue_cents bigint NOT NULL,
                event_time timestamptz NOT NULL,
                kafka_partition int NOT NULL,
                kafka_offset bigint NOT NULL,
                batch_id bigint NOT NULL
            )""").format(table=sql.Identifier(table)))
        conn.execute(sql.SQL("""
            CREATE TABLE IF NOT EXISTS {ledger} (
                sink text NOT NULL,
                batch_id bigint NOT NULL,
                row_count int NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (sink, batch_id)
            )""").format(ledger=sql.Identifier(ledger)))


def merge_statement(table: str, stage: str, dedupe: bool = True) -> sql.Composed:
    """MERGE with explicit column lists (PostgreSQL has no ``UPDATE SET *`` / ``INSERT *``).

    With ``dedupe`` the source keeps one row per key (latest Kafka offset wins): MERGE
    refuses to touch a target row twice in one statement. The guide's version has none.
    """
    cols = [*COLUMNS, "batch_id"]
    source = (sql.SQL("(SELECT DISTINCT ON ({key}) * FROM {stage} ORDER BY {key}, kafka_offset DESC)")
              if dedupe else sql.SQL("{stage}")).format(key=sql.Identifier(KEY), stage=sql.Identifier(stage))
    return sql.SQL("""
        MERGE INTO {table} AS t
        USING {source} AS s
        ON t.{key} = s.{key}
        WHEN MATCHED THEN UPDATE SET {sets}
        WHEN NOT MATCHED THEN INSERT ({cols}) VALUES ({values})""").format(
        table=sql.Identifier(table), source=source, key=sql.Identifier(KEY),
        sets=sql.SQL(", ").join(sql.SQL("{c} = s.{c}").format(c=sql.Identifier(c)) for c in cols if c != KEY),
        cols=sql.SQL(", ").join(map(sql.Identifier, cols)),
        values=sql.SQL(", ").join(sql.SQL("s.{c}").format(c=sql.Identifier(c)) for c in cols),
    )


def arrow_batch(rows: Sequence[tuple] | pa.Table) -> pa.Table:
    """A batch as an Arrow table with ``COLUMNS`` (tuples in ``COLUMNS`` order are converted)."""
    if isinstance(rows, pa.Table):
        return rows.select(list(COLUMNS))
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(COLUMNS)
    return pa.Table.from_arrays([pa.array(c, type=f.type) for c, f in zip(columns, ARROW_SCHEMA, strict=True)],
                                schema=ARROW_SCHEMA)


def copy_payload(batch: pa.Table, batch_id: int) -> bytes:
    """The batch (plus its ``batch_id``) as CSV for ``COPY ... (FORMAT csv)``, encoded by Arrow in C++.

    One buffer, no Python per row. Arrow quotes every string and leaves a null empty and
    unquoted, which is what PostgreSQL's CSV format reads as ``''`` and ``NULL``.
    """
    table = batch.append_column("batch_id", pa.repeat(pa.scalar(batch_id, pa.int64()), batch.num_rows))
    out = io.BytesIO()
    pa_csv.write_csv(table, out, pa_csv.WriteOptions(include_header=False))
    return out.getvalue()


def apply_batch(rows: Sequence[tuple] | pa.Table, batch_id: int, table: str, ledger: str, sink: str) -> bool:
    """Apply one micro-batch in one transaction; False if this batch id was applied before.

    ``rows`` is an Arrow table with ``COLUMNS`` (what ``foreachBatch`` gets from
    ``toArrow()``) or tuples in ``COLUMNS`` order.
    """
    batch = arrow_batch(rows)
    payload = copy_payload(batch, batch_id)  # encoded before the transaction opens
    with postgres.connect() as conn:
        with conn.transaction():
            claimed = conn.execute(
                sql.SQL("INSERT INTO {} (sink, batch_id, row_count) VALUES (%s, %s, %s) "
                        "ON CONFLICT DO NOTHING RETURNING batch_id").format(sql.Identifier(ledger)),
                (sink, batch_id, batch.num_rows)).fetchone()
            if claimed is None:
                return False  # a replay of a batch whose transaction committed: skip it
            stage = f"stage_{table}"[:63]
            conn.execute(sql.SQL("CREATE TEMP TABLE {stage} (LIKE {table}) ON COMMIT DROP").format(
                stage=sql.Identifier(stage), table=sql.Identifier(table)))
            with conn.cursor().copy(sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
                    sql.Identifier(stage), sql.SQL(", ").join(map(sql.Identifier, [*COLUMNS, "batch_id"])))) as copy:
                copy.write(payload)
            conn.execute(merge_statement(table, stage))
            crash_point("before-db-commit")
        crash_point("after-db-commit")  # committed in PostgreSQL, not yet in Spark's checkpoint
    return True


def row_by_row_apply_batch(rows: list[tuple], batch_id: int, table: str, ledger: str, sink: str) -> bool:
    """The same transaction fed the previous way: ``collect()``ed rows, ``COPY`` one Python row at a time.

    Kept only so ``benchmarks/spark_postgres_sink.py`` can compare both transfers in one run.
    """
    with postgres.connect() as conn:
        with conn.transaction():
            claimed = conn.execute(
                sql.SQL("INSERT INTO {} (sink, batch_id, row_count) VALUES (%s, %s, %s) "
                        "ON CONFLICT DO NOTHING RETURNING batch_id").format(sql.Identifier(ledger)),
                (sink, batch_id, len(rows))).fetchone()
            if claimed is None:
                return False
            stage = f"stage_{table}"[:63]
            conn.execute(sql.SQL("CREATE TEMP TABLE {stage} (LIKE {table}) ON COMMIT DROP").format(
                stage=sql.Identifier(stage), table=sql.Identifier(table)))
            with conn.cursor().copy(sql.SQL("COPY {} ({}) FROM STDIN").format(
                    sql.Identifier(stage), sql.SQL(", ").join(map(sql.Identifier, [*COLUMNS, "batch_id"])))) as copy:
                for row in rows:
                    copy.write_row((*row, batch_id))
            conn.execute(merge_statement(table, stage))
    return True


def ledger(table: str, ledger_table: str | None = None) -> list[tuple[int, int]]:
    """``(batch_id, row_count)`` of every batch applied to ``table``, in order."""
    with postgres.connect() as conn:
        return conn.execute(sql.SQL("SELECT batch_id, row_count FROM {} ORDER BY batch_id").format(
            sql.Identifier(ledger_table or f"{table}_batches"))).fetchall()


def table_event_ids(table: str) -> list[str]:
    """Every ``event_id`` in the table (an independent read with psycopg)."""
    with postgres.connect() as conn:
        return [str(r[0]) for r in conn.execute(sql.SQL("SELECT event_id FROM {}").format(sql.Identifier(table)))]
