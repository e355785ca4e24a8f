"""Lambda architecture: a batch layer, a speed layer and a serving layer that merges them.

* **Master dataset** — raw events appended to a date-partitioned Delta table (immutable,
  reprocessable); the same events also flow through Kafka.
* **Batch layer** — the guide's daily aggregation (per user and event type: events,
  revenue, last event) over one date. Guarantee: rerunning a date replaces exactly that
  date (Delta ``replaceWhere``; PostgreSQL delete + copy in one transaction), so reruns
  are idempotent and other dates are untouched. Publishing a date moves the *cutoff*.
* **Speed layer** — Structured Streaming from Kafka, watermark, one-minute windows,
  written to PostgreSQL through ``foreachBatch`` as an upsert by (window, user, type).
  Guarantee: a replayed micro-batch rewrites the same rows with the same values
  (``update`` mode emits whole window aggregates), so the real-time view is idempotent.
  (The guide's ``format("redis")`` is not a Spark sink; there is no built-in one.)
* **Serving layer** — one SQL view: batch rows for dates before the cutoff plus speed rows
  for windows starting at or after it (half-open intervals: each event counted once).

What breaks the speed layer, and why Lambda keeps a batch layer: an event that arrives after
the watermark has passed its window is dropped by the streaming aggregation (Spark drops
rows older than the watermark once it has moved past them). The real-time view stays short
by exactly those events until the batch layer recomputes their date from the master dataset
(which keeps every event, late or not) and the cutoff moves past it.

Revenue is kept in integer cents end to end so every comparison is exact.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from psycopg import sql

from pipeline_patterns import postgres
from pipeline_patterns.config import get_settings

SPEED_WATERMARK = "5 minutes"
SPEED_WINDOW = "1 minute"
KEY = ("user_id", "event_type")


@dataclass(frozen=True)
class LambdaTables:
    """PostgreSQL names of one Lambda deployment (a prefix keeps lessons and tests apart)."""

    prefix: str

    @property
    def batch(self) -> str:
        return f"{self.prefix}_batch_daily"

    @property
    def speed(self) -> str:
        return f"{self.prefix}_speed_minute"

    @property
    def cutoff(self) -> str:
        return f"{self.prefix}_cutoff"

    @property
    def serving(self) -> str:
        return f"{self.prefix}_serving"


# --- events --------------------------------------------------------------------------------

def simulated_events(n: int, seed: int = 42, mean_gap_s: float = 25.0) -> list[dict]:
    """Seeded events from 2024-01-15 09:00 UTC into the next day, plus one purchase at exactly
    midnight (2024-01-16T00:00:00.000Z) — the event that sits on the batch cutoff."""
    from pipeline_patterns import datagen

    events = datagen.user_events(n, seed=seed, mean_gap_s=mean_gap_s)
    boundary = {"event_id": f"00000000-0000-4000-8000-{seed:012d}", "user_id": "user_0000",
                "session_id": "boundary", "event_type": "purchase", "revenue": 42.0,
                "timestamp": "2024-01-16T00:00:00.000Z"}
    events.append(boundary)
    return sorted(events, key=lambda e: e["timestamp"])


def late_events(n: int, day: date, seed: int = 42, from_hour: float = 9.0, until_hour: float = 11.0) -> list[dict]:
    """``n`` seeded events that *happened* on ``day`` between ``from_hour`` and ``until_hour``
    (UTC) — a client that was offline — to be delivered hours later, behind the watermark."""
    import random

    from pipeline_patterns import datagen

    rng = random.Random(seed)
    start = datetime.combine(day, time.min, tzinfo=UTC)
    late = datagen.user_events(n, seed=seed + 100_003, start=start)
    moments = sorted(rng.uniform(from_hour * 3600, until_hour * 3600) for _ in late)
    for event, seconds in zip(late, moments, strict=True):
        event["session_id"] = "offline"
        event["timestamp"] = (start + timedelta(seconds=seconds)).isoformat(timespec="milliseconds").replace(
            "+00:00", "Z")
    return late


def hours_to_cover(events: list[dict], day: date) -> int:
    """The first whole hour after ``day`` 00:00 UTC by which every event has happened."""
    last = max(parse_ts(e["timestamp"]) for e in events)
    return math.floor((last - datetime.combine(day, time.min, tzinfo=UTC)).total_seconds() / 3600) + 1


def parse_ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def cents(revenue: float) -> int:
    return round(revenue * 100)


def recompute(events: list[dict], until: datetime | None = None) -> dict[tuple[str, str], tuple[int, int, datetime]]:
    """The answer from scratch, in plain Python: (user, type) -> (events, revenue cents, last event)."""
    totals: dict[tuple[str, str], list] = defaultdict(lambda: [0, 0, None])
    for e in events:
        ts = parse_ts(e["timestamp"])
        if until is not None and ts >= until:
            continue
        row = totals[(e["user_id"], e["event_type"])]
        row[0] += 1
        row[1] += cents(e["revenue"])
        row[2] = ts if row[2] is None or ts > row[2] else row[2]
    return {k: tuple(v) for k, v in totals.items()}


# --- master dataset and batch layer (Spark + Delta) -----------------------------------------

def events_frame(spark, events: list[dict]):
    """Events as a DataFrame with a real timestamp, the partition date and revenue in cents.

    Sent to the JVM as Arrow: ``createDataFrame(list)`` would go through a Python RDD and
    start Python worker processes for every append (seconds each on a busy 2-core machine;
    nothing else in the Lambda pipeline needs a Python worker).
    """
    import pandas as pd
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    schema = T.StructType([T.StructField(n, T.StringType()) for n in ("event_id", "user_id", "session_id",
                                                                      "event_type", "timestamp")]
                          + [T.StructField("revenue", T.DoubleType())])
    rows = pd.DataFrame([{f.name: e[f.name] for f in schema.fields} for e in events],
                        columns=[f.name for f in schema.fields])
    arrow = "spark.sql.execution.arrow.pyspark.enabled"
    previous = spark.conf.get(arrow)
    spark.conf.set(arrow, "true")
    try:
        df = spark.createDataFrame(rows, schema=schema)  # the data is in the JVM when this returns
    finally:
        spark.conf.set(arrow, previous)
    return (df.withColumn("event_ts", F.to_timestamp("timestamp"))
              .withColumn("revenue_cents", F.round(F.col("revenue") * 100).cast("long"))
              .withColumn("date", F.to_date("event_ts"))
              .select("event_id", "user_id", "session_id", "event_type", "revenue_cents", "event_ts", "date"))


def append_to_master(spark, events: list[dict], master_path: str) -> int:
    """Append raw events to the date-partitioned master dataset (append-only)."""
    df = events_frame(spark, events)
    df.write.format("delta").mode("append").partitionBy("date").save(master_path)
    return len(events)


def batch_daily_view(spark, master_path: str, day: date, view_path: str) -> int:
    """The guide's daily aggregation for one date, replacing only that date's partition."""
    from pyspark.sql import functions as F

    daily = (spark.read.format("delta").load(master_path).where(F.col("date") == F.lit(day))
             .groupBy("date", "user_id", "event_type")
             .agg(F.count("*").alias("event_count"), F.sum("revenue_cents").alias("revenue_cents"),
                  F.max("event_ts").alias("last_event")))
    (daily.write.format("delta").mode("overwrite").partitionBy("date")
     .option("replaceWhere", f"date = DATE'{day.isoformat()}'").save(view_path))
    # The rows written, from the commit's metrics (``daily.count()`` would aggregate the day again).
    from delta.tables import DeltaTable

    return int(DeltaTable.forPath(spark, view_path).history(1).collect()[0]["operationMetrics"]["numOutputRows"])


def ensure_serving_tables(tables: LambdaTables) -> None:
    """Batch view, speed view, the cutoff and the serving view in PostgreSQL."""
    t = {name: sql.Identifier(getattr(tables, name)) for name in ("batch", "speed", "cutoff", "serving")}
    with postgres.connect(autocommit=True) as conn:
        conn.execute(sql.SQL("""CREATE TABLE IF NOT EXISTS {batch} (
            date date NOT NULL, user_id text NOT NULL, event_type text NOT NULL,
            event_count bigint NOT NULL, revenue_cents bigint NOT NULL, last_event timestamptz NOT NULL,
            PRIMARY KEY (date, user_id, event_type))""").format(**t))
        conn.execute(sql.SQL("""CREATE TABLE IF NOT EXISTS {speed} (
            window_start timestamptz NOT NULL, user_id text NOT NULL, event_type text NOT NULL,
            event_count bigint NOT NULL, revenue_cents bigint NOT NULL, last_event timestamptz NOT NULL,
            PRIMARY KEY (window_start, user_id, event_type))""").format(**t))
        # One row: the first instant *not* covered by the batch layer (1970: nothing yet).
        conn.execute(sql.SQL("""CREATE TABLE IF NOT EXISTS {cutoff} (
            id boolean PRIMARY KEY DEFAULT true CHECK (id), cutoff timestamptz NOT NULL)""").format(**t))
        conn.execute(sql.SQL("INSERT INTO {cutoff} (cutoff) VALUES ('1970-01-01Z') ON CONFLICT DO NOTHING").format(**t))
        conn.execute(sql.SQL("""CREATE OR REPLACE VIEW {serving} AS
            SELECT user_id, event_type, sum(event_count)::bigint AS event_count,
                   sum(revenue_cents)::bigint AS revenue_cents, max(last_event) AS last_event
            FROM (
                SELECT user_id, event_type, event_count, revenue_cents, last_event
                FROM {batch} WHERE date < (SELECT cutoff FROM {cutoff})
                UNION ALL
                SELECT user_id, event_type, event_count, revenue_cents, last_event
                FROM {speed} WHERE window_start >= (SELECT cutoff FROM {cutoff})
            ) merged
            GROUP BY user_id, event_type""").format(**t))


def drop_serving_tables(tables: LambdaTables) -> None:
    """Remove one deployment's view and tables (lessons and tests clean up after themselves)."""
    with postgres.connect(autocommit=True) as conn:
        conn.execute(sql.SQL("DROP VIEW IF EXISTS {}").format(sql.Identifier(tables.serving)))
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}, {}, {}").format(
            *(sql.Identifier(getattr(tables, name)) for name in ("batch", "speed", "cutoff"))))


