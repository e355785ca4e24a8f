"""Lambda's master dataset and batch layer (Spark + Delta), and publishing a date to PostgreSQL.

* The master dataset is a date-partitioned Delta table that is only ever appended to
  (immutable, reprocessable): it keeps every event, late or not.
* The batch layer is the guide's daily aggregation (per user and event type: events,
  revenue cents, last event) over one date.

Guarantee: rerunning a date replaces exactly that date (Delta ``replaceWhere``; PostgreSQL
delete + copy in one transaction), so reruns are idempotent and other dates are untouched.
Publishing a date moves the cutoff in the same transaction: readers of the serving view
see the old date or the new one, never a half-copied date.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from psycopg import sql

from pipeline_patterns import postgres
from pipeline_patterns.architectures.lambda_arch.tables import LambdaTables


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
