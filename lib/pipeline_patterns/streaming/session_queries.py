"""Sessions on the streaming engine: ``applyInPandasWithState`` and ``session_window``.

``stateful_sessions`` keeps an aggregate per open session of a user in state (start,
last event, count, value), with an **event-time** timeout at the earliest open
session's ``last event + gap``. A session is emitted once the watermark has passed its
end, never earlier: a user's clicks may arrive out of order across micro-batches, and
until then a click still on its way can extend a session or merge two of them.
Guarantee: with a checkpoint and the Delta sink each session is written once; the
result does not depend on how records were batched or in what order they arrived,
only on event times (for events not dropped as later than the watermark).

The guide's design ported to PySpark for comparison — every event kept in state and a
**processing-time** timeout — is :func:`pipeline_patterns.streaming.pitfalls.guide_sessions`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming.state import GroupState, GroupStateTimeout

from pipeline_patterns import kafka_client as kafka_helpers
from pipeline_patterns.spark import kafka_stream
from pipeline_patterns.streaming.bounded import emitted_rows
from pipeline_patterns.streaming.sessions import Click, Session

SCHEMA = "user_id STRING, event_time TIMESTAMP, event_id STRING, value DOUBLE"
OUTPUT = "user_id STRING, start_ms LONG, end_ms LONG, events LONG, value DOUBLE"
AGGREGATE_STATE = "start_ms ARRAY<LONG>, last_ms ARRAY<LONG>, events ARRAY<LONG>, value ARRAY<DOUBLE>"


def produce_clicks(topic: str, clicks: list[Click]) -> int:
    rows = [{"user_id": c.user_id, "event_time": c.event_time.astimezone(UTC).isoformat().replace("+00:00", "Z"),
             "event_id": c.event_id, "value": c.value} for c in clicks]
    return kafka_helpers.produce_json(topic, rows, key="user_id")


def clicks_stream(spark: SparkSession, topic: str, delay: timedelta) -> DataFrame:
    raw = kafka_stream(spark, topic)
    clicks = raw.select(F.from_json(F.col("value").cast("string"), SCHEMA).alias("c")).select("c.*")
    return (clicks.withColumn("ts_ms", (F.unix_micros("event_time") / 1000).cast("long"))
            .withWatermark("event_time", f"{int(delay.total_seconds())} seconds"))


def _session_row(user: str, start: int, last: int, gap_ms: int, events: int, value: float) -> dict:
    return {"user_id": user, "start_ms": start, "end_ms": last + gap_ms, "events": events, "value": value}


OpenSession = tuple[int, int, int, float]  # start_ms, last_ms, events, value


def add_click(sessions: list[OpenSession], ts: int, value: float, gap_ms: int) -> list[OpenSession]:
    """Add one click to a user's open sessions, merging every session it is within ``gap`` of.

    Open sessions are kept at least ``gap`` apart, so one pass is enough: a click that
    arrives late (out of order) can extend a session backwards, or bridge two sessions
    into one.
    """
    touching = [s for s in sessions if s[0] - gap_ms < ts < s[1] + gap_ms]
    merged = (min([ts, *(s[0] for s in touching)]), max([ts, *(s[1] for s in touching)]),
              1 + sum(s[2] for s in touching), value + sum(s[3] for s in touching))
    return sorted([s for s in sessions if s not in touching] + [merged])


def _aggregate_sessions(gap_ms: int):
    def update(key: tuple, batches: Iterator[pd.DataFrame], state: GroupState) -> Iterator[pd.DataFrame]:
        (user,) = key
        sessions: list[OpenSession] = [tuple(s) for s in zip(*state.get, strict=True)] if state.exists else []
        frames = [] if state.hasTimedOut else list(batches)
        if frames:
            rows = pd.concat(frames)
            for ts, val in zip(rows["ts_ms"].tolist(), rows["value"].tolist(), strict=True):
                sessions = add_click(sessions, ts, val, gap_ms)
        # A session is final only once the watermark is past its end: until then a click
        # still on its way (not later than the watermark) could extend it or merge it.
        watermark = state.getCurrentWatermarkMs()
        closed = [s for s in sessions if s[1] + gap_ms < watermark]
        still_open = [s for s in sessions if s[1] + gap_ms >= watermark]
        if still_open:
            state.update(tuple(list(column) for column in zip(*still_open, strict=True)))
            state.setTimeoutTimestamp(min(s[1] for s in still_open) + gap_ms)
        else:
            state.remove()
        if closed:
            yield pd.DataFrame([_session_row(user, *s[:2], gap_ms, *s[2:]) for s in closed])

    return update


def stateful_sessions(clicks: DataFrame, gap: timedelta) -> DataFrame:
    """Event-time sessions with ``applyInPandasWithState``; only an aggregate per open session in state."""
    return clicks.groupBy("user_id").applyInPandasWithState(
        _aggregate_sessions(int(gap.total_seconds() * 1000)), OUTPUT, AGGREGATE_STATE, "append",
        GroupStateTimeout.EventTimeTimeout)


def builtin_sessions(clicks: DataFrame, gap: timedelta) -> DataFrame:
    """The same sessions with the built-in ``session_window`` (emitted once the watermark passes their end)."""
    return (clicks.groupBy(F.session_window("event_time", f"{int(gap.total_seconds())} seconds"), "user_id")
            .agg(F.count("*").alias("events"), F.sum("value").alias("value"))
            .select("user_id", (F.unix_micros("session_window.start") / 1000).cast("long").alias("start_ms"),
                    (F.unix_micros("session_window.end") / 1000).cast("long").alias("end_ms"), "events", "value"))


def read_sessions(output: str) -> set[Session]:
    """The sessions the query has emitted so far."""
    return {Session(r["user_id"], datetime.fromtimestamp(r["start_ms"] / 1000, UTC),
                    datetime.fromtimestamp(r["end_ms"] / 1000, UTC), r["events"]) for r in emitted_rows(output)}
