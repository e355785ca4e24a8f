"""The Spark side of the watermark lesson: a windowed count from Kafka into Delta, run in steps.

Each step is one bounded run (``trigger(availableNow=True)``) from the same
checkpoint: Spark processes everything produced so far, then runs its no-data batch,
which moves the watermark and emits the windows it closed. So the watermark advances
exactly once per step — what :func:`pipeline_patterns.streaming.watermarks.simulate`
models. Guarantee: the Delta sink with a checkpoint writes each window once
(append mode, exactly-once file sink).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from pipeline_patterns import kafka_client as kafka_helpers
from pipeline_patterns.spark import kafka_stream
from pipeline_patterns.streaming.bounded import StepProgress, emitted_rows, run_bounded
from pipeline_patterns.streaming.watermarks import Event, Window

SCHEMA = "event_id STRING, event_type STRING, event_time TIMESTAMP"


def _interval(delta: timedelta) -> str:
    return f"{int(delta.total_seconds())} seconds"


def produce_events(topic: str, events: list[Event]) -> int:
    """Send events as JSON (one Kafka partition keeps Spark's drop counts per batch exact)."""
    rows = [{"event_id": e.event_id, "event_type": e.key,
             "event_time": e.event_time.astimezone(UTC).isoformat().replace("+00:00", "Z")} for e in events]
    return kafka_helpers.produce_json(topic, rows)


def windowed_counts(spark: SparkSession, topic: str, delay: timedelta, size: timedelta, slide: timedelta) -> DataFrame:
    """The guide's query: watermark, sliding windows per event type, counts."""
    events = (kafka_stream(spark, topic)
              .select(F.from_json(F.col("value").cast("string"), SCHEMA).alias("e")).select("e.*"))
    return (events.withWatermark("event_time", _interval(delay))
            .groupBy(F.window("event_time", _interval(size), _interval(slide)), "event_type")
            .agg(F.count("*").alias("events")))


def run_step(spark: SparkSession, topic: str, checkpoint: str, output: str, step: int,
             delay: timedelta, size: timedelta, slide: timedelta) -> StepProgress:
    """One bounded step of the windowed count (see :mod:`pipeline_patterns.streaming.bounded`)."""
    return run_bounded(windowed_counts(spark, topic, delay, size, slide), checkpoint, output, step)


def read_emitted(output: str) -> dict[tuple[Window, str], int]:
    """The windows the query has emitted so far, as the reference reports them."""
    return {(Window(datetime.fromisoformat(r["window"]["start"]), datetime.fromisoformat(r["window"]["end"])),
             r["event_type"]): r["events"] for r in emitted_rows(output)}
