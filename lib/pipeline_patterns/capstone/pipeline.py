"""The capstone's micro-batch: bronze, silver, gold and serving from the change topics and the payments topic.

One Structured Streaming query reads the shop's change topics and the payments topic; each micro-batch
(``foreachBatch``), in order:

1. **bronze**: every record appended raw (topic, partition, offset, key, value bytes, Kafka time, batch id,
   ingestion time) to a Delta table with Change Data Feed on. The append carries ``txnAppId``/``txnVersion``, so
   a replayed batch is not appended twice.
2. **silver**: the changes MERGEd into the orders and customers replica by lesson 13's
   :class:`~pipeline_patterns.ingestion.cdc_replica.Replica` (the source-position rule: a replay changes
   nothing); payments validated (:func:`.payments.validate`), the valid ones MERGEd by ``payment_id`` (a resent
   payment is kept once), the invalid ones dead-lettered with their reason and original bytes.
   A payment whose order the replica has never seen is held, not dropped: it may have arrived before its
   order's change. It is dead-lettered (reason ``unknown_order``) once the change topics have delivered a
   change committed ``grace_ms`` after the payment was sent. Assumed: Kafka Connect recovers within
   ``grace_ms`` (a longer outage could dead-letter a payment whose order is late, not unknown).
3. **gold**: revenue per customer and day and paid vs unpaid orders, recomputed for the days the batch
   touched (the days of changed orders, before and after the change, and of orders newly paid) and replaced
   in a Delta table with ``replaceWhere``.
4. **serving**: the same rows published to PostgreSQL by :func:`.serving.publish`: one transaction with the
   batch ledger (a replayed batch is skipped), which also records how far the batch read each topic partition.

Bronze, the replica and the valid payments are independent: written side by side. A batch holds at most
:data:`MAX_RECORDS` records, all collected to the driver.

Guarantee: after every record up to a point has been through a batch, the serving table equals gold computed
from the source and the payments up to that point (:mod:`.reference`), however often the process was killed
(Spark replays an unfinished batch with the same id and offsets, and every step above is idempotent for a
replay); every consumed payment record is in silver or in the dead letter topic (duplicates in the DLQ after a
crash are told apart by their ``source`` header, as in lesson 11).
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from pipeline_patterns import kafka_client
from pipeline_patterns.capstone import serving
from pipeline_patterns.capstone.gold import GOLD_DDL, gold_rows
from pipeline_patterns.capstone.payments import UNKNOWN_ORDER_REASON, validate
from pipeline_patterns.errors.dlq_headers import dlq_headers
from pipeline_patterns.errors.orders import InvalidRecord
from pipeline_patterns.ingestion.cdc_events import process_cdc_event
from pipeline_patterns.ingestion.cdc_replica import Replica
from pipeline_patterns.ingestion.cdc_source import KEYS
from pipeline_patterns.spark import kafka_stream

BRONZE_DDL = ("topic string, partition int, offset bigint, key string, value binary, kafka_ts_ms bigint, "
              "_batch_id bigint, _ingested_at timestamp")
PAYMENTS_DDL = ("payment_id string, order_id bigint, amount decimal(14,2), kafka_ts_ms bigint, source string, "
                "raw binary, dead boolean")
DRIVER_CONF = {"spark.driver.memory": "512m", "spark.driver.defaultJavaOptions": "-Xms64m", "spark.ui.enabled": "false"}
"""The capstone's Spark drivers (the pipeline's process, the daily tasks'): a heap of at most 512 MiB, starting
small (two driver JVMs share a laptop with the stack; without ``-Xms`` a JVM starts at 1/64 of the memory)."""
MAX_RECORDS = 5000
"""Records per micro-batch at most (``maxOffsetsPerTrigger``), so that a batch after a restart stays small."""


class UnknownOrder(InvalidRecord):
    def __init__(self, order_id: int) -> None:
        super().__init__(UNKNOWN_ORDER_REASON, f"order_id {order_id}: no such order in the source (the change "
                                               "topics have moved past the payment and never carried it)")


@dataclass
class Capstone:
    spark: SparkSession
    root: Path                 # the lake folder of this pipeline (bronze, silver, gold)
    schema: str                # the shop's schema (the replica's topic names contain it)
    cdc_topics: list[str]
    payments_topic: str
    dlq_topic: str
    serving_table: str
    grace_ms: int = 3000
    sink: str = ""             # the ledger's name for this pipeline (default: its lake folder)
    replica: Replica = field(init=False)
    batches: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sink = self.sink or str(self.root)
        self.replica = Replica(self.spark, self.root / "silver", {t: KEYS[t] for t in ("customers", "orders")},
                               self.schema)
        serving.ensure_tables(self.serving_table, self.ledger)
        for name, ddl in (("bronze", BRONZE_DDL), ("payments", PAYMENTS_DDL), ("gold", GOLD_DDL)):
            if not DeltaTable.isDeltaTable(self.spark, self.path(name)):
                writer = self.spark.createDataFrame([], ddl).write.format("delta")
                if name == "bronze":
                    writer = writer.option("delta.enableChangeDataFeed", "true").option("delta.appendOnly", "true")
                writer.save(self.path(name))

    @property
    def ledger(self) -> str:
        return f"{self.serving_table}_batches"

    def path(self, name: str) -> str:
        return str(self.root / name)

    # -- one micro-batch ---------------------------------------------------------------------------
    def handle(self, batch: DataFrame, batch_id: int) -> None:
        # sorted on the driver: a Spark orderBy would add a shuffle stage to every batch
        rows = sorted(batch.collect(), key=lambda r: (r["topic"], r["partition"], r["offset"]))
        cdc = [r for r in rows if r["topic"] in self.cdc_topics]
        changes = [process_cdc_event(json.loads(r["value"]) if r["value"] else None,
                                     json.loads(r["key"]) if r["key"] else None) for r in cdc]
        order_table = f"{self.schema}.orders"
        order_changes = [c for c in changes if c.table == order_table]
        # the days before and after each change; the replica is read only for an old row the change did not
        # carry (a table without REPLICA IDENTITY FULL sends only the key of an updated or deleted row)
        without_before = {c.row["id"] for c in order_changes if c.action in ("update", "delete") and c.row
                          and "id" in c.row and not (c.before and c.before.get("ordered_at"))}
        days = {d for c in order_changes for part in (c.row, c.before) if part
                for d in [_day(part.get("ordered_at"))] if d} | self._order_days(without_before)
        source_ts = [c.source_ts_ms for c in changes if c.source_ts_ms is not None and c.table]
        progress = max([*[c.source_ts_ms for c in changes if c.source_ts_ms is not None], self._progress()])
        payment_rows = [r for r in rows if r["topic"] == self.payments_topic]
        # bronze, the replica and the valid payments are three tables, independent within a batch: their writes
        # run side by side (on 2 cores most of a small Delta write is the driver planning it); the unknown orders
        # need the replica and the payments, and gold needs them too; serving waits for everything
        with ThreadPoolExecutor(max_workers=3, thread_name_prefix=f"batch-{batch_id}") as pool:
            bronze = pool.submit(self._bronze, rows, batch_id)
            replica = pool.submit(self.replica.apply, [(r["key"], r["value"].decode() if r["value"] else None,
                                                        r["offset"]) for r in cdc], batch_id)
            paid_orders, poison = self._valid_payments(payment_rows)
            replica.result()
            unknown = pool.submit(self._unknown_payments, progress)
            days |= self._order_days(paid_orders)
            gold = self._gold(sorted(days))  # an unknown order is in no day: gold does not wait for its payment
            dead = poison + unknown.result()
            bronze.result()
        consumed = {f"{r['topic']}:{r['partition']}": r["offset"] + 1 for r in rows}  # sorted: the last is the max
        applied = serving.publish(gold, sorted(days), batch_id, self.serving_table, self.ledger, self.sink,
                                  source_ts, progress, consumed)
        self.batches.append({"batch_id": batch_id, "records": len(rows), "changes": len(cdc), "days": len(days),
                             "dead_lettered": dead, "published": applied})

    def _bronze(self, rows: list, batch_id: int) -> None:
        now = datetime.now(UTC).replace(tzinfo=None)
        data = [(r["topic"], r["partition"], r["offset"], r["key"], bytes(r["value"]) if r["value"] else None,
                 r["kafka_ts_ms"], batch_id, now) for r in rows]
        (self.spark.createDataFrame(data, BRONZE_DDL).write.format("delta").mode("append")
         .option("txnAppId", self.sink).option("txnVersion", batch_id).save(self.path("bronze")))

    def _order_days(self, order_ids: set[int]) -> set[date]:
        if not order_ids or not DeltaTable.isDeltaTable(self.spark, self.replica.path("orders")):
            return set()
        found = (self.spark.read.format("delta").load(self.replica.path("orders"))
                 .filter(F.col("id").isin(sorted(order_ids))).select("ordered_at").collect())
        return {d for r in found if (d := _day(r["ordered_at"]))}

    def _progress(self) -> int:
        """The newest source commit time the pipeline had applied before this batch (0 before the first)."""
        return serving.progress_ms(self.ledger, self.sink)

    def _valid_payments(self, rows: list) -> tuple[set[int], int]:
        """Validate the batch's payment records: MERGE the valid ones, dead-letter the poison.

        Returns the orders whose payments changed in this batch and how many records were dead-lettered.
        """
        valid, dead = [], []
        for r in rows:
            raw = bytes(r["value"]) if r["value"] is not None else None
            source = kafka_client.source_position(r["topic"], r["partition"], r["offset"]).decode()
            try:
                p = validate(raw)
            except InvalidRecord as exc:
                dead.append((r, raw, exc))
                continue
            valid.append((p["payment_id"], p["order_id"], p["amount"], r["kafka_ts_ms"], source, raw, False))
        if valid:
            first_copy: dict[str, tuple] = {}
            for row in valid:  # a payment resent within the batch: its first copy (lowest offset) is kept
                first_copy.setdefault(row[0], row)
            source_df = self.spark.createDataFrame(list(first_copy.values()), PAYMENTS_DDL)
            (DeltaTable.forPath(self.spark, self.path("payments")).alias("t")
             .merge(source_df.alias("s"), "t.payment_id = s.payment_id").whenNotMatchedInsertAll().execute())
        self._dead_letter(dead)
        return {row[1] for row in valid}, len(dead)

    def _unknown_payments(self, progress_ms: int) -> int:
        """Dead-letter the held payments whose order is unknown (:meth:`_unknown_orders`) and mark them dead in
        silver; how many."""
        unknown = self._unknown_orders(progress_ms)
        dead = []
        for payment in unknown:
            topic, partition, offset = kafka_client.parse_source_position(payment["source"].encode())
            dead.append(({"topic": topic, "partition": partition, "offset": offset}, bytes(payment["raw"]),
                         UnknownOrder(payment["order_id"])))
        self._dead_letter(dead)  # acknowledged before they are marked: a crash between sends them again
        if unknown:
            DeltaTable.forPath(self.spark, self.path("payments")).update(
                F.col("payment_id").isin([p["payment_id"] for p in unknown]), {"dead": F.lit(True)})
        return len(dead)

    def _unknown_orders(self, progress_ms: int) -> list:
        """Held payments whose order the replica has never seen, although the changes have moved past them."""
        orders = self.spark.read.format("delta").load(self.replica.path("orders")).select(F.col("id").alias("oid")) \
            if DeltaTable.isDeltaTable(self.spark, self.replica.path("orders")) else None
        held = (self.spark.read.format("delta").load(self.path("payments"))
                .filter(~F.col("dead") & (F.col("kafka_ts_ms") + self.grace_ms <= progress_ms)))
        if orders is not None:
            held = held.join(orders, held.order_id == orders.oid, "left_anti")
        return held.select("payment_id", "order_id", "source", "raw").collect()

    def _dead_letter(self, dead: list) -> None:
        if not dead:
            return
        producer = kafka_client.producer(acks="all")
        now = datetime.now(UTC)
        futures = [producer.send(self.dlq_topic, value=raw, headers=dlq_headers(
            reason=exc.reason, error=exc, topic=r["topic"], partition=r["partition"], offset=r["offset"], retries=0,
            failed_at=now)) for r, raw, exc in dead]
        producer.flush()
        for future in futures:
            future.get(timeout=30)  # every DLQ write acknowledged before the batch may commit
        producer.close()

    def _gold(self, days: list[date]) -> list[serving.GoldRow]:
        """Gold for ``days``, recomputed from silver and replaced in the gold table; the rows it wrote."""
        if not days:
            return []
        rows = gold_rows(self.replica.rows("orders"), self.spark.read.format("delta").load(self.path("payments")),
                         days)
        in_days = " OR ".join(f"day = DATE'{d.isoformat()}'" for d in days)  # dates: no user text reaches SQL
        (self.spark.createDataFrame(rows, GOLD_DDL).write.format("delta").mode("overwrite")
         .option("replaceWhere", in_days).save(self.path("gold")))
        return rows

    # -- the query -------------------------------------------------------------------------------
    def start(self, trigger_seconds: float = 1.0, max_records: int | None = MAX_RECORDS):
        """Start the query, a micro-batch every ``trigger_seconds`` of at most ``max_records`` records (a
        restart after a long outage works through its backlog in bounded batches: each batch is collected to
        the driver). The caller bounds the run: :mod:`.process`."""
        stream = kafka_stream(self.spark, ",".join([*self.cdc_topics, self.payments_topic]), max_records)
        return (stream.selectExpr("topic", "partition", "offset", "CAST(key AS STRING) AS key", "value",
                                  "unix_millis(timestamp) AS kafka_ts_ms")
                .writeStream.foreachBatch(self.handle).option("checkpointLocation", self.path("_checkpoint"))
                .trigger(processingTime=f"{trigger_seconds} seconds").start())


def _day(value: object) -> date | None:
    """The UTC day of Debezium's ISO-8601 timestamp text (``2024-01-15T09:00:00.000000Z``)."""
    return date.fromisoformat(value[:10]) if isinstance(value, str) and len(value) >= 10 else None
