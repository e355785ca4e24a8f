"""The pure parts behind "a failed `up` leaves nothing behind": cluster ids, the PG*-free
environment of the stack's PostgreSQL tools, recognising this checkout's processes, and
the random password in a new ``.env``."""

from __future__ import annotations

import base64
import os
import stat

from pipeline_patterns.bootstrap import ensure_env_file, with_password
from pipeline_patterns.config import Settings
from pipeline_patterns.stack.connect_service import Connect
from pipeline_patterns.stack.kafka_service import KafkaNode, cluster_id_from
from pipeline_patterns.stack.layout import Context, Layout
from pipeline_patterns.stack.postgres_service import Postgres, without_libpq_env
from pipeline_patterns.stack.spark_service import SparkMaster, SparkWorker


def ctx(var: str, brokers: int = 1) -> Context:
    return Context(Settings(_env_file=None, STACK_STATE_DIR=var), Layout(brokers=brokers, spark_cluster=True))


def test_cluster_id_never_starts_with_a_dash_and_is_16_bytes():
    for first in range(256):  # every possible first byte, among them the ones that encode to "-" or "_"
        raw = bytes([first]) + bytes(range(15))
        cid = cluster_id_from(raw)
        assert not cid.startswith("-") and len(cid) == 22
        assert len(base64.urlsafe_b64decode(cid + "==")) == 16
    assert cluster_id_from(b"\xf8" + bytes(15)).startswith("e")  # would have been "-"
    assert cluster_id_from(b"\x01" * 16) == base64.urlsafe_b64encode(b"\x01" * 16).rstrip(b"=").decode()


def test_postgres_tools_get_no_pg_variables_of_the_caller():
    caller = {"PATH": "/usr/bin", "HOME": "/root", "PGUSER": "pipelines", "PGHOST": "127.0.0.1",
              "PGPORT": "5432", "PGDATABASE": "pipelines", "PGPASSWORD": "x", "PGOPTIONS": "-c a=b",
              "PGSSLMODE": "require", "PGDATA": "/elsewhere", "PYTHONPATH": "lib"}
    assert without_libpq_env(caller) == {"PATH": "/usr/bin", "HOME": "/root", "PYTHONPATH": "lib"}


def test_processes_of_this_checkout_are_recognised_by_their_command_line():
    here, other = ctx("/work/a/var"), ctx("/work/b/var")
    pg, kafka, connect = Postgres(here), KafkaNode(1, here), Connect(here)
    postmaster = ["/usr/lib/postgresql/15/bin/postgres", "-D", "/work/a/var/postgres/data"]
    assert pg.owns(here, postmaster)
    assert not pg.owns(other, postmaster)  # another checkout's PostgreSQL is never ours
    assert not pg.owns(here, ["postgres: checkpointer"])  # its children are stopped with it
    assert not pg.owns(here, ["/usr/lib/postgresql/15/bin/pg_ctl", "start", "-D", "/work/a/var/postgres/data"])
    assert not pg.owns(here, ["vim", "/work/a/var/postgres/data"])
    broker = ["java", "-Xmx512m", "-cp", "jars/*", "kafka.Kafka", "/work/a/var/kafka-1node/node-1/server.properties"]
    assert kafka.owns(here, broker) and not kafka.owns(other, broker)
    assert not KafkaNode(1, ctx("/work/a/var", brokers=3)).owns(ctx("/work/a/var", brokers=3), broker)
    assert not connect.owns(here, broker)
    worker = ["java", "-cp", "x", "org.apache.kafka.connect.cli.ConnectDistributed",
              "/work/a/var/connect/connect-distributed.properties"]
    assert connect.owns(here, worker) and not connect.owns(other, worker) and not kafka.owns(here, worker)
    spark = ["java", "org.apache.spark.deploy.worker.Worker", "--work-dir", "/work/a/var/spark/work", "spark://x"]
    assert SparkWorker(here).owns(here, spark) and not SparkWorker(other).owns(other, spark)
    assert not SparkMaster(here).owns(here, ["java", "org.apache.spark.deploy.master.Master"])
    assert not pg.owns(here, [])


def test_a_new_env_gets_a_random_password_and_an_existing_one_is_kept(tmp_path):
    example = tmp_path / ".env.example"
    example.write_text("# comment\nPGUSER=pipelines\nPGPASSWORD=\nLAKE_DIR=data/lake\n")
    first, second = tmp_path / "a.env", tmp_path / "b.env"
    ensure_env_file(lambda _: None, env=first, example=example)
    ensure_env_file(lambda _: None, env=second, example=example)
    passwords = [Settings(_env_file=p).pg_password() for p in (first, second)]
    assert passwords[0] != passwords[1] and all(len(p) >= 20 for p in passwords)
    assert stat.S_IMODE(os.stat(first).st_mode) == 0o600
    assert first.read_text().splitlines()[:2] == ["# comment", "PGUSER=pipelines"]
    ensure_env_file(lambda _: None, env=first, example=example)
    assert Settings(_env_file=first).pg_password() == passwords[0]
    assert with_password("A=1\n", "pw") == "A=1\nPGPASSWORD=pw\n"


def test_lab_settings_turn_off_the_news_prompt_and_the_update_check(tmp_path):
    import json

    from pipeline_patterns.bootstrap import KERNEL_NAME, PROJECT_DIR, install_lab_settings

    target = install_lab_settings(lambda _: None, prefix=tmp_path)
    settings = json.loads(target.read_text())["@jupyterlab/apputils-extension:notification"]
    assert settings == {"fetchNews": "false", "checkForUpdates": False}
    assert target == tmp_path / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    lab = (PROJECT_DIR / "Makefile").read_text().split("\nlab:", 1)[1].split("\n\n", 1)[0]
    assert f"--MappingKernelManager.default_kernel_name={KERNEL_NAME}" in lab
