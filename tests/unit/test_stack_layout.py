"""The generated service configs, without starting anything."""

from __future__ import annotations

import socket

import pytest

from pipeline_patterns.config import Settings
from pipeline_patterns.stack import postgres_service, preflight, spark_service
from pipeline_patterns.stack.connect_service import Connect
from pipeline_patterns.stack.errors import StackError
from pipeline_patterns.stack.kafka_service import KafkaNode
from pipeline_patterns.stack.layout import Context, Layout
from pipeline_patterns.stack.postgres_service import Postgres
from pipeline_patterns.stack.readiness import is_transient
from pipeline_patterns.stack.services import services_for
from pipeline_patterns.stack.spark_service import SparkMaster, SparkWorker


def ctx(brokers: int = 1, spark: bool = False) -> Context:
    return Context(Settings(_env_file=None), Layout(brokers=brokers, spark_cluster=spark))


def test_single_node_kraft_config():
    c = ctx()
    props = KafkaNode(1, c).properties(c)
    assert props["process.roles"] == "broker,controller"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:9092"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:9093"
    assert props["offsets.topic.replication.factor"] == 1
    assert props["transaction.state.log.min.isr"] == 1


def test_three_brokers_with_a_dedicated_controller():
    c = ctx(brokers=3)
    nodes = [KafkaNode(n, c) for n in (1, 2, 3)]
    assert [n.ports for n in nodes] == [[(p, "KAFKA_BOOTSTRAP_SERVERS")] for p in (9092, 9094, 9096)]
    props = nodes[2].properties(c)
    assert props["process.roles"] == "broker"
    assert props["controller.quorum.voters"] == "100@127.0.0.1:9093"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:9096"
    controller = KafkaNode(100, c)
    assert controller.name == "kafka-controller" and controller.ports[0][0] == 9093
    assert controller.properties(c)["process.roles"] == "controller"
    assert controller.properties(c)["listeners"] == "CONTROLLER://127.0.0.1:9093"
    assert props["offsets.topic.replication.factor"] == 3
    assert props["transaction.state.log.min.isr"] == 2
    assert c.bootstrap == "127.0.0.1:9092,127.0.0.1:9094,127.0.0.1:9096"


def test_every_listener_is_loopback():
    c = ctx(brokers=3, spark=True)
    for service in services_for(c):
        if isinstance(service, KafkaNode):
            assert all(part.split("://")[1].startswith("127.0.0.1:")
                       for part in service.properties(c)["listeners"].split(","))


def test_services_in_start_order():
    assert [s.name for s in services_for(ctx())] == ["postgres", "kafka-1", "connect"]
    assert [s.name for s in services_for(ctx(3, True))] == [
        "postgres", "kafka-controller", "kafka-1", "kafka-2", "kafka-3", "connect", "spark-master", "spark-worker"]


def test_ports_follow_the_settings(monkeypatch):
    monkeypatch.setenv("PGPORT", "15432")
    monkeypatch.setenv("KAFKA_CONNECT_URL", "http://127.0.0.1:18083")
    c = Context(Settings(_env_file=None), Layout())
    assert Postgres(c).ports == [(15432, "PGPORT")]
    assert Connect(c).ports == [(18083, "KAFKA_CONNECT_URL")]


def test_readiness_retries_connection_errors_but_not_bugs():
    import kafka.errors

    assert is_transient(ConnectionRefusedError())
    assert is_transient(kafka.errors.KafkaConnectionError())
    assert not is_transient(kafka.errors.KafkaConfigurationError("bad key"))
    assert not is_transient(TypeError("bug"))


