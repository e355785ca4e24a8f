"""Spark Structured Streaming from Kafka into PostgreSQL, exactly once.

Guarantee: every input event is in the target table exactly once, however often the
query's process is killed and restarted — including between the database commit and
Spark's checkpoint commit.

Why it holds. Spark writes the offsets of micro-batch *n* to its checkpoint before
running it, and marks *n* done only after the sink returns. A batch interrupted anywhere
is re-run after a restart with the same id and the same offsets. The writer applies a
batch in **one PostgreSQL transaction**: claim ``(sink, batch_id)`` in a ledger table,
``COPY`` the rows into a temporary table, ``MERGE`` them into the target with explicit
column lists, commit. A replayed batch whose claim is already committed is skipped; a
batch that died before its commit left nothing behind. (The MERGE by ``event_id`` alone
would already make replays harmless for a plain upsert; the ledger is what makes
non-idempotent writes — counters, appends — safe too, and it is an audit trail.)

Run it as its own process: ``python -m pipeline_patterns.exactly_once.spark_postgres``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import click
from psycopg import sql

from pipeline_patterns import postgres
from pipeline_patterns.faults import crash_point

COLUMNS = ("event_id", "user_id", "event_type", "revenue_cents", "event_time", "kafka_partition", "kafka_offset")
KEY = "event_id"
BOUND_S = 900
RESTART_SAFE_CONF = {
    # Spark 4.1's Kafka micro-batch stream throws a NullPointerException in its progress
    # metrics when a restarted query first replays an unfinished batch (SPARK-57438) — the
    # very restart this lesson is about. The V1 Kafka source has no such metrics and reads
    # the same checkpoint offsets.
    "spark.sql.streaming.disabledV2MicroBatchReaders": "org.apache.spark.sql.kafka010.KafkaSourceProvider",
}


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


def apply_batch(rows: list[tuple], batch_id: int, table: str, ledger: str, sink: str) -> bool:
    """Apply one micro-batch in one transaction; False if this batch id was applied before."""
    with postgres.connect() as conn:
        with conn.transaction():
            claimed = conn.execute(
                sql.SQL("INSERT INTO {} (sink, batch_id, row_count) VALUES (%s, %s, %s) "
                        "ON CONFLICT DO NOTHING RETURNING batch_id").format(sql.Identifier(ledger)),
                (sink, batch_id, len(rows))).fetchone()
            if claimed is None:
                return False  # a replay of a batch whose transaction committed: skip it
            stage = f"stage_{table}"[:63]
            conn.execute(sql.SQL("CREATE TEMP TABLE {stage} (LIKE {table}) ON COMMIT DROP").format(
                stage=sql.Identifier(stage), table=sql.Identifier(table)))
            with conn.cursor().copy(sql.SQL("COPY {} ({}) FROM STDIN").format(
                    sql.Identifier(stage), sql.SQL(", ").join(map(sql.Identifier, [*COLUMNS, "batch_id"])))) as copy:
                for row in rows:
                    copy.write_row((*row, batch_id))
            conn.execute(merge_statement(table, stage))
            crash_point("before-db-commit")
        crash_point("after-db-commit")  # committed in PostgreSQL, not yet in Spark's checkpoint
    return True


def guide_apply_batch(rows: list[tuple], batch_id: int, table: str, staging: str) -> bool:
    """The guide's design, made to run: one shared staging table, three separate statements.

    Kept to show why it is unsafe. A crash after the staging append replays the batch into
    a staging table that still holds it: the MERGE then meets each key twice and fails
    (``CardinalityViolation``) on every retry — the query is stuck. Two queries sharing the
    staging table would merge (and TRUNCATE) each other's rows.
    """
    cols = [*COLUMNS, "batch_id"]
    with postgres.connect(autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {stage} (LIKE {table})").format(
            stage=sql.Identifier(staging), table=sql.Identifier(table)))
        with conn.cursor().copy(sql.SQL("COPY {} ({}) FROM STDIN").format(
                sql.Identifier(staging), sql.SQL(", ").join(map(sql.Identifier, cols)))) as copy:
            for row in rows:
                copy.write_row((*row, batch_id))
        crash_point("after-staging-write")
        conn.execute(merge_statement(table, staging, dedupe=False))
        conn.execute(sql.SQL("TRUNCATE {}").format(sql.Identifier(staging)))
    return True


def events_stream(spark, topic: str, max_offsets_per_trigger: int):
    """The Kafka topic as parsed user events (``datagen`` JSON), with partition and offset."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    schema = T.StructType([
        T.StructField("event_id", T.StringType()), T.StructField("user_id", T.StringType()),
        T.StructField("event_type", T.StringType()), T.StructField("revenue", T.DoubleType()),
        T.StructField("timestamp", T.StringType()),
    ])
    raw = (spark.readStream.format("kafka")
           .option("kafka.bootstrap.servers", _bootstrap())
           .option("subscribe", topic).option("startingOffsets", "earliest")
           .option("maxOffsetsPerTrigger", max_offsets_per_trigger).load())
    event = F.from_json(F.col("value").cast("string"), schema)
    return raw.select(event.alias("e"), "partition", "offset").select(
        F.col("e.event_id").alias("event_id"), F.col("e.user_id").alias("user_id"),
        F.col("e.event_type").alias("event_type"),
        F.round(F.col("e.revenue") * 100).cast("long").alias("revenue_cents"),
        F.to_timestamp(F.col("e.timestamp")).alias("event_time"),
        F.col("partition").alias("kafka_partition"), F.col("offset").alias("kafka_offset"))


