"""Airflow driving the kit's Spark: one day of lesson 15's sales, aggregated by Spark into a Delta table.

Guarantee: rerunning a day replaces exactly that day's partition (Delta ``replaceWhere``), so a cleared and rerun
task leaves the same rows and checksum, one more Delta version, and every other day untouched. The day's sales are
read through JDBC with the interval as a filter Spark pushes down (no SQL text built from the date).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from pipeline_patterns.config import get_settings
from pipeline_patterns.orchestration.sales_source import rows_checksum


def lake_table(schema: str) -> Path:
    """Where the Delta table of one schema's daily revenue lives."""
    return get_settings().lake_path / "orchestration" / schema / "daily_revenue"


def daily_revenue_to_delta(schema: str, day: date) -> dict:
    """Aggregate ``day`` with Spark into the Delta table; its rows, checksum and the Delta version written."""
    from delta.tables import DeltaTable
    from pyspark.sql import functions as F

    from pipeline_patterns.spark import get_spark

    if not re.fullmatch(r"[a-z][a-z0-9_]{0,62}", schema):
        raise ValueError(f"expected a lowercase schema name (letters, digits, _), found {schema!r}")
    settings = get_settings()
    start = datetime.combine(day, time.min, tzinfo=UTC)  # an instant: a naive one would be the worker's local time
    spark = get_spark("airflow-spark-daily-revenue", conf={"spark.ui.enabled": "false"})
    try:
        end = start + timedelta(days=1)
        sales = (spark.read.format("jdbc").option("url", settings.jdbc_url)
                 .option("dbtable", f'"{schema}".sales').options(**settings.jdbc_properties()).load()
                 .where((F.col("created_at") >= F.lit(start)) & (F.col("created_at") < F.lit(end))))
        daily = (sales.groupBy("customer_id")
                 .agg(F.count("*").cast("int").alias("sales"), F.sum("amount_cents").alias("revenue_cents"))
                 .select(F.lit(day).alias("day"), "customer_id", "sales", "revenue_cents"))
        path = str(lake_table(schema))
        (daily.write.format("delta").mode("overwrite").partitionBy("day")
         .option("replaceWhere", f"day = DATE'{day.isoformat()}'").save(path))
        written = [tuple(r) for r in spark.read.format("delta").load(path).where(F.col("day") == F.lit(day)).collect()]
        version = int(DeltaTable.forPath(spark, path).history(1).collect()[0]["version"])
    finally:
        spark.stop()
    return {"day": day.isoformat(), "rows": len(written), "checksum": rows_checksum(written), "version": version}
