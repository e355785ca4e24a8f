"""Spark Structured Streaming from Kafka into PostgreSQL, exactly once.

Guarantee: every input event is in the target table exactly once, however often the
query's process is killed and restarted — including between the database commit and
Spark's checkpoint commit.

Why it holds. Spark writes the offsets of micro-batch *n* to its checkpoint before running
it, and marks *n* done only after the sink returns. A batch interrupted anywhere is re-run
after a restart with the same id and the same offsets. The writer applies a batch in **one
PostgreSQL transaction** (:mod:`~pipeline_patterns.exactly_once.postgres_sink`): claim
``(sink, batch_id)`` in a ledger table, ``COPY`` the rows into a temporary table,
``MERGE`` them into the target with explicit column lists, commit. A replayed batch whose
claim is already committed is skipped; a batch that died before its commit left nothing
behind. (The MERGE by ``event_id`` alone would already make replays harmless for a plain
upsert; the ledger is what makes non-idempotent writes — counters, appends — safe too, and
it is an audit trail.)

How rows get there. ``foreachBatch`` takes the batch with ``toArrow()`` (Arrow batches
from the JVM, no Row objects, no Python workers), Arrow encodes it as CSV in C++ and the
COPY reads that one buffer — encoded before the transaction opens, so the transaction
holds no lock while Python works. Spark's fixed per-batch work (planning, the Kafka read's
job, two checkpoint writes) is then most of a small batch's cost: larger batches
(``maxOffsetsPerTrigger``) amortise it; ``benchmarks/spark_postgres_sink.py`` measures it.

What breaks it: a writer that commits the ledger claim and the rows in separate
transactions (the guide's shared staging table,
:mod:`~pipeline_patterns.exactly_once.pitfalls`), or a second query writing with the same
``sink`` name (checkpoint path).

Run it as its own process: ``python -m pipeline_patterns.exactly_once.spark_postgres``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from pipeline_patterns.exactly_once.pitfalls import guide_apply_batch
from pipeline_patterns.exactly_once.postgres_sink import COLUMNS, apply_batch, ensure_tables, row_by_row_apply_batch
from pipeline_patterns.spark import GENERATED_CODE_CONF, await_bounded, kafka_stream

BOUND_S = 900
"""This query's safety net (the kit's default: :data:`pipeline_patterns.spark.BOUND_S`); availableNow ends by itself."""
RESTART_SAFE_CONF = {
    # Spark 4.1's Kafka micro-batch stream throws a NullPointerException in its progress
    # metrics when a restarted query first replays an unfinished batch (SPARK-57438) — the
    # very restart this lesson is about. The V1 Kafka source has no such metrics and reads
    # the same checkpoint offsets.
    "spark.sql.streaming.disabledV2MicroBatchReaders": "org.apache.spark.sql.kafka010.KafkaSourceProvider",
}


def events_stream(spark, topic: str, max_offsets_per_trigger: int):
    """The Kafka topic as parsed user events (``datagen`` JSON), with partition and offset."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    schema = T.StructType([
        T.StructField("event_id", T.StringType()), T.StructField("user_id", T.StringType()),
        T.StructField("event_type", T.StringType()), T.StructField("revenue", T.DoubleType()),
        T.StructField("timestamp", T.StringType()),
    ])
    raw = kafka_stream(spark, topic, max_offsets_per_trigger)
    event = F.from_json(F.col("value").cast("string"), schema)
    return raw.select(event.alias("e"), "partition", "offset").select(
        F.col("e.event_id").alias("event_id"), F.col("e.user_id").alias("user_id"),
        F.col("e.event_type").alias("event_type"),
        F.round(F.col("e.revenue") * 100).cast("long").alias("revenue_cents"),
        F.to_timestamp(F.col("e.timestamp")).alias("event_time"),
        F.col("partition").alias("kafka_partition"), F.col("offset").alias("kafka_offset"))


def checkpoint_batches(checkpoint: str | Path) -> dict[str, list[int]]:
    """Batch ids Spark has *planned* (``offsets/``) and *finished* (``commits/``) in a checkpoint.

    A batch in ``offsets`` but not in ``commits`` is re-run, with the same id and offsets,
    by the next start.
    """
    root = Path(checkpoint)
    return {name: sorted(int(f.name) for f in (root / name).glob("*") if f.name.isdigit())
            for name in ("offsets", "commits")}


def batches_per_start(log: str | Path) -> list[list[dict]]:
    """What each start of the query did, batch by batch, from its log (killed starts included).

    ``run`` prints one JSON line per batch it finished in ``foreachBatch`` —
    ``{"batch_id": 1, "applied": false, "rows": 1000}`` — and ``ProcessorRun`` heads each
    start's output with ``--- start N``.
    """
    starts: list[list[dict]] = []
    for line in Path(log).read_text(errors="replace").splitlines():
        if line.startswith("--- start "):
            starts.append([])
        elif line.startswith('{"batch_id"') and starts:
            starts[-1].append(json.loads(line))
    return starts


WRITERS = ("transactional", "guide")
TRANSFERS = ("arrow", "rows")
PROGRESS_PARTS = ("latestOffset", "getBatch", "queryPlanning", "addBatch", "walCommit", "commitOffsets",
                  "triggerExecution")