def test_postgres_files_leave_a_private_checkout(tmp_path, monkeypatch):
    from pipeline_patterns.stack import postgres_service as services

    private = tmp_path / "private"
    (private / "kit" / "var").mkdir(parents=True)
    private.chmod(0o700)
    assert not services._reachable_by_postgres(private / "kit" / "var")
    private.chmod(0o755)
    assert services._reachable_by_postgres(private / "kit" / "var") == all(
        p.stat().st_mode & 0o001 for p in [private / "kit" / "var", *(private / "kit" / "var").parents])
    monkeypatch.setenv("STACK_STATE_DIR", str(private / "kit" / "var"))
    private.chmod(0o700)
    c = Context(Settings(_env_file=None), Layout())
    base = Postgres(c).base_dir(c)
    if services.os.geteuid() == 0:
        assert str(base).startswith("/var/tmp/pipeline-patterns-") and base.name == "postgres"
    else:
        assert base == private / "kit" / "var" / "postgres"
    private.chmod(0o755)


def test_spark_ports_follow_the_settings(monkeypatch):
    c = ctx(spark=True)
    assert SparkMaster(c).ports == [(7077, "SPARK_MASTER_PORT"), (8080, "SPARK_MASTER_WEBUI_PORT")]
    assert SparkWorker(c).ports == [(8081, "SPARK_WORKER_WEBUI_PORT")]
    monkeypatch.setenv("SPARK_MASTER_PORT", "17077")
    monkeypatch.setenv("SPARK_MASTER_WEBUI_PORT", "18080")
    monkeypatch.setenv("SPARK_WORKER_WEBUI_PORT", "18081")
    c = ctx(spark=True)
    assert SparkMaster(c).ports == [(17077, "SPARK_MASTER_PORT"), (18080, "SPARK_MASTER_WEBUI_PORT")]
    assert SparkWorker(c).ports == [(18081, "SPARK_WORKER_WEBUI_PORT")]


def test_spark_processes_and_readiness_use_the_configured_ports(monkeypatch, tmp_path):
    monkeypatch.setenv("SPARK_MASTER_PORT", "17077")
    monkeypatch.setenv("SPARK_MASTER_WEBUI_PORT", "18080")
    monkeypatch.setenv("SPARK_WORKER_WEBUI_PORT", "18081")
    monkeypatch.setenv("STACK_STATE_DIR", str(tmp_path))
    c = ctx(spark=True)
    started, asked = [], []
    monkeypatch.setattr(spark_service, "spawn", lambda cmd, log, env=None: started.append(cmd))

    class Answer:
        def raise_for_status(self) -> None:
            return None

        def json(self) -> dict:
            return {"workers": [{"state": "ALIVE"}]}

    monkeypatch.setattr(spark_service.requests, "get", lambda url, timeout: asked.append(url) or Answer())
    master, worker = spark_service.SparkMaster(c), spark_service.SparkWorker(c)
    master.start(c)
    worker.start(c)
    master.check_ready(c)
    worker.check_ready(c)
    assert started[0][-4:] == ["--port", "17077", "--webui-port", "18080"]
    assert started[1][started[1].index("--webui-port") + 1] == "18081"
    assert started[1][-1] == "spark://127.0.0.1:17077"
    assert asked == ["http://127.0.0.1:18080/json/"] * 2


def test_postgres_readiness_connects_to_pghost(monkeypatch):
    monkeypatch.setenv("PGHOST", "localhost")
    monkeypatch.setenv("PGPASSWORD", "x")
    c = Context(Settings(_env_file=None), Layout())
    seen = {}

    def connect(**kwargs):
        seen.update(kwargs)
        raise ConnectionRefusedError("not started")

    monkeypatch.setattr(postgres_service.psycopg, "connect", connect)
    with pytest.raises(ConnectionRefusedError):
        Postgres(c).check_ready(c)
    assert (seen["host"], seen["port"]) == ("localhost", 5432)


def test_a_taken_spark_port_names_the_setting_that_moves_it(monkeypatch):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        monkeypatch.setenv("SPARK_MASTER_PORT", str(port))
        c = ctx(spark=True)
        (taken, setting), _ = SparkMaster(c).ports
        with pytest.raises(StackError) as caught:
            preflight.check_port_free(taken, "spark-master", setting)
    assert f"Port {port} is needed by spark-master" in str(caught.value)
    assert "move the kit's spark-master with SPARK_MASTER_PORT in .env" in str(caught.value)
