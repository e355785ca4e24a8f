"""Lesson 02 on the real standalone cluster: the guide's executors are never placed, fitted ones are."""

from __future__ import annotations

import pytest

from pipeline_patterns.batch import memory, sizing

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