def publish_batch_view(spark, view_path: str, day: date, tables: LambdaTables) -> int:
    """Copy one date of the batch view into PostgreSQL and move the cutoff, in one transaction.

    Rerunning a date replaces it (delete + copy), so publishing is idempotent; readers of
    the serving view see the old date or the new one, never a half-copied date.
    """
    from pyspark.sql import functions as F

    rows = [tuple(r) for r in spark.read.format("delta").load(view_path).where(F.col("date") == F.lit(day))
            .select("date", "user_id", "event_type", "event_count", "revenue_cents", "last_event").collect()]
    cutoff = datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC)
    batch, cut = sql.Identifier(tables.batch), sql.Identifier(tables.cutoff)
    with postgres.connect() as conn, conn.transaction():
        conn.execute(sql.SQL("DELETE FROM {} WHERE date = %s").format(batch), (day,))
        with conn.cursor().copy(sql.SQL("COPY {} (date, user_id, event_type, event_count, revenue_cents, "
                                        "last_event) FROM STDIN").format(batch)) as copy:
            for row in rows:
                copy.write_row(row)
        conn.execute(sql.SQL("UPDATE {} SET cutoff = greatest(cutoff, %s)").format(cut), (cutoff,))
    return len(rows)


# --- speed layer (Structured Streaming -> PostgreSQL) ---------------------------------------

