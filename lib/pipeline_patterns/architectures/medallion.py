"""Medallion architecture on Delta Lake: bronze -> silver -> gold, incremental and idempotent.

* **Bronze** — raw JSON files appended as they arrived, every value kept as a string
  (``primitivesAsString``: a malformed value never fails ingestion or forks a column's
  type), plus ``_ingested_at`` and ``_source_file``. Append-only; ``mergeSchema`` lets a
  new column arrive in a later file; Change Data Feed on (``delta.enableChangeDataFeed``);
  ``delta.appendOnly`` makes Delta refuse any update or delete.
  Guarantee: :func:`ingest_new_files` ingests each landed file once (a rerun with no new
  file commits nothing); an explicit re-delivery (:func:`ingest_files`) is recorded
  again — bronze is the record of what arrived.
* **Silver** — reads only the bronze versions after the last one it processed
  (``readChangeFeed`` from ``startingVersion``; the version is kept in a JSON state file
  in the lake). Rows breaking a rule of :mod:`.medallion_rules` go to quarantine with
  their reason — never dropped. Valid rows are deduped by key (latest ``_ingested_at``
  wins, then ``_source_file``; a window with ``row_number``) and MERGEd; a matched row is
  updated only by a newer copy with a different payload. Guarantee: every bronze row is
  in silver (as its key's winner), in quarantine, or counted as a duplicate removed;
  rerunning with no new bronze version commits nothing; re-delivering a file changes no
  silver row. After a crash between the writes and the state file, the rerun repeats a
  MERGE that changes nothing and Delta skips the repeated quarantine append
  (``txnAppId``/``txnVersion``).
* **Gold** — aggregates partitioned by date (events) or month (flights). Only partitions
  touched by silver's own change feed since the last gold run are recomputed, and only
  they are replaced, with ``replaceWhere``. Not dynamic partition overwrite: it replaces
  only partitions present in the new data, so a partition whose rows all moved away would
  keep stale rows; ``replaceWhere`` names what is replaced and Delta checks every written
  row against it. (The guide's plain ``mode("overwrite")`` replaces every partition.)

Assumes one writer per table. Breaks if an *older* file is re-delivered after a newer
one: its copies become the latest ingestion and win (prefer a source-side version
column where the source has one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import unquote, urlparse

from delta.tables import DeltaTable
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from pipeline_patterns.architectures import medallion_rules as rules

CDF = "delta.enableChangeDataFeed"
SMALL_TABLES_CONF = {  # lesson-sized tables on 2 cores: Delta rebuilds a snapshot with 50 tasks by default
    "spark.databricks.delta.snapshotPartitions": "2",
    "spark.sql.shuffle.partitions": "2",
}


# --- what differs between datasets ---------------------------------------------------------

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


@dataclass(frozen=True)
class Lake:
    """Where one medallion deployment keeps its files and tables."""

    root: Path

    def landing(self, ds: DatasetSpec) -> Path:
        return self.root / "landing" / ds.name

    def table(self, layer: str, ds: DatasetSpec) -> str:
        return str(self.root / layer / ds.name)

    @property
    def state_file(self) -> Path:
        return self.root / "_state" / "processed_versions.json"


def table_version(spark: SparkSession, path: str) -> int | None:
    """The table's latest version, None when there is no table yet."""
    if not DeltaTable.isDeltaTable(spark, path):
        return None
    return DeltaTable.forPath(spark, path).history(1).first()["version"]


def read_changes(spark: SparkSession, path: str, first: int, last: int) -> DataFrame:
    """Rows changed in versions ``first..last`` — with ``_change_type``, ``_commit_version``."""
    return (spark.read.format("delta").option("readChangeFeed", "true")
            .option("startingVersion", first).option("endingVersion", last).load(path))


# --- bronze -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BronzeRun:
    dataset: str
    files: tuple[str, ...]
    rows: int
    version: int | None  # the commit, None when there was nothing to ingest


def ingest_files(spark: SparkSession, files: list[Path], bronze: str, dataset: str = "") -> BronzeRun:
    """Append ``files`` as one batch (one ``_ingested_at``), even if bronze already has them."""
    created = DeltaTable.isDeltaTable(spark, bronze)
    raw = spark.read.option("primitivesAsString", "true").json([str(f) for f in files])
    rows = (raw.withColumn("_ingested_at", F.current_timestamp())
            .withColumn("_source_file", F.col("_metadata.file_path")))
    writer = rows.write.format("delta").mode("append").option("mergeSchema", "true")
    if not created:  # table properties, set when the table is created
        writer = writer.option(CDF, "true").option("delta.appendOnly", "true")
    writer.save(bronze)
    commit = DeltaTable.forPath(spark, bronze).history(1).first()
    return BronzeRun(dataset, tuple(f.name for f in files), int(commit["operationMetrics"]["numOutputRows"]),
                     commit["version"])


