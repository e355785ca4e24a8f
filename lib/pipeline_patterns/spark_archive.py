"""A class-data archive for the Spark driver JVM: the JVM's first pass, done once by ``make setup``.

Every lesson, test and query process starts a fresh driver JVM, which loads, parses and verifies
tens of thousands of classes (Spark, Delta, Jackson, Scala) before its first job finishes. The
JDK's Application Class-Data Sharing (AppCDS) keeps those classes, already parsed and verified,
in an archive that later JVMs map into memory. ``make setup`` runs a training session here (Delta
write, MERGE, change feed, replaceWhere, schema evolution, bounded streams, windows, joins, JSON,
Arrow) whose JVM writes the archive when
it exits (``-XX:ArchiveClassesAtExit``); :func:`pipeline_patterns.spark.get_spark` then starts the
driver with ``-XX:SharedArchiveFile``.

Measured on the 2-core machine, two alternating runs each: session start 5.4/4.8 s -> 3.1/2.9 s,
a first Delta write, read and aggregation 7.4/6.9 s -> 4.4/4.4 s.

Guarantee: the archive is used only while its stamp (the ``java`` binary, pyspark's version, the
driver's jars and JVM options, the archive's own size) matches the running setup. A stale or missing archive is never an
error: the driver starts without it, and the JVM itself skips an archive whose class path does not
match. A failed training run leaves no archive and makes ``make setup`` say so, not fail.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from pipeline_patterns.stack import preflight
from pipeline_patterns.stack.jvm import JARS_DIR

ARCHIVE = JARS_DIR / "cds" / "spark-driver.jsa"
STAMP = ARCHIVE.with_suffix(".json")
TRAINING_BOUND_S = 600


def _stamp(java_options: str) -> dict[str, object]:
    import pyspark

    java = Path(preflight.check_java()).resolve()
    jars = sorted(p.name for p in (JARS_DIR / "spark").glob("*.jar"))
    return {"java": str(java), "java_mtime": java.stat().st_mtime, "pyspark": pyspark.__version__,
            "jars": jars, "java_options": java_options}


def option(java_options: str) -> str | None:
    """``-XX:SharedArchiveFile=...`` when a matching archive exists, else None (start without it)."""
    if not (ARCHIVE.exists() and STAMP.exists()):
        return None
    try:  # a truncated archive would crash the JVM, so its size is part of the stamp
        matches = json.loads(STAMP.read_text()) == {**_stamp(java_options), "size": ARCHIVE.stat().st_size}
    except (OSError, ValueError):
        return None
    return f"-XX:SharedArchiveFile={ARCHIVE}" if matches else None


def build(echo: Callable[[str], None] = print, force: bool = False) -> bool:
    """Write the archive with a training session unless a matching one exists; True when one is there."""
    from pipeline_patterns.spark import DEFAULT_CONF

    java_options = DEFAULT_CONF["spark.driver.extraJavaOptions"]
    if not force and option(java_options) is not None:
        echo(f"spark: class-data archive up to date ({ARCHIVE})")
        return True
    echo("spark: training the driver JVM's class-data archive (one Spark session, ~30 s) ...")
    ARCHIVE.parent.mkdir(parents=True, exist_ok=True)
    ARCHIVE.unlink(missing_ok=True)
    STAMP.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="training-", dir=ARCHIVE.parent) as work:  # same file system
        target = Path(work) / "driver.jsa"
        out = subprocess.run([sys.executable, "-m", "pipeline_patterns.spark_archive", str(target), work],
                             capture_output=True, text=True, timeout=TRAINING_BOUND_S, check=False)
        if out.returncode != 0 or not target.exists():
            echo("spark: no class-data archive (Spark starts without it, only slower): the training run "
                 f"exited with {out.returncode}, expected 0 and {target.name} written.\n"
                 f"{out.stdout[-1500:]}{out.stderr[-1500:]}")
            return False
        target.replace(ARCHIVE)  # atomic: a JVM never maps a half-written archive
    STAMP.write_text(json.dumps({**_stamp(java_options), "size": ARCHIVE.stat().st_size}))
    echo(f"spark: class-data archive written ({ARCHIVE.stat().st_size / 2**20:.0f} MB, {ARCHIVE})")
    return True


def _train(target: str, work: str) -> None:
    """The training session: what the lessons do, once, in a JVM that dumps its classes at exit."""
    from pyspark import SparkContext
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from pipeline_patterns.spark import DEFAULT_CONF, await_bounded, get_spark

    options = f"{DEFAULT_CONF['spark.driver.extraJavaOptions']} -XX:ArchiveClassesAtExit={target}"
    spark = get_spark("spark-archive-training", conf={"spark.driver.extraJavaOptions": options,
                                                      "spark.ui.enabled": "true"})
    table = f"{work}/events"
    events = spark.range(2000).select(F.col("id").alias("event_id"), (F.col("id") % 7).alias("user_id"),
                                      F.to_json(F.struct(F.col("id").alias("n"))).alias("payload"))
    events.write.format("delta").option("delta.enableChangeDataFeed", "true").save(table)
    from delta.tables import DeltaTable

    updates = events.where("event_id < 100").withColumn("user_id", F.col("user_id") + 1)
    (DeltaTable.forPath(spark, table).alias("t").merge(updates.alias("u"), "t.event_id = u.event_id")
     .whenMatchedUpdateAll().whenNotMatchedInsertAll().execute())
    changes = spark.read.format("delta").option("readChangeFeed", "true").option("startingVersion", 0).load(table)
    parsed = changes.select("event_id", F.from_json("payload", "n long").alias("p"), "_change_type")
    dims = spark.createDataFrame([(i, f"user-{i}") for i in range(7)], "user_id long, name string")
    joined = spark.read.format("delta").load(table).join(dims, "user_id").groupBy("name").count()
    parsed.groupBy("_change_type").count().collect()
    joined.toPandas()
    by_user = Window.partitionBy("user_id").orderBy(F.col("event_id").desc())
    ranked = events.withColumn("rank", F.row_number().over(by_user)).where("rank = 1").dropDuplicates(["user_id"])
    ranked.write.format("delta").partitionBy("user_id").save(f"{work}/gold")
    (ranked.where("user_id = 1").write.format("delta").mode("overwrite").option("replaceWhere", "user_id = 1")
     .save(f"{work}/gold"))
    ranked.withColumn("device", F.lit("web")).write.format("delta").mode("append").option("mergeSchema", "true") \
        .save(f"{work}/gold")
    DeltaTable.forPath(spark, f"{work}/gold").history(1).collect()
    events.write.mode("overwrite").json(f"{work}/landing")
    source = spark.readStream.schema("event_id long, user_id long, payload string").json(f"{work}/landing")
    stream = (source.writeStream.format("delta").option("checkpointLocation", f"{work}/checkpoint")
              .trigger(availableNow=True).start(f"{work}/stream"))
    await_bounded(stream, "the training stream", TRAINING_BOUND_S)
    each = (source.writeStream.foreachBatch(lambda batch, _: batch.groupBy("user_id").count().collect())
            .option("checkpointLocation", f"{work}/checkpoint-each").trigger(availableNow=True).start())
    await_bounded(each, "the training foreachBatch stream", TRAINING_BOUND_S)
    spark.stop()
    gateway = SparkContext._gateway
    process = gateway.proc
    with contextlib.suppress(Exception):  # the gateway's connection drops as the JVM exits: expected
        gateway.jvm.java.lang.System.exit(0)  # a normal JVM exit is when the archive is written
    process.wait(timeout=TRAINING_BOUND_S)


if __name__ == "__main__":
    _train(sys.argv[1], sys.argv[2])
