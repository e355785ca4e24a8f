"""What the guide's ``KryoSerializer`` changes, and what it does not.

``spark.serializer`` is the serializer for JVM *objects*: records of an RDD cached serialized
(``MEMORY_ONLY_SER``), RDD shuffles, task results. DataFrames do not use it: their shuffles
write Spark's own binary rows (``UnsafeRow``) and their caches are compressed column batches.
So for DataFrame code, Kryo changes little; for RDDs of objects it can change a lot.

:func:`serializer_figures` measures both sides in the running session: the size and time of one
RDD of JVM ``Row`` objects cached serialized, and the shuffle bytes of one DataFrame
``repartition``. The serializer is fixed when a SparkContext starts, so a lesson compares two
sessions (:func:`restart_with`).

Guarantee: the figures are Spark's (storage status, stage metrics); the cached RDD is removed
before the function returns.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from pipeline_patterns.batch.spark_metrics import batch_session, measure, storage_status
from pipeline_patterns.poll import wait_until

JAVA = "org.apache.spark.serializer.JavaSerializer"
KRYO = "org.apache.spark.serializer.KryoSerializer"


@dataclass(frozen=True)
class SerializerFigures:
    serializer: str
    rdd_cached_bytes: int
    rdd_cache_s: float
    dataframe_shuffle_bytes: int


def serializer_figures(spark: Any, df: Any, key: str) -> SerializerFigures:
    """Cache ``df``'s rows as a serialized RDD of JVM objects, then shuffle ``df`` by ``key``."""
    jvm = spark.sparkContext._jvm
    name = f"rows-{uuid.uuid4().hex[:8]}"
    rows = df._jdf.rdd().setName(name)  # an RDD[Row] in the JVM: what spark.serializer serializes
    rows.persist(jvm.org.apache.spark.storage.StorageLevel.MEMORY_ONLY_SER())
    try:
        started = time.perf_counter()
        rows.count()
        cache_s = time.perf_counter() - started
        partitions = rows.getNumPartitions()
        entry = wait_until(lambda: next((t for t in storage_status(spark) if t.name == name
                                         and t.cached_partitions == partitions), None),
                           30, f"the serialized RDD {name} in Spark's storage status", interval_s=0.1)
    finally:
        rows.unpersist(True)
    shuffle = measure(spark, "dataframe-shuffle",
                      lambda: df.repartition(4, key).write.format("noop").mode("overwrite").save())
    serializer = str(spark.sparkContext.getConf().get("spark.serializer", JAVA))
    return SerializerFigures(serializer.rsplit(".", 1)[-1], entry.memory_bytes, cache_s, shuffle.shuffle_write_bytes)


def restart_with(spark: Any, app_name: str, conf: dict[str, str]) -> Any:
    """Stop ``spark`` and start a batch session with ``conf`` added (same JVM: the serializer is per SparkContext)."""
    spark.stop()
    return batch_session(app_name, conf)
