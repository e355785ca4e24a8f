"""A SparkSession with Delta Lake, the Kafka connector and the PostgreSQL JDBC driver.

The jars come from ``stack/jars/spark`` (resolved once by ``make setup``) through
``spark.jars``: Spark never downloads a jar at session start, unlike
``configure_spark_with_delta_pip`` (which sets ``spark.jars.packages``).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pipeline_patterns import spark_archive
from pipeline_patterns.config import Settings, get_settings
from pipeline_patterns.stack import preflight
from pipeline_patterns.stack.jvm import JARS_DIR

# Small-machine defaults: 2 cores and a laptop's memory. Callers override any of them.
# Measured on the 2-core machine (lesson 04's stepped query, same run): a Delta snapshot
# rebuilt with Delta's default 50 partitions and 4 shuffle partitions (4 state-store
# instances for a dozen rows) made each micro-batch ~2.3x slower than 1 and 2.
DEFAULT_CONF = {
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "2",
    "spark.databricks.delta.snapshotPartitions": "1",
    "spark.driver.memory": "1g",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
    "spark.sql.adaptive.enabled": "true",
    "spark.sql.streaming.forceDeleteTempCheckpointLocation": "true",
    # C1 only and the serial collector: the lessons' JVMs are short-lived and their data tiny, so
    # C2's compile threads and G1's helpers only compete for the 2 cores. Same run, lesson 04's
    # stepped query: session start 12.7/11.4 s -> 9.9/9.7 s, a warm step 2.95/3.22 s -> 2.44/2.80 s
    # (benchmarks/spark_small_batches.py, two rounds). A large job would want them back.
    "spark.driver.extraJavaOptions": "-Dlog4j2.level=ERROR -XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
    # No generated code: Spark compiles Java (Janino) for every new plan, and the lessons run
    # hundreds of small plans over a few thousand rows, where compiling costs more than it saves.
    # Same JVM, same run, lesson 08's three deliveries (two rounds): 105/106 s -> 73/73 s
    # (benchmarks/spark_small_batches.py has the streaming step). `factoryMode` is an internal
    # Spark setting (it picks the interpreted path Spark falls back to anyway when codegen
    # fails); a job over real volumes wants both settings back at their defaults.
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
}
GENERATED_CODE_CONF = {"spark.sql.codegen.wholeStage": "true", "spark.sql.codegen.factoryMode": "FALLBACK"}
"""Spark's own defaults for code generation, for a session that runs one plan over large batches."""


@contextmanager
def temporary_conf(spark: Any, conf: Mapping[str, object]) -> Iterator[None]:
    """Set session settings for a block and put back what was there (unset what was unset)."""
    before = {key: spark.conf.get(key, None) for key in conf}
    try:
        for key, value in conf.items():
            spark.conf.set(key, str(value))
        yield
    finally:
        for key, value in before.items():
            if value is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, value)


def spark_jars() -> list[str]:
    """The jar files Spark needs beyond the pyspark wheel, or a StackError saying run make setup."""
    folder = JARS_DIR / "spark"
    preflight.check_jars(folder, "delta-spark_*.jar", "Delta Lake")
    preflight.check_jars(folder, "spark-sql-kafka-0-10_*.jar", "Spark Kafka connector")
    preflight.check_jars(folder, "postgresql-*.jar", "PostgreSQL JDBC")
    return [str(j) for j in sorted(folder.glob("*.jar"))]


def _launch_quiet_jvm(options: dict[str, str], log: Path) -> None:
    """Start the driver JVM with its stdout and stderr in ``log``, once per Python process.

    PySpark would let the JVM inherit the kernel's stderr, and its start-up chatter
    (``Using incubator modules``, log4j's profile line, ``NativeCodeLoader``) would show
    as a red block under a lesson's first Spark cell. Errors still reach Python as
    exceptions; the JVM's own lines are in ``log``.
    """
    from pyspark import SparkConf, SparkContext
    from pyspark.java_gateway import launch_gateway

    if SparkContext._gateway is not None:  # this process already has its JVM
        return
    log.parent.mkdir(parents=True, exist_ok=True)
    conf = SparkConf(loadDefaults=False).setAll(list(options.items()))
    with open(log, "ab") as sink:  # the child keeps its own copy of the descriptor
        SparkContext._gateway = launch_gateway(conf, popen_kwargs={"stdout": sink, "stderr": sink})
    SparkContext._jvm = SparkContext._gateway.jvm


