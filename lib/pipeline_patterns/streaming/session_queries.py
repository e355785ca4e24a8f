"""Sessions on the streaming engine: ``applyInPandasWithState`` and ``session_window``.

``stateful_sessions`` keeps one aggregate per user in state (start, last event, count,
value) with an **event-time** timeout at ``last event + gap``: a session is emitted
when the user's next event proves the gap, or when the watermark passes its end.
Guarantee: with a checkpoint and the Delta sink each session is written once; the
result does not depend on how records were batched or when they arrived, only on
event times (for events not dropped as later than the watermark).

``guide_sessions`` is the guide's design ported to PySpark for comparison: every
event kept in state and a **processing-time** timeout — see the lesson's pitfalls.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming.state import GroupState, GroupStateTimeout

from pipeline_patterns import kafka as kafka_helpers
from pipeline_patterns.config import get_settings
from pipeline_patterns.streaming.sessions import Click, Session

SCHEMA = "user_id STRING, event_time TIMESTAMP, event_id STRING, value DOUBLE"
OUTPUT = "user_id STRING, start_ms LONG, end_ms LONG, events LONG, value DOUBLE"
AGGREGATE_STATE = "start_ms LONG, last_ms LONG, events LONG, value DOUBLE"
EVERY_EVENT_STATE = "start_ms LONG, event_ms ARRAY<LONG>, values ARRAY<DOUBLE>"


def produce_clicks(topic: str, clicks: list[Click]) -> int:
    rows = [{"user_id": c.user_id, "event_time": c.event_time.astimezone(UTC).isoformat().replace("+00:00", "Z"),
             "event_id": c.event_id, "value": c.value} for c in clicks]
    return kafka_helpers.produce_json(topic, rows, key="user_id")


def clicks_stream(spark: SparkSession, topic: str, delay: timedelta) -> DataFrame:
    raw = (spark.readStream.format("kafka")
           .option("kafka.bootstrap.servers", get_settings().kafka_bootstrap_servers)
           .option("subscribe", topic).option("startingOffsets", "earliest").load())
    clicks = raw.select(F.from_json(F.col("value").cast("string"), SCHEMA).alias("c")).select("c.*")
    return (clicks.withColumn("ts_ms", (F.unix_micros("event_time") / 1000).cast("long"))
            .withWatermark("event_time", f"{int(delay.total_seconds())} seconds"))


def _session_row(user: str, start: int, last: int, gap_ms: int, events: int, value: float) -> dict:
    return {"user_id": user, "start_ms": start, "end_ms": last + gap_ms, "events": events, "value": value}


def _aggregate_sessions(gap_ms: int):
    def update(key: tuple, batches: Iterator[pd.DataFrame], state: GroupState) -> Iterator[pd.DataFrame]:
        (user,) = key
        if state.hasTimedOut:  # the watermark passed last event + gap
            start, last, events, value = state.get
            state.remove()
            yield pd.DataFrame([_session_row(user, start, last, gap_ms, events, value)])
            return
        rows = pd.concat(list(batches)).sort_values("ts_ms")
        current = state.get if state.exists else None
        closed = []
        for ts, val in zip(rows["ts_ms"].tolist(), rows["value"].tolist(), strict=True):
            if current is None:
                current = (ts, ts, 1, val)
            elif ts - current[1] >= gap_ms:  # the gap proves the previous session is over
                closed.append(_session_row(user, current[0], current[1], gap_ms, current[2], current[3]))
                current = (ts, ts, 1, val)
            else:
                current = (current[0], max(current[1], ts), current[2] + 1, current[3] + val)
        if current is None:  # no rows and no state: nothing to close or keep
            return
        if current[1] + gap_ms < state.getCurrentWatermarkMs():  # already expired by the watermark
            closed.append(_session_row(user, current[0], current[1], gap_ms, current[2], current[3]))
            state.remove()
        else:
            state.update(current)
            state.setTimeoutTimestamp(current[1] + gap_ms)
        if closed:
            yield pd.DataFrame(closed)

    return update


def stateful_sessions(clicks: DataFrame, gap: timedelta) -> DataFrame:
    """Event-time sessions with ``applyInPandasWithState``; only an aggregate per user in state."""
    return clicks.groupBy("user_id").applyInPandasWithState(
        _aggregate_sessions(int(gap.total_seconds() * 1000)), OUTPUT, AGGREGATE_STATE, "append",
        GroupStateTimeout.EventTimeTimeout)


def builtin_sessions(clicks: DataFrame, gap: timedelta) -> DataFrame:
    """The same sessions with the built-in ``session_window`` (emitted once the watermark passes their end)."""
    return (clicks.groupBy(F.session_window("event_time", f"{int(gap.total_seconds())} seconds"), "user_id")
            .agg(F.count("*").alias("events"), F.sum("value").alias("value"))
            .select("user_id", (F.unix_micros("session_window.start") / 1000).cast("long").alias("start_ms"),
                    (F.unix_micros("session_window.end") / 1000).cast("long").alias("end_ms"), "events", "value"))


def _guide_sessions(timeout_ms: int):
    def update(key: tuple, batches: Iterator[pd.DataFrame], state: GroupState) -> Iterator[pd.DataFrame]:
        (user,) = key
        if state.hasTimedOut:
            start, times, values = state.get
            state.remove()
            yield pd.DataFrame([{"user_id": user, "start_ms": start, "end_ms": max(times), "events": len(times),
                                 "value": float(sum(values))}])
            return
        rows = pd.concat(list(batches)).sort_values("ts_ms")
        start, times, values = state.get if state.exists else (int(rows["ts_ms"].iloc[0]), [], [])
        state.update((start, list(times) + rows["ts_ms"].tolist(), list(values) + rows["value"].tolist()))
        # Processing time: "no record *arrived* for 30 minutes". (PySpark takes milliseconds;
        # the guide's "30 minutes" string raises NOT_INT.)
        state.setTimeoutDuration(timeout_ms)

    return update


def guide_sessions(clicks: DataFrame, gap: timedelta) -> DataFrame:
    """The guide's design: every event kept in state, closed by a processing-time timeout."""
    return clicks.groupBy("user_id").applyInPandasWithState(
        _guide_sessions(int(gap.total_seconds() * 1000)), OUTPUT, EVERY_EVENT_STATE, "append",
        GroupStateTimeout.ProcessingTimeTimeout)


def read_sessions(spark: SparkSession, output: str) -> set[Session]:
    from delta.tables import DeltaTable

    if not DeltaTable.isDeltaTable(spark, output):
        return set()
    return {Session(r.user_id, datetime.fromtimestamp(r.start_ms / 1000, UTC),
                    datetime.fromtimestamp(r.end_ms / 1000, UTC), r.events)
            for r in spark.read.format("delta").load(output).collect()}
