"""What differs between the medallion lesson's datasets: silver's typed columns, gold's aggregate.

A :class:`DatasetSpec` names a dataset's key, its rules (:mod:`.rules`), how silver types
bronze's strings, how gold aggregates silver and gold's partition column. The stages are
the same for every dataset.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from pipeline_patterns.architectures.medallion import rules


def _optional(df: DataFrame, name: str) -> Column:
    return F.col(name) if name in df.columns else F.lit(None).cast("string")


def event_columns(df: DataFrame) -> list[Column]:
    """Silver's typed event columns from bronze's strings (``device`` arrived later)."""
    ts = rules.event_ts_col()
    return [F.col("event_id"), F.col("user_id"), F.col("session_id"), F.col("event_type"),
            rules.revenue_col().alias("revenue"), ts.alias("event_ts"), F.to_date(ts).alias("event_date"),
            _optional(df, "device").alias("device")]


def flight_columns(df: DataFrame) -> list[Column]:
    day = rules.flight_date_col()
    flight, sched = F.col("flight").try_cast("int"), F.col("sched_dep_time").try_cast("int")
    key = F.concat_ws("|", day.cast("string"), F.col("carrier"), flight.cast("string"), F.col("origin"),
                      sched.cast("string"))
    return [key.alias("flight_key"), day.alias("flight_date"), F.date_format(day, "yyyy-MM").alias("month"),
            F.col("carrier"), flight.alias("flight"), F.col("origin"), F.col("dest"), sched.alias("sched_dep_time"),
            rules.dep_delay_col().alias("dep_delay"), F.col("arr_delay").try_cast("double").alias("arr_delay"),
            F.col("distance").try_cast("int").alias("distance")]


def daily_user_metrics(silver: DataFrame) -> DataFrame:
    """The guide's gold table: per user and day, events, sessions, purchase revenue, last activity."""
    purchase = F.when(F.col("event_type") == "purchase", F.col("revenue")).otherwise(0)
    return silver.groupBy("event_date", "user_id").agg(
        F.count("*").alias("total_events"), F.countDistinct("session_id").alias("sessions"),
        F.sum(purchase).alias("revenue"), F.max("event_ts").alias("last_activity"))


def carrier_monthly_on_time(silver: DataFrame) -> DataFrame:
    """Per carrier and month: flights, departures within 15 minutes, their share, mean delay."""
    on_time = (F.col("dep_delay") <= rules.ON_TIME_MINUTES).cast("int")
    return silver.groupBy("month", "carrier").agg(
        F.count("*").alias("flights"), F.sum(on_time).alias("on_time_flights"),
        (F.sum(on_time) / F.count("*")).alias("on_time_share"), F.avg("dep_delay").alias("mean_dep_delay"))


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    key: str
    rules: tuple[rules.Rule, ...]
    columns: Callable[[DataFrame], list[Column]]
    aggregate: Callable[[DataFrame], DataFrame]
    partition: str  # of gold (and a silver column)


EVENTS = DatasetSpec("events", "event_id", rules.EVENT_RULES, event_columns, daily_user_metrics, "event_date")
FLIGHTS = DatasetSpec("flights", "flight_key", rules.FLIGHT_RULES, flight_columns, carrier_monthly_on_time, "month")