def _bootstrap() -> str:
    from pipeline_patterns.config import get_settings

    return get_settings().kafka_bootstrap_servers


def checkpoint_batches(checkpoint: str | Path) -> dict[str, list[int]]:
    """Batch ids Spark has *planned* (``offsets/``) and *finished* (``commits/``) in a checkpoint.

    A batch in ``offsets`` but not in ``commits`` is re-run, with the same id and offsets,
    by the next start.
    """
    root = Path(checkpoint)
    return {name: sorted(int(f.name) for f in (root / name).glob("*") if f.name.isdigit())
            for name in ("offsets", "commits")}


def ledger(table: str, ledger_table: str | None = None) -> list[tuple[int, int]]:
    """``(batch_id, row_count)`` of every batch applied to ``table``, in order."""
    with postgres.connect() as conn:
        return conn.execute(sql.SQL("SELECT batch_id, row_count FROM {} ORDER BY batch_id").format(
            sql.Identifier(ledger_table or f"{table}_batches"))).fetchall()


def table_event_ids(table: str) -> list[str]:
    """Every ``event_id`` in the table (an independent read with psycopg)."""
    with postgres.connect() as conn:
        return [str(r[0]) for r in conn.execute(sql.SQL("SELECT event_id FROM {}").format(sql.Identifier(table)))]


WRITERS = ("transactional", "guide")


def run(topic: str, table: str, checkpoint: str, ledger: str | None = None,
        max_offsets_per_trigger: int = 1000, writer: str = "transactional") -> dict:
    """Stream ``topic`` into ``table`` until caught up (``availableNow``), then stop.

    ``writer="guide"`` uses the guide's shared-staging design instead (to show it fail).
    """
    from pipeline_patterns.spark import get_spark

    ledger = ledger or f"{table}_batches"
    ensure_tables(table, ledger)
    spark = get_spark(f"exactly-once-{table}", conf=RESTART_SAFE_CONF)
    applied, skipped, rows_written, sink_seconds = [], [], [0], [0.0]

    def write(batch_df, batch_id: int) -> None:
        rows = [tuple(r) for r in batch_df.select(*COLUMNS).collect()]
        began = time.perf_counter()
        if writer == "guide":
            done = guide_apply_batch(rows, batch_id, table, staging=f"staging_{table}"[:63])
        else:
            done = apply_batch(rows, batch_id, table, ledger, sink=checkpoint)
        if done:
            applied.append(batch_id)
            rows_written[0] += len(rows)
        else:
            skipped.append(batch_id)
        sink_seconds[0] += time.perf_counter() - began

    started = time.perf_counter()
    query = (events_stream(spark, topic, max_offsets_per_trigger).writeStream.foreachBatch(write)
             .option("checkpointLocation", checkpoint).trigger(availableNow=True).start())
    if not query.awaitTermination(BOUND_S):  # availableNow stops by itself; this is a safety net
        query.stop()
        raise TimeoutError(f"the query did not catch up within {BOUND_S} s")
    if query.exception():
        raise query.exception()
    return {"applied": applied, "skipped": skipped, "rows": rows_written[0],
            "seconds": round(time.perf_counter() - started, 3), "sink_seconds": round(sink_seconds[0], 3)}


@click.command()
@click.option("--topic", required=True)
@click.option("--table", required=True)
@click.option("--checkpoint", required=True, type=click.Path())
@click.option("--max-offsets-per-trigger", type=int, default=1000, show_default=True)
@click.option("--writer", type=click.Choice(WRITERS), default="transactional", show_default=True)
def main(topic: str, table: str, checkpoint: str, max_offsets_per_trigger: int, writer: str) -> None:
    """Stream TOPIC into the PostgreSQL TABLE exactly once until caught up, then exit."""
    click.echo(json.dumps(run(topic, table, checkpoint, max_offsets_per_trigger=max_offsets_per_trigger,
                              writer=writer)))


if __name__ == "__main__":
    main()
