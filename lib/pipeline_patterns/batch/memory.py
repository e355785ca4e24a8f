"""The memory a running session really has, and what a standalone cluster does with an oversized ask.

* :func:`session_memory` reads the driver JVM's heap and Spark's own storage-memory figure, and
  splits the heap with :func:`sizing.unified_memory`, so a lesson can put the model next to what
  Spark reports (in ``local[*]`` the driver is also the only executor);
* :func:`application_on_master` reads the standalone master's JSON status for one application:
  its state (``WAITING`` until an executor is placed) and its executors.

Guarantee: :func:`wait_for_application` returns the application's status once it is listed,
within a bounded wait, and raises a clear error otherwise; it never waits for executors that
cannot come.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from typing import Any

import requests

from pipeline_patterns.batch.sizing import ExecutorRequest, UnifiedMemory, Workers, unified_memory
from pipeline_patterns.poll import wait_until

MB = 1024 * 1024


@dataclass(frozen=True)
class SessionMemory:
    heap_mb: float
    spark_storage_max_mb: float
    model: UnifiedMemory


def session_memory(spark: Any) -> SessionMemory:
    """The driver's heap (``Runtime.maxMemory``), Spark's storage maximum for it, and the model's split."""
    jvm = spark.sparkContext._jvm
    heap = jvm.java.lang.Runtime.getRuntime().maxMemory() / MB
    status = spark.sparkContext._jsc.sc().getExecutorMemoryStatus()  # executor -> (max storage, remaining)
    storage_max = max(entry._2()._1() for entry in _scala_map_items(status)) / MB
    return SessionMemory(heap, storage_max, unified_memory(int(heap)))


def _scala_map_items(scala_map: Any) -> list[Any]:
    items = []
    iterator = scala_map.iterator()
    while iterator.hasNext():
        items.append(iterator.next())
    return items


@dataclass(frozen=True)
class ApplicationStatus:
    """The master's view of an application (``cores_granted``) and, once observed, the driver's
    (``executors``: registered executors, the driver itself not counted)."""

    name: str
    app_id: str
    state: str
    cores_granted: int
    memory_per_executor_mb: int
    executors: int | None = None


def master_json(master_webui: str) -> dict[str, Any]:
    response = requests.get(f"{master_webui.rstrip('/')}/json/", timeout=5)
    response.raise_for_status()
    return response.json()


def workers(status: dict[str, Any]) -> Workers:
    """What the master's ALIVE workers offer (the smallest worker's cores and memory)."""
    alive = [w for w in status["workers"] if w["state"] == "ALIVE"]
    if not alive:
        raise RuntimeError("the standalone master lists no ALIVE worker: start one (make up SPARK_CLUSTER=1)")
    return Workers(len(alive), min(w["cores"] for w in alive), min(w["memory"] for w in alive))


def application_on_master(status: dict[str, Any], app_name: str) -> ApplicationStatus | None:
    apps = [a for a in status.get("activeapps", []) if a["name"] == app_name]
    if not apps:
        return None
    app = apps[-1]
    return ApplicationStatus(app["name"], app["id"], app["state"], app["cores"],
                             app.get("memoryperexecutor", app.get("memoryperslave", 0)))


def master_reachable(master_webui: str) -> bool:
    """True when a standalone master answers at ``master_webui`` (``make up SPARK_CLUSTER=1``)."""
    try:
        master_json(master_webui)
    except requests.RequestException:
        return False
    return True


def submit_and_observe(master_url: str, master_webui: str, request: ExecutorRequest, app_name: str,
                       observe_s: float = 8) -> ApplicationStatus:
    """Start an application on the standalone master asking for ``request``; stop it and return its status.

    Returns as soon as the master has granted it an executor, or after ``observe_s`` seconds without
    one: an oversized ask gets no error, only ``WAITING`` with 0 executors, and this bounded
    observation is how a lesson shows it. The session is stopped in every case.
    """
    from pipeline_patterns.spark import get_spark

    spark = get_spark(app_name, conf={"spark.master": master_url, "spark.ui.enabled": "false", **request.conf()})
    tracker = spark.sparkContext._jsc.sc().statusTracker()

    def executors() -> int:
        return len(tracker.getExecutorInfos()) - 1  # the driver is listed too

    try:
        status = wait_for_application(master_webui, app_name)
        with contextlib.suppress(TimeoutError):  # no executor within the window: what an oversized ask gets
            wait_until(executors, observe_s, f"an executor for {app_name!r}", interval_s=0.25)
        status = application_on_master(master_json(master_webui), app_name) or status
        return replace(status, executors=executors())
    finally:
        spark.stop()


def wait_for_application(master_webui: str, app_name: str, bound_s: float = 30) -> ApplicationStatus:
    """The application's status as soon as the master lists it."""
    return wait_until(lambda: application_on_master(master_json(master_webui), app_name), bound_s,
                      f"application {app_name!r} listed by the master at {master_webui}")
