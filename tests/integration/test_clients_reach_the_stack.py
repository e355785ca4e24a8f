"""Clients that know nothing of the kit reach the services at the documented addresses.

These use plain kafka-python, the psql binary and curl with the values in ``.env`` —
not the kit's helpers — so they prove what a user's own tools will see.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest
from dotenv import dotenv_values
from kafka import KafkaConsumer, KafkaProducer

from pipeline_patterns.config import PROJECT_DIR
from pipeline_patterns.poll import wait_until

pytestmark = pytest.mark.integration
ENV = {**{"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092", "KAFKA_CONNECT_URL": "http://127.0.0.1:8083",
          "PGHOST": "127.0.0.1", "PGPORT": "5432", "PGDATABASE": "pipelines", "PGUSER": "pipelines"},
       **{k: v for k, v in dotenv_values(PROJECT_DIR / ".env").items() if v}}


def psql(sql: str, password: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PGHOST": ENV["PGHOST"], "PGPORT": ENV["PGPORT"], "PGDATABASE": ENV["PGDATABASE"],
           "PGUSER": ENV["PGUSER"], "PGPASSWORD": password if password is not None else ENV["PGPASSWORD"],
           "PGCONNECT_TIMEOUT": "5"}
    return subprocess.run([shutil.which("psql"), "-X", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
                          env=env, capture_output=True, text=True, check=False)


def curl(*args: str) -> str:
    out = subprocess.run(["curl", "-fsS", "--max-time", "30", *args], capture_output=True, text=True, check=True)
    return out.stdout


def test_plain_kafka_client_round_trip(unique):
    topic = f"plain_client_{unique}"
    producer = KafkaProducer(bootstrap_servers=ENV["KAFKA_BOOTSTRAP_SERVERS"], acks="all")
    producer.send(topic, key=b"k", value=b"hello from a plain client").get(timeout=30)
    producer.close()
    consumer = KafkaConsumer(topic, bootstrap_servers=ENV["KAFKA_BOOTSTRAP_SERVERS"],
                             auto_offset_reset="earliest", consumer_timeout_ms=20_000)
    values = [m.value for m in consumer]
    consumer.close()
    assert values == [b"hello from a plain client"]


def test_psql_with_env_password_works_and_a_wrong_password_is_refused():
    ok = psql("SELECT current_user, current_setting('wal_level'), "
              "(SELECT rolreplication FROM pg_roles WHERE rolname = current_user)")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == f"{ENV['PGUSER']}|logical|t"
    refused = psql("SELECT 1", password="not-the-password")
    assert refused.returncode != 0
    assert "password authentication failed" in refused.stderr


def test_postgres_listens_on_loopback_only():
    listen = psql("SHOW listen_addresses")
    assert listen.stdout.strip() == "127.0.0.1"


def test_curl_lists_the_debezium_plugin():
    plugins = json.loads(curl(f"{ENV['KAFKA_CONNECT_URL']}/connector-plugins"))
    assert "io.debezium.connector.postgresql.PostgresConnector" in {p["class"] for p in plugins}


def test_connector_registered_by_hand_streams_a_row_change(unique):
    table, name, slot = f"hand_{unique}", f"hand-{unique}", f"hand_slot_{unique}"
    assert psql(f"CREATE TABLE {table} (id int PRIMARY KEY, name text)").returncode == 0
    config = {
        "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
        "plugin.name": "pgoutput", "database.hostname": ENV["PGHOST"], "database.port": ENV["PGPORT"],
        "database.user": ENV["PGUSER"], "database.password": ENV["PGPASSWORD"], "database.dbname": ENV["PGDATABASE"],
        "topic.prefix": f"hand{unique}", "table.include.list": f"public.{table}", "slot.name": slot,
        "publication.name": f"{slot}_pub", "publication.autocreate.mode": "filtered",
    }
    url = ENV["KAFKA_CONNECT_URL"]
    curl("-X", "POST", "-H", "Content-Type: application/json", f"{url}/connectors",
         "-d", json.dumps({"name": name, "config": config}))
    try:
        def running() -> bool:
            try:  # 404 until the worker has assigned the new connector
                status = json.loads(curl(f"{url}/connectors/{name}/status"))
            except subprocess.CalledProcessError:
                return False
            return bool(status["tasks"]) and status["tasks"][0]["state"] == "RUNNING"

        wait_until(running, 60, "the hand-made connector to run")
        assert psql(f"INSERT INTO {table} VALUES (7, 'grace')").returncode == 0
        consumer = KafkaConsumer(f"hand{unique}.public.{table}", bootstrap_servers=ENV["KAFKA_BOOTSTRAP_SERVERS"],
                                 auto_offset_reset="earliest", consumer_timeout_ms=60_000)
        event = json.loads(next(iter(consumer)).value)
        consumer.close()
        assert event["op"] == "c"
        assert event["after"] == {"id": 7, "name": "grace"}
    finally:
        curl("-X", "DELETE", f"{url}/connectors/{name}")
        from pipeline_patterns.postgres import drop_replication_slot

        drop_replication_slot(slot)
        psql(f"DROP PUBLICATION IF EXISTS {slot}_pub; DROP TABLE {table}")
