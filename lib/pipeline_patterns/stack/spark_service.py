"""A Spark standalone cluster (one master, one worker) started from the pyspark wheel.

Ready means the master's JSON status answers (master) and lists an ALIVE worker (worker).
"""

from __future__ import annotations

from pathlib import Path

import requests

from pipeline_patterns.stack.layout import Context
from pipeline_patterns.stack.processes import ProcessRecord, spawn
from pipeline_patterns.stack.readiness import NotReady
from pipeline_patterns.stack.service import Service


def _spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent


def _spark_env(ctx: Context) -> dict[str, str]:
    return {
        "SPARK_HOME": str(_spark_home()),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_DAEMON_MEMORY": "256m",
        "SPARK_LOG_DIR": str(ctx.logs),
        "JAVA_HOME": str(Path(ctx.java).resolve().parents[1]),
    }


def _master_status_url(ctx: Context) -> str:
    return f"http://127.0.0.1:{ctx.settings.spark_master_webui_port}/json/"


class SparkMaster(Service):
    """The standalone master on ``SPARK_MASTER_PORT`` (7077), its UI on ``SPARK_MASTER_WEBUI_PORT`` (8080)."""

    def __init__(self, ctx: Context) -> None:
        s = ctx.settings
        super().__init__(name="spark-master", ports=[(s.spark_master_port, "SPARK_MASTER_PORT"),
                                                     (s.spark_master_webui_port, "SPARK_MASTER_WEBUI_PORT")])

    def start(self, ctx: Context) -> ProcessRecord:
        s = ctx.settings
        cmd = [str(_spark_home() / "bin" / "spark-class"), "org.apache.spark.deploy.master.Master",
               "--host", "127.0.0.1", "--port", str(s.spark_master_port),
               "--webui-port", str(s.spark_master_webui_port)]
        return spawn(cmd, ctx.log(self.name), env=_spark_env(ctx))

    def check_ready(self, ctx: Context) -> None:
        requests.get(_master_status_url(ctx), timeout=5).raise_for_status()

    # No signature: the master's command line names nothing of this checkout, so a master
    # without a record is reported by its port (SPARK_MASTER_PORT), not recognised as ours.


class SparkWorker(Service):
    """One worker (2 cores, 2 GiB) registered with the master, its UI on ``SPARK_WORKER_WEBUI_PORT`` (8081)."""

    def __init__(self, ctx: Context) -> None:
        super().__init__(name="spark-worker",
                         ports=[(ctx.settings.spark_worker_webui_port, "SPARK_WORKER_WEBUI_PORT")])

    def start(self, ctx: Context) -> ProcessRecord:
        work = ctx.var / "spark" / "work"
        work.mkdir(parents=True, exist_ok=True)
        cmd = [str(_spark_home() / "bin" / "spark-class"), "org.apache.spark.deploy.worker.Worker",
               "--host", "127.0.0.1", "--cores", "2", "--memory", "2g",
               "--webui-port", str(ctx.settings.spark_worker_webui_port),
               "--work-dir", str(work), f"spark://127.0.0.1:{ctx.settings.spark_master_port}"]
        return spawn(cmd, ctx.log(self.name), env=_spark_env(ctx))

    def signature(self, ctx: Context) -> tuple[str, str]:
        return "org.apache.spark.deploy.worker.Worker", str(ctx.var / "spark" / "work")

    def check_ready(self, ctx: Context) -> None:
        status = requests.get(_master_status_url(ctx), timeout=5).json()
        alive = [w for w in status.get("workers", []) if w.get("state") == "ALIVE"]
        if not alive:
            raise NotReady("no ALIVE worker registered with the Spark master yet")
