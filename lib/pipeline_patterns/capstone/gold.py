"""Gold of the capstone: revenue per customer and day, paid vs unpaid orders, from silver.

The stream recomputes the days a micro-batch touched (:mod:`.pipeline`); the daily close recomputes one day from
silver pinned to a version (:mod:`.maintenance`). Both call :func:`gold_rows`, so they cannot disagree on what
gold is.
"""

from __future__ import annotations

from datetime import date

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from pipeline_patterns.capstone import serving

GOLD_DDL = ("customer_id int, day date, orders int, revenue decimal(14,2), paid_orders int, "
            "paid_amount decimal(14,2), unpaid_orders int")


def gold_rows(orders: DataFrame, payments: DataFrame, days: list[date]) -> list[serving.GoldRow]:
    """Revenue and paid vs unpaid orders per customer and day, for ``days``, from the orders replica and the
    payments table (a dead-lettered payment pays nothing). The stream and the daily close both compute gold here."""
    orders = (orders.select(F.col("id").cast("bigint").alias("order_id"), F.col("customer_id").cast("int"),
                            F.col("total").cast("decimal(14,2)").alias("total"),
                            F.substring("ordered_at", 1, 10).cast("date").alias("day"))
              .filter(F.col("day").isin(days)))
    paid = payments.filter(~F.col("dead")).groupBy("order_id").agg(F.sum("amount").alias("paid"))
    gold = (orders.join(paid, "order_id", "left").groupBy("customer_id", "day")
            .agg(F.count("*").cast("int").alias("orders"), F.sum("total").cast("decimal(14,2)").alias("revenue"),
                 F.count("paid").cast("int").alias("paid_orders"),
                 F.coalesce(F.sum("paid"), F.lit(0)).cast("decimal(14,2)").alias("paid_amount"))
            .withColumn("unpaid_orders", (F.col("orders") - F.col("paid_orders")).cast("int")))
    return [(int(r[0]), r[1], int(r[2]), r[3], int(r[4]), r[5], int(r[6])) for r in gold.collect()]