def ingested_files(spark: SparkSession, bronze: str) -> set[Path]:
    if not DeltaTable.isDeltaTable(spark, bronze):
        return set()
    uris = spark.read.format("delta").load(bronze).select("_source_file").distinct().collect()
    return {Path(unquote(urlparse(row[0]).path)).resolve() for row in uris}


def ingest_new_files(spark: SparkSession, lake: Lake, ds: DatasetSpec) -> BronzeRun:
    """Ingest the landed files bronze has not seen; with none, commit nothing."""
    bronze = lake.table("bronze", ds)
    seen = ingested_files(spark, bronze)
    new = [f for f in sorted(lake.landing(ds).glob("*.json")) if f.resolve() not in seen]
    if not new:
        return BronzeRun(ds.name, (), 0, None)
    return ingest_files(spark, new, bronze, ds.name)


# --- silver -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SilverRun:
    dataset: str
    bronze_versions: tuple[int, int] | None  # first..last read from the change feed; None: nothing new
    rows: int = 0
    rejected: int = 0
    inserted: int = 0
    updated: int = 0
    duplicates_removed: int = 0  # valid rows that did not add a silver row
    version: int | None = None  # silver's version after the run


def with_reasons(df: DataFrame, rule_set: tuple[rules.Rule, ...]) -> DataFrame:
    """Adds ``reasons`` (every broken rule, in order) and ``reason`` (the first; null if valid)."""
    broken = [F.when(rule.fails_col(), F.lit(rule.name)) for rule in rule_set]
    return df.withColumn("reasons", F.array_compact(F.array(*broken))).withColumn("reason", F.coalesce(*broken))


def is_newer(s: Callable[[str], Column], t: Callable[[str], Column]) -> Column:
    """The dedupe order: later ``_ingested_at``, then greater ``_source_file``."""
    return (s("_ingested_at") > t("_ingested_at")) | (
        (s("_ingested_at") == t("_ingested_at")) & (s("_source_file") > t("_source_file")))


def keep_latest(df: DataFrame, key: str) -> DataFrame:
    """One row per ``key``: latest ``_ingested_at``, then ``_source_file``, then ``_row_hash``."""
    order = Window.partitionBy(key).orderBy(F.col("_ingested_at").desc(), F.col("_source_file").desc(),
                                            F.col("_row_hash").desc())
    return df.withColumn("_rank", F.row_number().over(order)).filter(F.col("_rank") == 1).drop("_rank")


def row_hash(columns: list[str]) -> Column:
    return F.sha2(F.to_json(F.struct(*columns)), 256)


def standardize(valid: DataFrame, ds: DatasetSpec) -> DataFrame:
    typed = valid.select(*ds.columns(valid), "_ingested_at", "_source_file",
                         F.col("_commit_version").alias("_bronze_version"))
    return typed.withColumn("_row_hash", row_hash([c for c in typed.columns if not c.startswith("_")]))


def changes_to_apply(candidates: DataFrame, silver: DataFrame, key: str) -> DataFrame:
    """Candidates that are new keys, or newer copies with a different payload (``_is_new`` flags the first)."""
    target = silver.select(key, *(F.col(c).alias(f"_t{c}") for c in ("_ingested_at", "_source_file", "_row_hash")))
    joined = candidates.join(target, key, "left")
    is_new = F.col("_t_row_hash").isNull()
    changed = is_newer(F.col, lambda c: F.col(f"_t{c}")) & (F.col("_row_hash") != F.col("_t_row_hash"))
    return joined.filter(is_new | changed).select(*candidates.columns, is_new.alias("_is_new"))


def merge_into_silver(spark: SparkSession, source: DataFrame, silver: str, key: str) -> None:
    def s(c: str) -> Column:
        return F.col(f"s.{c}")

    def t(c: str) -> Column:
        return F.col(f"t.{c}")

    (DeltaTable.forPath(spark, silver).alias("t")
     .merge(source.alias("s"), t(key) == s(key))
     .whenMatchedUpdateAll(condition=is_newer(s, t) & (s("_row_hash") != t("_row_hash")))
     .whenNotMatchedInsertAll()
     .execute())


