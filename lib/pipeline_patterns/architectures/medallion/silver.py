"""Medallion silver: validated, quarantined, deduped and MERGEd from bronze's change feed.

Reads only the bronze versions after the last one it processed (``readChangeFeed`` from
``startingVersion``; the version is kept in the state file, :mod:`.state`). Rows breaking
a rule of :mod:`.rules` go to quarantine with their reason — never dropped. Valid rows are
deduped by key (latest ``_ingested_at`` wins, then ``_source_file``; a window with
``row_number``) and MERGEd; a matched row is updated only by a newer copy with a
different payload.

Guarantee: every bronze row is in silver (as its key's winner), in quarantine, or counted
as a duplicate removed; rerunning with no new bronze version commits nothing;
re-delivering a file changes no silver row. After a crash between the writes and the
state file, the rerun repeats a MERGE that changes nothing and Delta skips the repeated
quarantine append (``txnAppId``/``txnVersion``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from delta.tables import DeltaTable
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from pipeline_patterns.architectures.medallion import rules, state
from pipeline_patterns.architectures.medallion.datasets import DatasetSpec
from pipeline_patterns.architectures.medallion.lake import CDF, Lake, read_changes, table_version


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
    last, latest = state.read_state(lake.state_file, consumer), table_version(bronze)
    if latest is None or latest <= last:
        return SilverRun(ds.name, None, version=table_version(silver))  # nothing new: no commit
    changes = read_changes(spark, bronze, last + 1, latest).filter(F.col("_change_type") == "insert")
    checked = with_reasons(changes.drop("_change_type", "_commit_timestamp"), ds.rules).cache()
    counts = checked.agg(F.count("*").alias("rows"), F.count("reason").alias("rejected")).first()
    candidates = keep_latest(standardize(checked.filter(F.col("reason").isNull()), ds), ds.key)
    if table_version(silver) is None:  # empty, with its schema and CDF for gold
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
    state.write_state(lake.state_file, consumer, latest)
    plan.unpersist()
    checked.unpersist()
    valid = counts["rows"] - counts["rejected"]
    return SilverRun(ds.name, (last + 1, latest), counts["rows"], counts["rejected"], applied["new"],
                     applied["rows"] - applied["new"], valid - applied["new"], table_version(silver))
