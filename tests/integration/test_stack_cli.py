"""The native stack's CLI as a user meets it: status, faults, clear errors, down and up.

Tests run in file order; each leaves the single-broker stack running for the next.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import psycopg
import pytest

from pipeline_patterns import kafka_client, postgres
from pipeline_patterns.config import get_settings
from pipeline_patterns.stack import Stack
from pipeline_patterns.stack.preflight import port_is_free

pytestmark = pytest.mark.integration
_s = get_settings()
KIT_PORTS = (_s.kafka_port, _s.kafka_port + 1, _s.connect_port, _s.pgport)  # 9092 9093 8083 5432 by default


def kit(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline_patterns", *args], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "200", **(env or {})}, check=False, timeout=600)


def states() -> dict[str, str]:
    out = kit("stack", "status", "--json")
    return {row["service"]: row["state"] for row in json.loads(out.stdout)}


@pytest.fixture(scope="module", autouse=True)
def default_layout():
    """These tests expect the default layout (one broker, no Spark cluster, no Airflow)."""
    stack = Stack()
    layout = stack.saved_layout()
    if layout and (layout.brokers != 1 or layout.spark_cluster or layout.airflow):
        stack.down()
    stack.up()
    yield


def test_status_reports_every_service_running():
    out = kit("stack", "status", "--json")
    assert out.returncode == 0
    rows = json.loads(out.stdout)
    assert {r["service"]: r["state"] for r in rows} == {"postgres": "running", "kafka-1": "running",
                                                        "connect": "running"}
    assert all(all(r["listening"]) and r["rss_mb"] > 0 for r in rows)


def test_up_on_a_running_stack_is_a_no_op():
    before = {r["service"]: r["pid"] for r in Stack().status()}
    out = kit("stack", "up")
    assert out.returncode == 0 and "already running" in out.stdout
    assert {r["service"]: r["pid"] for r in Stack().status()} == before


def test_killed_kafka_is_reported_crashed_and_up_brings_it_back(unique):
    assert kit("stack", "kill", "kafka").returncode == 0
    status = kit("stack", "status")
    assert status.returncode == 1
    assert states()["kafka-1"] == "crashed"
    assert "kafka-1" in status.stdout and "crashed" in status.stdout and f"{_s.kafka_port} (closed)" in status.stdout
    assert kit("stack", "up").returncode == 0
    assert states()["kafka-1"] == "running"
    topic = f"after_restart_{unique}"
    assert kafka_client.produce_json(topic, [{"ok": True}]) == 1


def test_paused_postgres_answers_nothing_until_resumed():
    assert kit("stack", "pause", "postgres").returncode == 0
    try:
        assert states()["postgres"] == "paused"
        with pytest.raises(psycopg.OperationalError):
            postgres.connect(connect_timeout=2).close()
    finally:
        assert kit("stack", "resume", "postgres").returncode == 0
    with postgres.connect() as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_unknown_service_gets_the_list_of_names():
    out = kit("stack", "kill", "zookeeper")
    assert out.returncode == 1
    assert "No service named 'zookeeper'; expected one of: kafka, postgres, kafka-1, connect" in out.stderr


def test_port_taken_is_one_clear_message(tmp_path):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        out = kit("stack", "up", env={"STACK_STATE_DIR": str(tmp_path / "var"), "PGPORT": str(port)})
    assert out.returncode == 1
    message = " ".join(out.stderr.split())
    assert f"Port {port} is needed by postgres but is in use by pid {os.getpid()} (python" in message
    assert "PGPORT" in message and "Traceback" not in out.stderr


def test_down_leaves_no_process_or_listener_and_up_restarts():
    pids = [r["pid"] for r in Stack().status()]
    out = kit("stack", "down")
    assert out.returncode == 0 and "stopped connect, kafka-1, postgres" in out.stdout
    assert all(port_is_free(p) for p in KIT_PORTS)
    import psutil

    assert not any(psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE for pid in pids)
    assert set(states().values()) == {"stopped"}
    up = kit("stack", "up")
    assert up.returncode == 0, up.stderr
    assert set(states().values()) == {"running"}


def test_three_broker_cluster_replicates_and_goes_back_to_one(unique):
    refused = kit("stack", "up", "--brokers", "3")
    assert refused.returncode == 1 and "running with 1 Kafka broker" in refused.stderr
    assert kit("stack", "down").returncode == 0
    try:
        up = kit("stack", "up", "--brokers", "3")
        assert up.returncode == 0, up.stderr
        assert set(states()) == {"postgres", "kafka-controller", "kafka-1", "kafka-2", "kafka-3", "connect"}
        admin = kafka_client.admin()
        try:
            assert len(admin.describe_cluster()["brokers"]) == 3
        finally:
            admin.close()
        topic = f"replicated_{unique}"
        kafka_client.create_topic(topic, partitions=3, replication_factor=3, configs={"min.insync.replicas": "2"})
        admin = kafka_client.admin()
        try:
            described = admin.describe_topics([topic])[0]
        finally:
            admin.close()
        assert all(len(p["replica_nodes"]) == 3 and len(p["isr_nodes"]) == 3 for p in described["partitions"])
    finally:
        assert kit("stack", "down").returncode == 0
        assert kit("stack", "up").returncode == 0
    assert set(states()) == {"postgres", "kafka-1", "connect"}