# Session settings for this query: no shuffle here, so shuffle partitions do not matter; the UI
# would only add start-up time to a process the lesson kills. Generated code back on (the kit's
# lessons run interpreted, spark.DEFAULT_CONF): one plan runs every batch, so it is compiled once,
# and parsing 100k JSON rows a batch is where it pays. Same machine, quiet, one run each
# (benchmarks/spark_postgres_sink.py, arrow): 100k rows per batch 23,312 -> 36,765 rows/s,
# 10k 9,051 -> 13,210, 1k 536 -> 654.
SINK_CONF = {**RESTART_SAFE_CONF, **GENERATED_CODE_CONF, "spark.ui.enabled": "false",
             "spark.sql.streaming.numRecentProgressUpdates": "1000"}


def run(topic: str, table: str, checkpoint: str, ledger: str | None = None,
        max_offsets_per_trigger: int = 1000, writer: str = "transactional", transfer: str = "arrow") -> dict:
    """Stream ``topic`` into ``table`` until caught up (``availableNow``), then stop.

    ``writer="guide"`` uses the guide's shared-staging design instead (to show it fail).
    ``transfer`` is how a batch's rows reach the COPY: ``arrow`` (``toArrow()``, one CSV
    buffer) or ``rows`` (the previous ``collect()`` of Row objects, one Python call per row;
    kept for the benchmark). The result adds where each batch's time went: Spark's own
    ``durationMs`` parts summed over the batches, and inside ``addBatch`` the seconds spent
    getting rows to Python (``collect_seconds``) and in PostgreSQL (``sink_seconds``).
    """
    from pipeline_patterns.spark import get_spark

    if writer not in WRITERS or transfer not in TRANSFERS:
        raise ValueError(f"writer must be one of {WRITERS} and transfer one of {TRANSFERS}; "
                         f"got {writer!r}, {transfer!r}")
    ledger = ledger or f"{table}_batches"
    ensure_tables(table, ledger)
    started = time.perf_counter()
    spark = get_spark(f"exactly-once-{table}", conf=SINK_CONF)
    session_seconds = time.perf_counter() - started
    applied: list[int] = []
    skipped: list[int] = []
    rows_written = [0]
    spent = {"collect_seconds": 0.0, "sink_seconds": 0.0}

    def write(batch_df, batch_id: int) -> None:
        began = time.perf_counter()
        selected = batch_df.select(*COLUMNS)
        rows = selected.toArrow() if transfer == "arrow" else [tuple(r) for r in selected.collect()]
        collected = time.perf_counter()
        if writer == "guide":
            done = guide_apply_batch(rows, batch_id, table, staging=f"staging_{table}"[:63])
        elif transfer == "arrow":
            done = apply_batch(rows, batch_id, table, ledger, sink=checkpoint)
        else:
            done = row_by_row_apply_batch(rows, batch_id, table, ledger, sink=checkpoint)
        (applied if done else skipped).append(batch_id)
        rows_written[0] += len(rows) if done else 0
        spent["collect_seconds"] += collected - began
        spent["sink_seconds"] += time.perf_counter() - collected
        print(json.dumps({"batch_id": batch_id, "applied": done, "rows": len(rows)}), flush=True)

    query_started = time.perf_counter()
    query = (events_stream(spark, topic, max_offsets_per_trigger).writeStream.foreachBatch(write)
             .option("checkpointLocation", checkpoint).trigger(availableNow=True).start())
    await_bounded(query, f"the query from {topic!r} into {table!r}", BOUND_S)  # availableNow stops by itself
    seconds = time.perf_counter() - query_started
    progress = query.recentProgress
    ran = [p for p in progress if p["numInputRows"] > 0]
    in_triggers = sum(p["durationMs"].get("triggerExecution", 0) for p in progress) / 1000
    return {"applied": applied, "skipped": skipped, "rows": rows_written[0],
            "seconds": round(seconds, 3), "session_seconds": round(session_seconds, 3),
            # query start-up (source and checkpoint set-up) and stop: the run's time outside any trigger
            "outside_triggers_seconds": round(seconds - in_triggers, 3),
            **{k: round(v, 3) for k, v in spent.items()},
            "progress_ms": {part: sum(p["durationMs"].get(part, 0) for p in ran) for part in PROGRESS_PARTS},
            "progress_batches": len(ran)}


@click.command()
@click.option("--topic", required=True)
@click.option("--table", required=True)
@click.option("--checkpoint", required=True, type=click.Path())
@click.option("--max-offsets-per-trigger", type=int, default=1000, show_default=True)
@click.option("--writer", type=click.Choice(WRITERS), default="transactional", show_default=True)
@click.option("--transfer", type=click.Choice(TRANSFERS), default="arrow", show_default=True)
def main(topic: str, table: str, checkpoint: str, max_offsets_per_trigger: int, writer: str, transfer: str) -> None:
    """Stream TOPIC into the PostgreSQL TABLE exactly once until caught up, then exit."""
    click.echo(json.dumps(run(topic, table, checkpoint, max_offsets_per_trigger=max_offsets_per_trigger,
                              writer=writer, transfer=transfer)))


if __name__ == "__main__":
    main()
