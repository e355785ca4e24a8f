"""Kafka in KRaft mode: one node's config, its log-dir format and its readiness.

Ready means a metadata request answered that names every broker of the layout (for a
dedicated controller: its listener accepts connections).
"""

from __future__ import annotations

import base64
import subprocess
import uuid
from pathlib import Path

from pipeline_patterns.stack.errors import StackError
from pipeline_patterns.stack.jvm import jvm_command, write_properties
from pipeline_patterns.stack.layout import Context
from pipeline_patterns.stack.processes import ProcessRecord, spawn
from pipeline_patterns.stack.readiness import NotReady
from pipeline_patterns.stack.service import Service

CONTROLLER_NODE_ID = 100


class KafkaNode(Service):
    """One KRaft node.

    One broker: a single node in combined mode (broker and controller, 9092 + 9093).
    Three brokers: a dedicated controller (``kafka-controller``, 9093) and three
    broker-only nodes (9092, 9094, 9096) — so killing brokers never costs the
    controller quorum, and the ISR can shrink as it would in production.
    """

    def __init__(self, node: int, ctx: Context) -> None:
        self.node = node
        if node == CONTROLLER_NODE_ID:
            self.role, name = "controller", "kafka-controller"
            ports = [(ctx.controller_port(1), "KAFKA_BOOTSTRAP_SERVERS (controller = port + 1)")]
        elif ctx.layout.brokers == 1:
            self.role, name = "broker,controller", f"kafka-{node}"
            ports = [(ctx.broker_port(node), "KAFKA_BOOTSTRAP_SERVERS"),
                     (ctx.controller_port(node), "KAFKA_BOOTSTRAP_SERVERS (controller = port + 1)")]
        else:
            self.role, name = "broker", f"kafka-{node}"
            ports = [(ctx.broker_port(node), "KAFKA_BOOTSTRAP_SERVERS")]
        super().__init__(name=name, ports=ports, group="kafka")

    def data_dir(self, ctx: Context) -> Path:
        folder = "controller" if self.role == "controller" else f"node-{self.node}"
        return ctx.var / f"kafka-{ctx.layout.brokers}node" / folder

    def properties(self, ctx: Context) -> dict[str, object]:
        rf = ctx.replication
        min_isr = min(2, rf)
        controller_port = ctx.controller_port(1)
        if ctx.layout.brokers == 1:
            voters = f"{self.node}@127.0.0.1:{controller_port}"
        else:
            voters = f"{CONTROLLER_NODE_ID}@127.0.0.1:{controller_port}"
        listeners = {
            "broker,controller": f"PLAINTEXT://127.0.0.1:{ctx.broker_port(self.node)},"
                                 f"CONTROLLER://127.0.0.1:{controller_port}",
            "broker": f"PLAINTEXT://127.0.0.1:{ctx.broker_port(self.node)}",
            "controller": f"CONTROLLER://127.0.0.1:{controller_port}",
        }[self.role]
        props: dict[str, object] = {
            "process.roles": self.role,
            "node.id": self.node,
            "controller.quorum.voters": voters,
            "listeners": listeners,
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": self.data_dir(ctx) / "logs",
        }
        if self.role == "controller":
            return props
        return {
            **props,
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{ctx.broker_port(self.node)}",
            "inter.broker.listener.name": "PLAINTEXT",
            # Internal topics must fit the cluster, or groups and transactions hang.
            "offsets.topic.replication.factor": rf,
            "offsets.topic.num.partitions": 10,
            "transaction.state.log.replication.factor": rf,
            "transaction.state.log.min.isr": min_isr,
            "transaction.state.log.num.partitions": 10,
            "share.coordinator.state.topic.replication.factor": rf,
            "share.coordinator.state.topic.min.isr": min_isr,
            "default.replication.factor": rf,
            "group.initial.rebalance.delay.ms": 0,
            "num.partitions": 1,
            # A dead follower leaves the ISR after 5 s instead of 30 s (lessons wait on it).
            "replica.lag.time.max.ms": 5000,
        }

    def config_path(self, ctx: Context) -> Path:
        return self.data_dir(ctx) / "server.properties"

    def start(self, ctx: Context) -> ProcessRecord:
        config = write_properties(self.config_path(ctx), self.properties(ctx))
        if not (self.data_dir(ctx) / "logs" / "meta.properties").exists():
            cluster_id = _cluster_id(ctx)
            fmt = jvm_command(ctx, "256m", "kafka.tools.StorageTool", "format",
                       f"--cluster-id={cluster_id}", "--config", str(config), "--ignore-formatted")
            out = subprocess.run(fmt, capture_output=True, text=True, check=False)
            if out.returncode != 0:
                raise StackError(f"Formatting the Kafka log dir of {self.name} failed:\n{out.stdout}{out.stderr}")
        heap = "256m" if self.role == "controller" else "512m"
        return spawn(jvm_command(ctx, heap, "kafka.Kafka", str(config)), ctx.log(self.name))

    def signature(self, ctx: Context) -> tuple[str, str]:
        return "kafka.Kafka", str(self.config_path(ctx))

    def check_ready(self, ctx: Context) -> None:
        from kafka import KafkaAdminClient

        if self.role == "controller":
            # kafka-python cannot talk to a controller; a broker's readiness (every broker
            # registered) proves the quorum works. Here: its listener accepts connections.
            import socket

            with socket.create_connection(("127.0.0.1", ctx.controller_port(1)), timeout=2):
                return

        admin = KafkaAdminClient(
            bootstrap_servers=f"127.0.0.1:{ctx.broker_port(self.node)}",
            request_timeout_ms=5000, bootstrap_timeout_ms=5000,
            client_id="pipeline-patterns-readiness",
        )
        try:
            brokers = admin.describe_cluster()["brokers"]
        finally:
            admin.close()
        if len(brokers) < ctx.layout.brokers:
            raise NotReady(f"{len(brokers)} of {ctx.layout.brokers} brokers registered")


def cluster_id_from(raw: bytes) -> str:
    """A Kafka cluster id (16 bytes, URL-safe base64, unpadded) that never starts with ``-``.

    A leading ``-`` makes command-line parsers read the id as an option; Kafka's own
    ``Uuid.randomUuid()`` redraws such ids. Clearing the first byte's top bit keeps the
    first character in ``A``-``f`` instead (one bit less randomness, still unique enough).
    """
    if len(raw) != 16:
        raise ValueError(f"a Kafka cluster id is 16 bytes; got {len(raw)}")
    first = bytes([raw[0] & 0x7F])
    return base64.urlsafe_b64encode(first + raw[1:]).rstrip(b"=").decode()


def _cluster_id(ctx: Context) -> str:
    """One cluster id per layout, kept beside the node folders (redrawn if unusable)."""
    path = ctx.var / f"kafka-{ctx.layout.brokers}node" / "cluster-id"
    if not path.exists() or path.read_text().strip().startswith("-"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(cluster_id_from(uuid.uuid4().bytes))
    return path.read_text().strip()
