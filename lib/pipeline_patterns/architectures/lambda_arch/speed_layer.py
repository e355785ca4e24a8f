"""Lambda's speed layer: Structured Streaming from Kafka into the real-time view in PostgreSQL.

Kafka -> parsed events -> watermark (5 minutes) -> one-minute window aggregates, written
through ``foreachBatch`` as an upsert by (window, user, type). Guarantee: a replayed
micro-batch rewrites the same rows with the same values (``update`` mode emits whole
window aggregates), so the real-time view is idempotent.

Breaks on late data by design: an event arriving after the watermark has passed its window
is dropped (Spark reports it as ``numRowsDroppedByWatermark``); only the batch layer counts
it. (The guide's ``format("redis")`` is not a Spark sink; there is no built-in one.)
"""

from __future__ import annotations

from psycopg import sql

from pipeline_patterns import postgres
from pipeline_patterns.architectures.lambda_arch.tables import LambdaTables
from pipeline_patterns.spark import await_bounded, kafka_stream

SPEED_WATERMARK = "5 minutes"
SPEED_WINDOW = "1 minute"


def speed_view_query(spark, topic: str):
    """Kafka -> parsed events -> watermark -> one-minute window aggregates (update mode)."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    schema = T.StructType([T.StructField(n, T.StringType()) for n in ("event_id", "user_id", "event_type", "timestamp")]
                          + [T.StructField("revenue", T.DoubleType())])
    raw = kafka_stream(spark, topic)
    events = raw.select(F.from_json(F.col("value").cast("string"), schema).alias("e")).select(
        "e.user_id", "e.event_type", F.to_timestamp("e.timestamp").alias("event_ts"),
        F.round(F.col("e.revenue") * 100).cast("long").alias("revenue_cents"))
    return (events.withWatermark("event_ts", SPEED_WATERMARK)
            .groupBy(F.window("event_ts", SPEED_WINDOW), "user_id", "event_type")
            .agg(F.count("*").alias("event_count"), F.sum("revenue_cents").alias("revenue_cents"),
                 F.max("event_ts").alias("last_event"))
            .select(F.col("window.start").alias("window_start"), "user_id", "event_type", "event_count",
                    "revenue_cents", "last_event"))


def upsert_speed_rows(rows: list[tuple], tables: LambdaTables) -> None:
    """Replace (never add to) each window's row: a replayed micro-batch changes nothing."""
    if not rows:  # the no-data batch that moves the watermark emits nothing in update mode
        return
    speed = sql.Identifier(tables.speed)
    with postgres.connect() as conn, conn.transaction(), conn.cursor() as cur:
        cur.executemany(sql.SQL("""
                INSERT INTO {} (window_start, user_id, event_type, event_count, revenue_cents, last_event)
                VALUES (%s, %s, %s, %s, %s, %s)
                ON CONFLICT (window_start, user_id, event_type) DO UPDATE SET
                    event_count = EXCLUDED.event_count, revenue_cents = EXCLUDED.revenue_cents,
                    last_event = EXCLUDED.last_event""").format(speed), rows)


def run_speed_layer(spark, topic: str, checkpoint: str, tables: LambdaTables, bound_s: int = 300) -> dict:
    """Process what Kafka holds now (``availableNow``) into the real-time view; Spark's figures."""
    def write(batch_df, batch_id: int) -> None:
        upsert_speed_rows([tuple(r) for r in batch_df.collect()], tables)

    query = (speed_view_query(spark, topic).writeStream.outputMode("update").foreachBatch(write)
             .option("checkpointLocation", checkpoint).trigger(availableNow=True).start())
    await_bounded(query, "the speed layer", bound_s)  # availableNow stops by itself; the bound is a safety net
    progress = query.recentProgress
    ran = [p for p in progress if p["numInputRows"] > 0]
    return {"batches": len(progress), "data_batches": len(ran), "input_rows": sum(p["numInputRows"] for p in ran),
            "batch_ms": [p["durationMs"].get("triggerExecution", 0) for p in progress],
            "duration_ms": [p["durationMs"] for p in progress],
            # the watermark each batch with data filtered by (rows older than it are dropped)
            "watermark_used": [p["eventTime"].get("watermark") for p in ran],
            "dropped_by_watermark": sum(op.get("numRowsDroppedByWatermark", 0)
                                        for p in ran for op in p.get("stateOperators", [])),
            "watermark": progress[-1]["eventTime"].get("watermark") if progress else None}