def get_spark(app_name: str = "pipeline-patterns", settings: Settings | None = None,
              conf: dict[str, str] | None = None):
    """Build (or return the running) SparkSession for the kit.

    Honours ``SPARK_MASTER`` (``local[*]`` or ``spark://127.0.0.1:7077``); the UI is
    off when ``CI`` is set. The warehouse lives under the lake directory.
    """
    from pyspark.sql import SparkSession

    settings = settings or get_settings()
    preflight.check_java()
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # the JVM reads it at launch
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # UDF workers use this venv (pyarrow, pandas)
    # pyspark 4.1's state serializer triggers a pandas FutureWarning on every batch; workers inherit this.
    os.environ.setdefault("PYTHONWARNINGS", "ignore::FutureWarning")
    lake = settings.lake_path
    lake.mkdir(parents=True, exist_ok=True)
    java_options = DEFAULT_CONF["spark.driver.extraJavaOptions"]
    archive = spark_archive.option(java_options)  # the driver's classes, pre-parsed by `make setup`
    options = {
        **DEFAULT_CONF,
        "spark.driver.extraJavaOptions": f"{java_options} {archive}" if archive else java_options,
        "spark.master": settings.spark_master,
        "spark.app.name": app_name,
        "spark.jars": ",".join(spark_jars()),
        "spark.sql.warehouse.dir": str(lake / "warehouse"),
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.ui.enabled": "false" if os.environ.get("CI") else "true",
        "spark.ui.showConsoleProgress": "false",
        **(conf or {}),
    }
    _launch_quiet_jvm(options, settings.stack_path / "logs" / f"spark-{app_name}.log")
    builder = SparkSession.builder
    for key, value in options.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")  # lessons show results, not JVM chatter
    return spark


# Lesson-sized Delta tables (lessons 08, 13) on 2 cores: Delta rebuilds a snapshot with 50 tasks by default.
SMALL_TABLES_CONF = {
    "spark.databricks.delta.snapshotPartitions": "2",
    "spark.sql.shuffle.partitions": "2",
    # Delta's per-file column statistics (min/max, for data skipping) and the checksum file after
    # each commit: no table here has more than a few files, and both are computed on every write.
    # Same JVM, same run, lesson 08's three deliveries (two rounds): 58/53 s -> 42/39 s. Not a
    # kit default: without statistics a replaceWhere overwrite's commit has no numOutputRows,
    # which the Lambda batch layer reads.
    "spark.databricks.delta.stats.collect": "false",
    "spark.databricks.delta.writeChecksumFile.enabled": "false",
    # VACUUM lists a table's files in a Spark job of this many tasks (default 10,000): on a table of a
    # few files, 26 s a table; with 2, 1.8 s (lesson 17's lake, five tables, same session, quiet machine).
    "spark.sql.sources.parallelPartitionDiscovery.parallelism": "2",
}


# --- bounded streaming runs and the Kafka source, written once for every lesson ----------

BOUND_S = 600
"""A safety net for a bounded query on a slow laptop: ``availableNow`` ends by itself."""


def kafka_stream(spark: Any, topic: str, max_offsets_per_trigger: int | None = None,
                 settings: Settings | None = None) -> Any:
    """``topic`` from its earliest offset as a streaming DataFrame (Spark's Kafka source columns)."""
    reader = (spark.readStream.format("kafka")
              .option("kafka.bootstrap.servers", (settings or get_settings()).kafka_bootstrap_servers)
              .option("subscribe", topic).option("startingOffsets", "earliest"))
    if max_offsets_per_trigger is not None:
        reader = reader.option("maxOffsetsPerTrigger", max_offsets_per_trigger)
    return reader.load()


def await_bounded(query: Any, what: str, bound_s: float = BOUND_S) -> Any:
    """Wait for a bounded query (``availableNow`` or ``once``) to stop by itself, then return it.

    Raises ``TimeoutError`` (after stopping the query) if it has not stopped within
    ``bound_s``, and the query's own exception if it failed.
    """
    if not query.awaitTermination(bound_s):
        query.stop()
        raise TimeoutError(f"{what}: the bounded query did not finish within {bound_s:.0f} s")
    if query.exception():
        raise query.exception()
    return query


def run_until(query: Any, done: Any, what: str, bound_s: float = BOUND_S) -> Any:
    """Let a triggered query run until ``done()`` is true, then process what is available and stop it.

    For a long-running query that someone else tells when to finish (a stop file, a deadline): never an
    unbounded wait. Raises ``TimeoutError`` (after stopping the query) if ``done()`` is not true within
    ``bound_s``, and the query's own exception if it failed.
    """
    deadline = time.monotonic() + bound_s
    while not done():
        if query.awaitTermination(0.5):
            raise query.exception() or RuntimeError(f"{what}: the query stopped by itself")
        if time.monotonic() > deadline:
            query.stop()
            raise TimeoutError(f"{what}: not told to finish within {bound_s:.0f} s")
    query.processAllAvailable()
    query.stop()
    return query
