"""The capstone's daily side, run by Airflow (``dags/capstone_daily.py``) while the stream keeps running.

* the barrier before the close is :mod:`.barrier` (no Spark there: the DAG's first two tasks stay light);
* :func:`close_day` — the daily gold job: one day's gold recomputed in batch from silver (the orders replica
  pinned to the version it found; payments at their newest, they only grow), written to the
  ``<serving>_daily_close`` table in one transaction (delete the day, insert its rows). A killed try leaves the
  table as it was (its transaction never commits); its retry writes the same day again.
* :func:`compact` — ``OPTIMIZE`` of bronze, the table the stream appends a few files to on every batch.
  Compaction commits with ``dataChange = false`` and conflicts with no blind append, so it runs beside the stream.
* :func:`vacuum` — ``VACUUM`` behind a guard: the retention is refused below :data:`MIN_RETENTION_HOURS`
  (Delta's default ``deletedFileRetentionDuration``, and Delta's own ``retentionDurationCheck`` stays on).
  A shorter retention deletes files a reader may still need: a batch of the running stream, or the daily
  close, reads the snapshot it started with; lesson 17's Pitfall shows such a read failing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from delta.tables import DeltaTable
from pyspark.sql import SparkSession

from pipeline_patterns import postgres
from pipeline_patterns.capstone import serving
from pipeline_patterns.capstone.gold import gold_rows
from pipeline_patterns.capstone.pipeline import DRIVER_CONF
from pipeline_patterns.ingestion.cdc_replica import Replica
from pipeline_patterns.ingestion.cdc_source import KEYS

TABLES = ("bronze", "payments", "gold", "silver/orders", "silver/customers")
MIN_RETENTION_HOURS = 168.0  # Delta's default delta.deletedFileRetentionDuration (7 days)


class UnsafeRetention(ValueError):
    """A VACUUM retention that could delete files a running reader still needs."""


@dataclass(frozen=True)
class DayClose:
    day: date
    rows: int
    revenue: str            # the day's total, as text (exact decimal)
    silver_version: int     # the orders replica's Delta version the close read


def close_day(spark: SparkSession, lake: Path, schema: str, serving_table: str, day: date,
              hold: Callable[[], None] | None = None) -> DayClose:
    """Recompute ``day``'s gold from silver and replace it in the daily close table, in one transaction.

    ``hold`` (lesson 17's kill window) is called between the DELETE and the INSERT, inside the transaction.
    """
    replica = Replica(spark, lake / "silver", {t: KEYS[t] for t in ("customers", "orders")}, schema)
    version = int(DeltaTable.forPath(spark, replica.path("orders")).history(1).collect()[0]["version"])
    rows = gold_rows(replica.rows("orders", version), spark.read.format("delta").load(str(lake / "payments")), [day])
    table = serving.close_table(serving_table)
    with postgres.connect() as conn:
        serving.ensure_gold_table(conn, table)
        conn.commit()
        with conn.transaction():
            serving.replace_days(conn, table, [day], rows, version, before_insert=hold)
    return DayClose(day, len(rows), str(sum((r[3] for r in rows), start=0)), version)


def data_files(spark: SparkSession, path: str) -> int:
    """How many data files the table's current version has."""
    return int(DeltaTable.forPath(spark, path).detail().collect()[0]["numFiles"])


def compact(spark: SparkSession, path: str) -> dict:
    """``OPTIMIZE`` (bin-packing) of one table: its data files before and after."""
    before = data_files(spark, path)
    DeltaTable.forPath(spark, path).optimize().executeCompaction()
    return {"table": Path(path).name, "files_before": before, "files_after": data_files(spark, path)}


def check_retention(hours: float) -> float:
    """``hours`` if VACUUM may use it; :class:`UnsafeRetention` (what was asked, what is safe, why) if not."""
    if not hours >= MIN_RETENTION_HOURS:
        raise UnsafeRetention(
            f"expected a VACUUM retention of at least {MIN_RETENTION_HOURS:g} hours, found {hours:g}: a shorter one "
            "deletes files that a running reader may still need (a micro-batch of the capstone stream or the daily "
            "close reads the snapshot it started with, and fails with a missing file). Keep the default, or raise "
            "delta.deletedFileRetentionDuration and this floor together after measuring your longest reader.")
    return hours


def vacuum(spark: SparkSession, path: str, retention_hours: float = MIN_RETENTION_HOURS) -> dict:
    """``VACUUM`` one table behind :func:`check_retention`: the files it deleted (0 while every removed file is
    younger than the retention)."""
    hours = check_retention(retention_hours)
    spark.conf.set("spark.databricks.delta.retentionDurationCheck.enabled", "true")
    before = _files_on_disk(path)
    DeltaTable.forPath(spark, path).vacuum(hours)
    return {"table": Path(path).name, "retention_hours": hours, "deleted": len(before - _files_on_disk(path))}


def _files_on_disk(path: str) -> set[Path]:
    """The table's data files on disk (a running writer may add some meanwhile: compare sets, not counts)."""
    return {f for f in Path(path).rglob("*.parquet") if "_delta_log" not in f.parts}


def maintain(spark: SparkSession, lake: Path, retention_hours: float = MIN_RETENTION_HOURS) -> dict:
    """The nightly upkeep: bronze compacted, then every table of the capstone vacuumed behind the guard."""
    check_retention(retention_hours)  # refused before anything is touched
    compacted = compact(spark, str(lake / "bronze"))
    vacuumed = [vacuum(spark, str(lake / name), retention_hours) for name in TABLES if (lake / name).is_dir()]
    return {"compacted": compacted, "vacuumed": vacuumed}


@contextmanager
def lake_session(app: str, lake: str) -> Iterator[tuple[SparkSession, Path]]:
    """A local Spark session for one task over the capstone lake at ``lake`` (checked first), stopped after."""
    from pipeline_patterns.spark import SMALL_TABLES_CONF, get_spark

    root = Path(lake)
    if not (root / "silver" / "orders" / "_delta_log").is_dir():
        raise FileNotFoundError(f"expected the capstone's lake at {lake!r} (with silver/orders as a Delta table), "
                                "found none: pass the running pipeline's lake folder as the run's conf 'lake'")
    spark = get_spark(app, conf={**SMALL_TABLES_CONF, **DRIVER_CONF})
    try:
        yield spark, root
    finally:
        spark.stop()
