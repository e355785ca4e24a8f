"""Lessons 02 and 03 on the real standalone cluster (one module: the cluster starts once).

02: the guide's executors are never placed, fitted ones are. 03: a forced broadcast and a sort-merge
join return the same rows there, with the session created with ``SPARK_MASTER`` pointing at the
cluster; executors ask for 512 MB so that the kit's 2 GiB worker places one.
"""

from __future__ import annotations

import pytest
import requests

from pipeline_patterns.batch import flights, joins, memory, sizing, spark_metrics
from pipeline_patterns.config import Settings
from pipeline_patterns.spark import get_spark

pytestmark = pytest.mark.integration


def test_the_guides_executors_wait_forever_and_the_fitted_ones_run(spark_cluster, unique):
    ui = f"http://127.0.0.1:{spark_cluster.spark_master_webui_port}"
    url = f"spark://127.0.0.1:{spark_cluster.spark_master_port}"
    offered = memory.workers(memory.master_json(ui))
    assert offered == sizing.Workers(count=1, cores=2, memory_mb=2048)
    fit = sizing.size_for(0.01, offered)
    assert fit.guide_placeable == 0

    guide = memory.submit_and_observe(url, ui, fit.guide, f"guide-{unique}", observe_s=6)
    assert (guide.state, guide.executors, guide.cores_granted) == ("WAITING", 0, 0)

    fitted = memory.submit_and_observe(url, ui, fit.fitted, f"fitted-{unique}", observe_s=60)
    assert fitted.executors == 1 and fitted.cores_granted == 2
    assert fitted.state == "RUNNING"


@pytest.fixture(scope="module")
def cluster_spark(spark_cluster):
    master = f"spark://127.0.0.1:{spark_cluster.spark_master_port}"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SPARK_MASTER", master)
        settings = Settings()
        assert settings.spark_master == master
        session = get_spark("join-strategies-on-cluster", settings=settings, conf={
            **spark_metrics.BATCH_CONF, "spark.executor.memory": "512m", "spark.executor.cores": "2"})
    yield session, settings
    session.stop()


def test_broadcast_and_sort_merge_return_the_same_rows_on_the_cluster(cluster_spark):
    spark, settings = cluster_spark
    assert spark.sparkContext.master.startswith("spark://")
    lake = flights.build(settings.lake_path, flights.FlightsSpec(scale=1, seed=42))
    runs = {s: joins.run_strategy(spark, lake, s) for s in ("broadcast hash", "sort-merge")}
    assert runs["broadcast hash"].joins == ["BroadcastHashJoin"] * 4
    assert runs["sort-merge"].joins == ["SortMergeJoin"] * 4
    assert runs["broadcast hash"].join_shuffle_bytes == 0 < runs["sort-merge"].join_shuffle_bytes
    assert {(r.rows, r.checksum) for r in runs.values()} == {(flights.FLIGHTS_ROWS, runs["sort-merge"].checksum)}
    api = f"{spark.sparkContext.uiWebUrl}/api/v1/applications/{spark.sparkContext.applicationId}"
    executors = [e for e in requests.get(f"{api}/executors", timeout=30).json() if e["id"] != "driver"]
    assert len(executors) >= 1 and sum(e["totalTasks"] for e in executors) >= runs["sort-merge"].measured.tasks
