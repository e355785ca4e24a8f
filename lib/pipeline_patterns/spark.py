"""A SparkSession with Delta Lake, the Kafka connector and the PostgreSQL JDBC driver.

The jars come from ``stack/jars/spark`` (resolved once by ``make setup``) through
``spark.jars``: Spark never downloads a jar at session start, unlike
``configure_spark_with_delta_pip`` (which sets ``spark.jars.packages``).
"""

from __future__ import annotations

import os
import sys

from pipeline_patterns.config import Settings, get_settings
from pipeline_patterns.stack import preflight
from pipeline_patterns.stack.services import JARS_DIR

# Small-machine defaults: 2 cores and a laptop's memory. Callers override any of them.
DEFAULT_CONF = {
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "4",
    "spark.driver.memory": "1g",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
    "spark.sql.adaptive.enabled": "true",
    "spark.sql.streaming.forceDeleteTempCheckpointLocation": "true",
    "spark.driver.extraJavaOptions": "-Dlog4j2.level=ERROR",
}


def spark_jars() -> list[str]:
    """The jar files Spark needs beyond the pyspark wheel, or a StackError saying run make setup."""
    folder = JARS_DIR / "spark"
    preflight.check_jars(folder, "delta-spark_*.jar", "Delta Lake")
    preflight.check_jars(folder, "spark-sql-kafka-0-10_*.jar", "Spark Kafka connector")
    preflight.check_jars(folder, "postgresql-*.jar", "PostgreSQL JDBC")
    return [str(j) for j in sorted(folder.glob("*.jar"))]


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
    options = {
        **DEFAULT_CONF,
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
    builder = SparkSession.builder
    for key, value in options.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")  # lessons show results, not JVM chatter
    return spark