def bronze_to_silver(spark: SparkSession, lake: Lake, ds: DatasetSpec) -> SilverRun:
    """Validate, quarantine, dedupe and MERGE the bronze versions not processed yet."""
    consumer = f"silver_{ds.name}"
    bronze, silver, quarantine = (lake.table(layer, ds) for layer in ("bronze", "silver", "quarantine"))
    last, latest = rules.read_state(lake.state_file, consumer), table_version(spark, bronze)
    if latest is None or latest <= last:
        return SilverRun(ds.name, None, version=table_version(spark, silver))  # nothing new: no commit
    changes = read_changes(spark, bronze, last + 1, latest).filter(F.col("_change_type") == "insert")
    checked = with_reasons(changes.drop("_change_type", "_commit_timestamp"), ds.rules).cache()
    counts = checked.agg(F.count("*").alias("rows"), F.count("reason").alias("rejected")).first()
    candidates = keep_latest(standardize(checked.filter(F.col("reason").isNull()), ds), ds.key)
    if not DeltaTable.isDeltaTable(spark, silver):  # empty, with its schema and CDF for gold
        candidates.limit(0).write.format("delta").option(CDF, "true").save(silver)
    plan = changes_to_apply(candidates, spark.read.format("delta").load(silver), ds.key).cache()
    applied = plan.agg(F.count("*").alias("rows"), F.count(F.when(F.col("_is_new"), 1)).alias("new")).first()
    if applied["rows"]:
        merge_into_silver(spark, plan.drop("_is_new"), silver, ds.key)
    if counts["rejected"]:
        (checked.filter(F.col("reason").isNotNull()).withColumnRenamed("_commit_version", "_bronze_version")
         .write.format("delta").mode("append").option("mergeSchema", "true")
         .option("txnAppId", consumer).option("txnVersion", latest)  # a repeated append is skipped
         .save(quarantine))
    rules.write_state(lake.state_file, consumer, latest)
    plan.unpersist()
    checked.unpersist()
    valid = counts["rows"] - counts["rejected"]
    return SilverRun(ds.name, (last + 1, latest), counts["rows"], counts["rejected"], applied["new"],
                     applied["rows"] - applied["new"], valid - applied["new"], table_version(spark, silver))


# --- gold ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class GoldRun:
    dataset: str
    affected: tuple[str, ...]  # partitions recomputed and replaced
    version: int | None


def sql_literal(value: date | str) -> str:
    """A typed partition value as a SQL literal (``replaceWhere`` takes only a SQL string)."""
    if isinstance(value, date):
        return f"DATE'{value.isoformat()}'"
    return "'" + str(value).replace("'", "''") + "'"


def silver_to_gold(spark: SparkSession, lake: Lake, ds: DatasetSpec) -> GoldRun:
    """Recompute the gold partitions silver changed since the last run; replace only those."""
    consumer = f"gold_{ds.name}"
    silver, gold = lake.table("silver", ds), lake.table("gold", ds)
    last, latest = rules.read_state(lake.state_file, consumer), table_version(spark, silver)
    if latest is None or latest <= last:
        return GoldRun(ds.name, (), table_version(spark, gold))
    touched = read_changes(spark, silver, last + 1, latest).select(ds.partition).distinct().collect()
    affected = sorted(row[0] for row in touched if row[0] is not None)
    if affected:
        fresh = ds.aggregate(spark.read.format("delta").load(silver).filter(F.col(ds.partition).isin(affected)))
        writer = fresh.write.format("delta").partitionBy(ds.partition)
        if DeltaTable.isDeltaTable(spark, gold):
            predicate = f"{ds.partition} IN ({', '.join(sql_literal(v) for v in affected)})"
            writer = writer.mode("overwrite").option("replaceWhere", predicate)
        writer.save(gold)
    rules.write_state(lake.state_file, consumer, latest)
    return GoldRun(ds.name, tuple(str(v) for v in affected), table_version(spark, gold))


def run_stages(spark: SparkSession, lake: Lake, ds: DatasetSpec) -> tuple[BronzeRun, SilverRun, GoldRun]:
    """Bronze, silver and gold for one dataset, in order, each from where it left off."""
    return ingest_new_files(spark, lake, ds), bronze_to_silver(spark, lake, ds), silver_to_gold(spark, lake, ds)
