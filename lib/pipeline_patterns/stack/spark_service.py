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


class SparkMaster(Service):
    def __init__(self, ctx: Context) -> None:
        super().__init__(name="spark-master", ports=[(7077, "SPARK_MASTER"), (8080, "(fixed: Spark master UI)")])

    def start(self, ctx: Context) -> ProcessRecord:
        cmd = [str(_spark_home() / "bin" / "spark-class"), "org.apache.spark.deploy.master.Master",
               "--host", "127.0.0.1", "--port", "7077", "--webui-port", "8080"]
        return spawn(cmd, ctx.log(self.name), env=_spark_env(ctx))

    def check_ready(self, ctx: Context) -> None:
        requests.get("http://127.0.0.1:8080/json/", timeout=5).raise_for_status()

    # No signature: the master's command line names nothing of this checkout, so a master
    # without a record is reported by its port (7077), not recognised as ours.


class SparkWorker(Service):
    def __init__(self, ctx: Context) -> None:
        super().__init__(name="spark-worker", ports=[(8081, "(fixed: Spark worker UI)")])

    def start(self, ctx: Context) -> ProcessRecord:
        work = ctx.var / "spark" / "work"
        work.mkdir(parents=True, exist_ok=True)
        cmd = [str(_spark_home() / "bin" / "spark-class"), "org.apache.spark.deploy.worker.Worker",
               "--host", "127.0.0.1", "--cores", "2", "--memory", "2g", "--webui-port", "8081",
               "--work-dir", str(work), "spark://127.0.0.1:7077"]
        return spawn(cmd, ctx.log(self.name), env=_spark_env(ctx))

    def signature(self, ctx: Context) -> tuple[str, str]:
        return "org.apache.spark.deploy.worker.Worker", str(ctx.var / "spark" / "work")

    def check_ready(self, ctx: Context) -> None:
        status = requests.get("http://127.0.0.1:8080/json/", timeout=5).json()
        alive = [w for w in status.get("workers", []) if w.get("state") == "ALIVE"]
        if not alive:
            raise NotReady("no ALIVE worker registered with the Spark master yet")