def speed_view_query(spark, topic: str):
    """Kafka -> parsed events -> watermark -> one-minute window aggregates (update mode)."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    schema = T.StructType([T.StructField(n, T.StringType()) for n in ("event_id", "user_id", "event_type", "timestamp")]
                          + [T.StructField("revenue", T.DoubleType())])
    raw = (spark.readStream.format("kafka").option("kafka.bootstrap.servers", get_settings().kafka_bootstrap_servers)
           .option("subscribe", topic).option("startingOffsets", "earliest").load())
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
    if not query.awaitTermination(bound_s):  # availableNow stops by itself; this is a safety net
        query.stop()
        raise TimeoutError(f"the speed layer did not catch up within {bound_s} s")
    if query.exception():
        raise query.exception()
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


# --- serving layer ---------------------------------------------------------------------------

def serving_answer(tables: LambdaTables,
                   strict_speed_bound: bool = False) -> dict[tuple[str, str], tuple[int, int, datetime]]:
    """The merged view as a dict like :func:`recompute`.

    ``strict_speed_bound=True`` uses ``window_start > cutoff`` instead of ``>=`` — the
    off-by-one that loses the first minute after the cutoff (shown in the lesson).
    """
    if strict_speed_bound:
        query = sql.SQL("""
            SELECT user_id, event_type, sum(event_count), sum(revenue_cents), max(last_event) FROM (
                SELECT user_id, event_type, event_count, revenue_cents, last_event FROM {batch}
                WHERE date < (SELECT cutoff FROM {cutoff})
                UNION ALL
                SELECT user_id, event_type, event_count, revenue_cents, last_event FROM {speed}
                WHERE window_start > (SELECT cutoff FROM {cutoff})) m
            GROUP BY user_id, event_type""").format(batch=sql.Identifier(tables.batch),
                                                    speed=sql.Identifier(tables.speed),
                                                    cutoff=sql.Identifier(tables.cutoff))
    else:
        query = sql.SQL("SELECT user_id, event_type, event_count, revenue_cents, last_event FROM {}").format(
            sql.Identifier(tables.serving))
    with postgres.connect() as conn:
        return {(u, t): (int(c), int(r), last) for u, t, c, r, last in conn.execute(query)}


def speed_view_totals(tables: LambdaTables) -> tuple[int, int]:
    """(events, revenue cents) in the real-time view, over all its windows."""
    with postgres.connect() as conn:
        events, revenue = postgres.one_row(conn.execute(sql.SQL(
            "SELECT coalesce(sum(event_count), 0), coalesce(sum(revenue_cents), 0) FROM {}").format(
            sql.Identifier(tables.speed))))
        return int(events), int(revenue)


def set_cutoff(tables: LambdaTables, cutoff: datetime) -> None:
    with postgres.connect() as conn:
        conn.execute(sql.SQL("UPDATE {} SET cutoff = %s").format(sql.Identifier(tables.cutoff)), (cutoff,))


def current_cutoff(tables: LambdaTables) -> datetime:
    with postgres.connect() as conn:
        return postgres.one_row(conn.execute(sql.SQL("SELECT cutoff FROM {}").format(sql.Identifier(tables.cutoff))))[0]


def diff(expected: dict, actual: dict) -> list[dict]:
    """Rows that differ between two answers (empty when they agree exactly)."""
    rows = []
    for key in sorted(expected.keys() | actual.keys()):
        if expected.get(key) != actual.get(key):
            rows.append({"user_id": key[0], "event_type": key[1], "expected": expected.get(key),
                         "actual": actual.get(key)})
    return rows


# --- a simulated day -------------------------------------------------------------------------

@dataclass(frozen=True)
class LambdaPaths:
    master: str
    batch_view: str
    speed_checkpoint: str


def newest_speed_event(tables: LambdaTables) -> datetime | None:
    with postgres.connect() as conn:
        query = sql.SQL("SELECT max(last_event) FROM {}").format(sql.Identifier(tables.speed))
        return postgres.one_row(conn.execute(query))[0]


def simulate_day(spark, events: list[dict], topic: str, tables: LambdaTables, paths: LambdaPaths,
                 step_hours: list[float], batch_after_hours: float, day: date,
                 produce: Callable[[str, list[dict]], int], late: list[dict] | None = None,
                 late_arrival_hours: float | None = None) -> list[dict]:
    """Replay ``events`` as a day of arrivals and check the serving view at every step.

    At each step (hours after ``day`` 00:00 UTC) the events that have "happened" are appended
    to the master dataset and sent to Kafka, the speed layer catches up, and — at the first
    step at or after ``batch_after_hours`` — the batch layer processes ``day`` and moves the
    cutoff. ``late`` events (times long past) arrive at the first step at or after
    ``late_arrival_hours``, into the master dataset and Kafka like the others. Each step
    records the serving view against a recomputation of everything that has arrived
    (``diff_rows``; ``missing_events``/``missing_cents``: what the view lacks) and of the
    on-time arrivals only (``diff_rows_on_time``), and each layer's staleness.
    """
    import time as clock

    late = list(late or [])
    start = datetime.combine(day, time.min, tzinfo=UTC)
    set_cutoff(tables, start)  # the batch layer has covered every earlier day (there are no earlier events)
    sent, late_sent, batch_done, records = 0, 0, False, []
    for hours in step_hours:
        now = start + timedelta(hours=hours)
        arrived = [e for e in events[sent:] if parse_ts(e["timestamp"]) < now]
        sent += len(arrived)
        if late and not late_sent and late_arrival_hours is not None and hours >= late_arrival_hours:
            arrived, late_sent = arrived + late, len(late)
        if arrived:
            append_to_master(spark, arrived, paths.master)
            produce(topic, arrived)
        began = clock.perf_counter()
        speed = run_speed_layer(spark, topic, paths.speed_checkpoint, tables)
        speed_s = clock.perf_counter() - began
        batch_s = None
        if not batch_done and hours >= batch_after_hours:
            began = clock.perf_counter()
            batch_daily_view(spark, paths.master, day, paths.batch_view)
            publish_batch_view(spark, paths.batch_view, day, tables)
            batch_s, batch_done = clock.perf_counter() - began, True
        newest = newest_speed_event(tables)
        cutoff = current_cutoff(tables)
        on_time = recompute(events[:sent])
        truth = recompute(events[:sent] + late[:late_sent])
        served = serving_answer(tables)
        records.append({
            "hours": hours, "now": now, "events_so_far": sent, "late_so_far": late_sent,
            "speed_rows_in": speed["input_rows"], "speed_batches": speed["batches"],
            "watermark": speed["watermark"], "dropped_by_watermark": speed["dropped_by_watermark"],
            "cutoff": cutoff, "batch_staleness_h": (now - cutoff).total_seconds() / 3600,
            # How far the speed view trails what has arrived: its missing tail plus its run time.
            "speed_staleness_s": (parse_ts(events[sent - 1]["timestamp"]) - newest).total_seconds() + speed_s
            if newest and sent else None,
            "speed_run_s": speed_s, "batch_run_s": batch_s,
            "diff_rows": len(diff(truth, served)),
            "diff_rows_on_time": len(diff(on_time, served)),
            "missing_events": sum(v[0] for v in truth.values()) - sum(v[0] for v in served.values()),
            "missing_cents": sum(v[1] for v in truth.values()) - sum(v[1] for v in served.values()),
        })
    return records
