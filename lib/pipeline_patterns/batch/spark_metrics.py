"""What Spark itself measured for an action: tasks, task times, shuffle and input bytes, cached sizes.

Read from the driver's monitoring REST API (``<ui>/api/v1``, the figures the Spark UI shows), so the
lessons' claims come from Spark's own stage and task metrics, not from wall-clock time alone. The
batch lessons start their session with ``METRICS_CONF`` (the UI on: the API is part of it).

Guarantee: :func:`measure` runs the action under a fresh job group and returns only once every job
of that group has ended and every one of its stages reports its final metrics (Spark's listener
bus is asynchronous: a figure read the moment the action returns can still be missing).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from pipeline_patterns.poll import wait_until
from pipeline_patterns.spark import GENERATED_CODE_CONF, get_spark

METRICS_CONF = {"spark.ui.enabled": "true", "spark.ui.showConsoleProgress": "false"}
"""Session settings the batch lessons add: the monitoring API lives in the driver's UI server."""

BATCH_CONF = {**METRICS_CONF, **GENERATED_CODE_CONF}
"""The batch lessons' session: the metrics API, and Spark's code generation back on (a few plans over
hundreds of thousands of rows, where compiling pays; the kit's default runs many tiny plans interpreted)."""


def batch_session(app_name: str, conf: dict[str, str] | None = None) -> Any:
    """A session with ``BATCH_CONF`` (and ``conf``). The UI is fixed when a SparkContext starts: a running
    session of this process without it is stopped first, so that the metrics API is there."""
    from pyspark import SparkContext

    running = SparkContext._active_spark_context
    if running is not None and running.uiWebUrl is None:
        running.stop()
    return get_spark(app_name, conf={**BATCH_CONF, **(conf or {})})

ENDED = {"SUCCEEDED", "FAILED"}


@dataclass(frozen=True)
class StageFigures:
    stage_id: int
    name: str
    tasks: int
    executor_run_ms: int
    input_bytes: int
    shuffle_read_bytes: int
    shuffle_write_bytes: int
    spilled_bytes: int
    task_ms: tuple[int, ...]


@dataclass(frozen=True)
class Measured:
    """One action: its result, wall time and the stages Spark ran for it (skipped stages excluded)."""

    label: str
    result: Any
    wall_s: float
    stages: tuple[StageFigures, ...] = field(repr=False)

    @property
    def tasks(self) -> int:
        return sum(s.tasks for s in self.stages)

    @property
    def shuffle_write_bytes(self) -> int:
        return sum(s.shuffle_write_bytes for s in self.stages)

    @property
    def shuffle_read_bytes(self) -> int:
        return sum(s.shuffle_read_bytes for s in self.stages)

    @property
    def input_bytes(self) -> int:
        return sum(s.input_bytes for s in self.stages)

    @property
    def executor_run_ms(self) -> int:
        return sum(s.executor_run_ms for s in self.stages)

    @property
    def task_ms(self) -> list[int]:
        return [ms for s in self.stages for ms in s.task_ms]

    def row(self) -> dict[str, Any]:
        """A flat record for a table or a plot."""
        return {"label": self.label, "wall_s": round(self.wall_s, 2), "stages": len(self.stages),
                "tasks": self.tasks, "executor_run_ms": self.executor_run_ms, "input_bytes": self.input_bytes,
                "shuffle_write_bytes": self.shuffle_write_bytes, "shuffle_read_bytes": self.shuffle_read_bytes,
                "max_task_ms": max(self.task_ms, default=0)}


def _api(spark: Any) -> str:
    url = spark.sparkContext.uiWebUrl
    if not url:
        raise RuntimeError("Spark's UI is off, and with it the monitoring API these figures come from: "
                           "start the session with conf=METRICS_CONF (spark.ui.enabled=true)")
    return f"{url}/api/v1/applications/{spark.sparkContext.applicationId}"


def _get(url: str, **params: Any) -> Any:
    response = requests.get(url, params=params, timeout=30)
    response.raise_for_status()
    return response.json()


