"""A Delta replica of captured PostgreSQL tables, fed by Structured Streaming from the change topics.

Each micro-batch (``foreachBatch``) is decoded by :func:`.cdc_events.process_cdc_event`, planned
per table by :func:`.cdc_plan.plan_table` (the latest change per key, the latest truncate) and
MERGEd into that table's Delta table: a row changes only when the change's position (LSN) is
newer than the row's; a delete marks the row ``_deleted`` and keeps its position; an unchanged
TOAST column keeps the replica's value; a column added at the source is added to the replica
(``ALTER TABLE ... ADD COLUMNS``) before the MERGE. The tables of a batch are independent, so
their MERGEs run side by side (a thread each): on two cores most of a small MERGE is the driver
planning it.

Guarantee: after every change up to a point has been applied, :meth:`Replica.rows` equals
the source tables at that point, whatever was delivered twice (Debezium is at-least-once)
and however the changes were cut into batches. With ``position_rule=False`` (the
counterfactual the lesson runs) changes are applied in arrival order and a replay can
bring back old values.

A batch is decoded on the driver (``collect``): the change topics of a lesson-sized shop
fit; a bigger source would parse the JSON in Spark with the table's schema instead.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from pipeline_patterns.ingestion.cdc_events import process_cdc_event
from pipeline_patterns.ingestion.cdc_plan import TablePlan, naive_rows, plan_table
from pipeline_patterns.spark import await_bounded, kafka_stream

SPARK_TYPES = {"int8": "int", "int16": "int", "int32": "int", "int64": "bigint", "float32": "float",
               "float64": "double", "boolean": "boolean", "string": "string", "bytes": "binary"}
META_DDL = "_lsn bigint, _deleted boolean, _source_ts_ms bigint"


def spark_type(connect_type: str) -> str:
    """Spark SQL type of a Kafka Connect type; Debezium's logical types sent as strings stay strings."""
    return SPARK_TYPES.get(connect_type, "string")


@dataclass(frozen=True)
class BatchStats:
    batch_id: int
    events: int
    actions: dict[str, int]
    lag_ms: tuple[int, ...]  # per change: applied - committed at the source (source.ts_ms)


