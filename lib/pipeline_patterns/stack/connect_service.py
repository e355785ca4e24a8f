"""Kafka Connect in distributed mode with the Debezium PostgreSQL plugin: its config and readiness.

Ready means the REST API answers and lists the Debezium plugin. The PostgreSQL password
reaches connectors as ``${env:PGPASSWORD}``, never in a config the REST API shows.
"""

from __future__ import annotations

from pathlib import Path

import requests

from pipeline_patterns.stack import preflight
from pipeline_patterns.stack.errors import StackError
from pipeline_patterns.stack.jvm import JARS_DIR, jvm_command, write_properties
from pipeline_patterns.stack.layout import Context
from pipeline_patterns.stack.processes import ProcessRecord, spawn
from pipeline_patterns.stack.service import Service


class Connect(Service):
    """Kafka Connect in distributed mode with the Debezium PostgreSQL plugin."""

    PLUGIN = "io.debezium.connector.postgresql.PostgresConnector"

    def __init__(self, ctx: Context) -> None:
        super().__init__(name="connect", ports=[(ctx.settings.connect_port, "KAFKA_CONNECT_URL")])

    def start(self, ctx: Context) -> ProcessRecord:
        plugins = JARS_DIR / "connect-plugins"
        preflight.check_jars(plugins / "debezium-connector-postgres", "debezium-connector-postgres-*.jar",
                             "Debezium PostgreSQL connector")
        rf, port = ctx.replication, ctx.settings.connect_port
        config = write_properties(self.config_path(ctx), {
            "bootstrap.servers": ctx.bootstrap,
            "group.id": "pipeline-patterns-connect",
            "key.converter": "org.apache.kafka.connect.json.JsonConverter",
            "value.converter": "org.apache.kafka.connect.json.JsonConverter",
            "key.converter.schemas.enable": "false",
            "value.converter.schemas.enable": "false",
            "config.storage.topic": "_connect-configs",
            "offset.storage.topic": "_connect-offsets",
            "status.storage.topic": "_connect-status",
            "config.storage.replication.factor": rf,
            "offset.storage.replication.factor": rf,
            "status.storage.replication.factor": rf,
            "offset.storage.partitions": 5,
            "offset.flush.interval.ms": 5000,
            # a killed worker's membership ends after this, and the group rebalances once more, stopping the
            # restarted worker's tasks (the default 10 s; the broker allows no less than 6 s)
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 2000,
            "listeners": f"http://127.0.0.1:{port}",
            "rest.advertised.host.name": "127.0.0.1",
            "rest.advertised.port": port,
            "plugin.path": plugins,
            # plugins found through their ServiceLoader manifests (Debezium's and Kafka's jars have them), not by
            # scanning every class of every jar: the worker's start-up took 18 s, 9.5 s of it scanning Debezium
            "plugin.discovery": "service_load",
            # Connectors say "${env:PGPASSWORD}" instead of carrying the password in their
            # config (which Connect's REST API shows to anyone who asks).
            "config.providers": "env",
            "config.providers.env.class": "org.apache.kafka.common.config.provider.EnvVarConfigProvider",
            "config.providers.env.param.allowlist.pattern": "^(PG(PASSWORD|USER|DATABASE|HOST|PORT)|CDC_PASSWORD)$",
        })
        s = ctx.settings
        env = {"PGPASSWORD": s.pg_password(), "PGUSER": s.pguser, "PGDATABASE": s.pgdatabase,
               "PGHOST": s.pghost, "PGPORT": str(s.pgport), "CDC_PASSWORD": s.cdc_pg_password()}
        return spawn(jvm_command(ctx, "512m", "org.apache.kafka.connect.cli.ConnectDistributed", str(config)),
                     ctx.log(self.name), env=env)

    @staticmethod
    def config_path(ctx: Context) -> Path:
        return ctx.var / "connect" / "connect-distributed.properties"

    def signature(self, ctx: Context) -> tuple[str, str]:
        return "org.apache.kafka.connect.cli.ConnectDistributed", str(self.config_path(ctx))

    def check_ready(self, ctx: Context) -> None:
        response = requests.get(f"{ctx.settings.kafka_connect_url}/connector-plugins", timeout=5)
        response.raise_for_status()
        classes = {p["class"] for p in response.json()}
        if self.PLUGIN not in classes:
            raise StackError(
                f"Kafka Connect started without the Debezium plugin ({self.PLUGIN}); found {sorted(classes)}. "
                f"Run `make setup` to unpack it into {JARS_DIR / 'connect-plugins'}."
            )