def _stage(api: str, stage: dict[str, Any]) -> StageFigures:
    tasks = _get(f"{api}/stages/{stage['stageId']}/{stage['attemptId']}/taskList", length=100_000)
    return StageFigures(
        stage_id=stage["stageId"], name=stage["name"], tasks=stage["numCompleteTasks"],
        executor_run_ms=stage["executorRunTime"], input_bytes=stage["inputBytes"],
        shuffle_read_bytes=stage["shuffleReadBytes"], shuffle_write_bytes=stage["shuffleWriteBytes"],
        spilled_bytes=stage["memoryBytesSpilled"] + stage["diskBytesSpilled"],
        task_ms=tuple(sorted(t.get("duration", 0) for t in tasks if t["status"] == "SUCCESS")))


def measure(spark: Any, label: str, action: Callable[[], Any], bound_s: float = 60) -> Measured:
    """Run ``action`` (a Spark action) and collect Spark's metrics for the jobs it started."""
    sc = spark.sparkContext
    group = f"{label}-{uuid.uuid4().hex[:8]}"
    sc.setJobGroup(group, label, False)
    started = time.perf_counter()
    try:
        result = action()
    finally:
        wall = time.perf_counter() - started
        sc.setLocalProperty("spark.jobGroup.id", None)
    api = _api(spark)

    def ended_stages() -> list[dict[str, Any]] | None:
        jobs = [j for j in _get(f"{api}/jobs") if j.get("jobGroup") == group]
        if not jobs or any(j["status"] not in ENDED for j in jobs):
            return None
        wanted = {s for j in jobs for s in j["stageIds"]}
        stages = [s for s in _get(f"{api}/stages") if s["stageId"] in wanted and s["status"] != "SKIPPED"]
        if any(s["status"] not in {"COMPLETE", "FAILED"} for s in stages):
            return None
        return stages

    stages = wait_until(ended_stages, bound_s, f"Spark's metrics for '{label}'", interval_s=0.1)
    figures = tuple(_stage(api, s) for s in sorted(stages, key=lambda s: s["stageId"]))
    return Measured(label, result, wall, figures)


@dataclass(frozen=True)
class CachedTable:
    """One entry of Spark's storage status (what the UI's Storage tab shows)."""

    name: str
    storage_level: str
    cached_partitions: int
    partitions: int
    memory_bytes: int
    disk_bytes: int


def storage_status(spark: Any) -> list[CachedTable]:
    """Every cached RDD or DataFrame of the session, with the bytes it holds in memory and on disk."""
    api = _api(spark)

    def listed() -> list[dict[str, Any]]:
        return _get(f"{api}/storage/rdd")

    return [CachedTable(r["name"], r["storageLevel"], r["numCachedPartitions"], r["numPartitions"],
                        r["memoryUsed"], r["diskUsed"]) for r in listed()]


@dataclass(frozen=True)
class TaskFigures:
    """One successful task of a stage: its time and the shuffle partition it read (lesson 03's skew)."""

    index: int
    duration_ms: int
    shuffle_read_bytes: int
    shuffle_read_records: int


def stage_tasks(spark: Any, stage_id: int) -> list[TaskFigures]:
    """The successful tasks of a stage's last attempt, by task index (the UI's task table)."""
    api = _api(spark)
    attempt = max(a["attemptId"] for a in _get(f"{api}/stages/{stage_id}"))
    tasks = _get(f"{api}/stages/{stage_id}/{attempt}/taskList", length=100_000)
    figures = []
    for t in tasks:
        if t["status"] != "SUCCESS":
            continue
        read = t.get("taskMetrics", {}).get("shuffleReadMetrics", {})
        figures.append(TaskFigures(t["index"], t.get("duration", 0),
                                   read.get("localBytesRead", 0) + read.get("remoteBytesRead", 0),
                                   read.get("recordsRead", 0)))
    return sorted(figures, key=lambda f: f.index)