@dataclass
class Replica:
    spark: SparkSession
    root: Path
    keys: dict[str, tuple[str, ...]]  # table -> primary key columns
    schema: str
    position_rule: bool = True
    batches: list[BatchStats] = field(default_factory=list)
    _columns: dict[str, set[str]] = field(default_factory=dict)  # table -> its Delta columns, kept between batches

    def path(self, table: str) -> str:
        return str(self.root / table)

    def apply(self, records: list[tuple[str | None, str | None, int]], batch_id: int = -1) -> BatchStats:
        """Apply decoded records ((key JSON, value JSON, topic offset)) to every table they touch."""
        decoded = [(process_cdc_event(json.loads(v) if v else None, json.loads(k) if k else None), o)
                   for k, v, o in records]
        actions: dict[str, int] = {}
        for change, _ in decoded:
            actions[change.action] = actions.get(change.action, 0) + 1
        planner = plan_table if self.position_rule else naive_rows
        plans = {table: planner(f"{self.schema}.{table}", keys, decoded) for table, keys in self.keys.items()}
        touched = [table for table, plan in plans.items() if plan.changes]
        with ThreadPoolExecutor(max_workers=max(1, len(touched)), thread_name_prefix="replica") as pool:
            futures = [pool.submit(self._apply, table, self.keys[table], plans[table]) for table in touched]
        for future in futures:  # the tables are independent: their MERGEs run side by side; errors surface here
            future.result()
        now_ms = int(time.time() * 1000)
        lag = tuple(now_ms - c.source_ts_ms for c, _ in decoded if c.source_ts_ms is not None and c.table)
        stats = BatchStats(batch_id, len(records), actions, lag)
        self.batches.append(stats)
        return stats

    def _ensure_table(self, table: str, plan: TablePlan) -> None:
        path = self.path(table)
        columns = ", ".join(f"`{c}` {spark_type(t)}" for c, t in plan.columns.items())
        if table not in self._columns:
            if not DeltaTable.isDeltaTable(self.spark, path):
                self.spark.createDataFrame([], f"{columns}, {META_DDL}").write.format("delta").save(path)
            self._columns[table] = set(self.spark.read.format("delta").load(path).columns)
        added = [c for c in plan.columns if c not in self._columns[table]]
        if added:  # a column added at the source (ALTER TABLE ... ADD COLUMN)
            ddl = ", ".join(f"`{c}` {spark_type(plan.columns[c])}" for c in added)
            self.spark.sql(f"ALTER TABLE delta.`{path}` ADD COLUMNS ({ddl})")
            self._columns[table].update(added)

    def _apply(self, table: str, keys: tuple[str, ...], plan: TablePlan) -> None:
        self._ensure_table(table, plan)
        target = DeltaTable.forPath(self.spark, self.path(table))
        if plan.truncate_at is not None:
            if self.position_rule:  # rows older than the truncate: deleted, at the truncate's position
                target.update(F.col("_lsn") < plan.truncate_at,
                              {"_deleted": F.lit(True), "_lsn": F.lit(plan.truncate_at)})
            else:
                target.delete()
        if not plan.rows:
            return
        data = list(plan.columns)
        ddl = ", ".join(f"`{c}` {spark_type(t)}" for c, t in plan.columns.items())
        rows = [(*(r.get(c) for c in data), r["_lsn"], r["_deleted"], r["_unavailable"], r["_source_ts_ms"])
                for r in plan.rows]
        source = self.spark.createDataFrame(rows, f"{ddl}, _lsn bigint, _deleted boolean, "
                                                  "_unavailable array<string>, _source_ts_ms bigint")
        on = " AND ".join(f"t.`{k}` = s.`{k}`" for k in keys)
        merge = target.alias("t").merge(source.alias("s"), on)
        if self.position_rule:
            kept = {c: F.when(F.array_contains("s._unavailable", c), F.col(f"t.`{c}`")).otherwise(F.col(f"s.`{c}`"))
                    for c in data}
            meta = {m: F.col(f"s.{m}") for m in ("_lsn", "_deleted", "_source_ts_ms")}
            merge = (merge.whenMatchedUpdate("s._lsn > t._lsn", {**kept, **meta})
                     .whenNotMatchedInsert(values={c: F.col(f"s.`{c}`") for c in [*data, *meta]}))
        else:
            every = {c: F.col(f"s.`{c}`") for c in [*data, "_lsn", "_deleted", "_source_ts_ms"]}
            merge = (merge.whenMatchedDelete("s._deleted").whenMatchedUpdate(set=every)
                     .whenNotMatchedInsert("NOT s._deleted", every))
        merge.execute()

    def rows(self, table: str, version: int | None = None) -> DataFrame:
        """The replica of ``table`` as the source has it (at Delta ``version``, default the latest): live rows, no
        bookkeeping columns."""
        reader = self.spark.read.format("delta")
        df = (reader.option("versionAsOf", version) if version is not None else reader).load(self.path(table))
        return df.filter(~F.col("_deleted")).drop("_lsn", "_deleted", "_source_ts_ms")


def replicate(replica: Replica, topics: list[str], checkpoint: str,
              max_offsets_per_trigger: int | None = None) -> list[BatchStats]:
    """Apply everything in ``topics`` not applied yet (``availableNow``); the batches this run applied."""
    first = len(replica.batches)

    def apply_batch(batch: DataFrame, batch_id: int) -> None:
        records = batch.orderBy("topic", "offset").select("key", "value", "offset").collect()
        replica.apply([(r["key"], r["value"], r["offset"]) for r in records], batch_id)

    stream = kafka_stream(replica.spark, ",".join(topics), max_offsets_per_trigger)
    query = (stream.selectExpr("topic", "offset", "CAST(key AS STRING) AS key", "CAST(value AS STRING) AS value")
             .writeStream.foreachBatch(apply_batch).option("checkpointLocation", checkpoint)
             .trigger(availableNow=True).start())
    await_bounded(query, "CDC replica")
    return replica.batches[first:]
