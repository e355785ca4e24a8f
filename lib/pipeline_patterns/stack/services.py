"""What each native service is: its ports, how it starts and how we know it is ready.

Readiness always means a real request answered: a Kafka metadata request naming every
broker, a SQL query over TCP with the kit's password, a Connect REST call listing the
Debezium plugin, the Spark master's JSON status listing an alive worker.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import os
import shutil
import subprocess
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import psycopg
import requests

from pipeline_patterns.config import PROJECT_DIR, Settings, versions
from pipeline_patterns.postgres import one_row
from pipeline_patterns.stack import preflight
from pipeline_patterns.stack.errors import StackError
from pipeline_patterns.stack.processes import ProcessRecord, spawn

JARS_DIR = PROJECT_DIR / "stack" / "jars"
CONF_DIR = PROJECT_DIR / "stack" / "conf"


@dataclass
class Layout:
    """Which services this stack has: one or three Kafka brokers, Spark cluster or not."""

    brokers: int = 1
    spark_cluster: bool = False


@dataclass
class Context:
    settings: Settings
    layout: Layout
    java: str = "java"

    @property
    def var(self) -> Path:
        return self.settings.stack_path

    @property
    def logs(self) -> Path:
        return self.var / "logs"

    def log(self, service: str) -> Path:
        return self.logs / f"{service}.log"

    def broker_port(self, node: int) -> int:
        return self.settings.kafka_port + 2 * (node - 1)

    def controller_port(self, node: int) -> int:
        return self.broker_port(node) + 1

    @property
    def bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{self.broker_port(n)}" for n in range(1, self.layout.brokers + 1))

    @property
    def replication(self) -> int:
        return min(3, self.layout.brokers)


class NotReady(Exception):
    """The service answered, but is not ready yet (polled again until the deadline)."""


def without_libpq_env(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` without the variables libpq and PostgreSQL's tools read (``PG*``).

    A user who exported ``.env`` (``PGUSER``, ``PGHOST``, ...) or set ``PGOPTIONS`` must
    not change which role, socket or database the stack's own ``initdb``/``pg_ctl``/``psql``
    use; those get every value they need on their command line.
    """
    return {k: v for k, v in environ.items() if not k.startswith("PG")}


def is_transient(exc: BaseException) -> bool:
    """Errors worth polling again: refused connections, timeouts, "not yet" answers.

    Anything else (a wrong config key, a bug) fails at once instead of after the deadline.
    """
    import kafka.errors

    if isinstance(exc, (NotReady, OSError, requests.RequestException, psycopg.OperationalError,
                        kafka.errors.KafkaConnectionError, kafka.errors.KafkaTimeoutError)):
        return True
    return isinstance(exc, kafka.errors.KafkaError) and bool(getattr(exc, "retriable", False))


@dataclass
class Service:
    name: str
    ports: list[tuple[int, str]] = field(default_factory=list)
    """(port, the setting that moves it) pairs, checked free before a start."""

    def start(self, ctx: Context) -> ProcessRecord:  # pragma: no cover - abstract
        raise NotImplementedError

    def check_ready(self, ctx: Context) -> None:  # pragma: no cover - abstract
        """Return when the service answers a real request; raise otherwise."""
        raise NotImplementedError

    def stop(self, ctx: Context, record: ProcessRecord) -> None:
        from pipeline_patterns.stack.processes import terminate

        terminate(record)

    def signature(self, ctx: Context) -> tuple[str, str] | None:
        """(main program or class, this checkout's path) that this service's command line names."""
        return None

    def owns(self, ctx: Context, cmdline: Sequence[str]) -> bool:
        """Whether a process with ``cmdline`` is this service of this checkout's stack.

        Both the program and the path under this checkout's state folder must appear as
        whole arguments, so another checkout's stack (another path) is never taken for ours.
        """
        sig = self.signature(ctx)
        if sig is None or not cmdline:
            return False
        program, path = sig
        args = list(cmdline)
        return any(a == program or a.endswith("/" + program) for a in args) and path in args


def _kafka_classpath() -> str:
    preflight.check_jars(JARS_DIR / "kafka", "kafka_2.13-*.jar", "Kafka broker")
    preflight.check_jars(JARS_DIR / "kafka", "connect-runtime-*.jar", "Kafka Connect")
    return str(JARS_DIR / "kafka" / "*")


def _jvm(ctx: Context, heap: str, main: str, *args: str) -> list[str]:
    return [
        ctx.java, f"-Xms{heap}", f"-Xmx{heap}", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
        "-Djava.awt.headless=true", "-XX:+ExitOnOutOfMemoryError",
        f"-Dlog4j2.configurationFile={CONF_DIR / 'log4j2.properties'}",
        "-cp", _kafka_classpath(), main, *args,
    ]


def _write_properties(path: Path, props: dict[str, object]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
    return path


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
        super().__init__(name=name, ports=ports)

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
        config = _write_properties(self.config_path(ctx), self.properties(ctx))
        if not (self.data_dir(ctx) / "logs" / "meta.properties").exists():
            cluster_id = _cluster_id(ctx)
            fmt = _jvm(ctx, "256m", "kafka.tools.StorageTool", "format",
                       f"--cluster-id={cluster_id}", "--config", str(config), "--ignore-formatted")
            out = subprocess.run(fmt, capture_output=True, text=True, check=False)
            if out.returncode != 0:
                raise StackError(f"Formatting the Kafka log dir of {self.name} failed:\n{out.stdout}{out.stderr}")
        heap = "256m" if self.role == "controller" else "512m"
        return spawn(_jvm(ctx, heap, "kafka.Kafka", str(config)), ctx.log(self.name))

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
        config = _write_properties(self.config_path(ctx), {
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
            "listeners": f"http://127.0.0.1:{port}",
            "rest.advertised.host.name": "127.0.0.1",
            "rest.advertised.port": port,
            "plugin.path": plugins,
            # Connectors say "${env:PGPASSWORD}" instead of carrying the password in their
            # config (which Connect's REST API shows to anyone who asks).
            "config.providers": "env",
            "config.providers.env.class": "org.apache.kafka.common.config.provider.EnvVarConfigProvider",
            "config.providers.env.param.allowlist.pattern": "^PG(PASSWORD|USER|DATABASE|HOST|PORT)$",
        })
        s = ctx.settings
        env = {"PGPASSWORD": s.pg_password(), "PGUSER": s.pguser, "PGDATABASE": s.pgdatabase,
               "PGHOST": s.pghost, "PGPORT": str(s.pgport)}
        return spawn(_jvm(ctx, "512m", "org.apache.kafka.connect.cli.ConnectDistributed", str(config)),
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


class Postgres(Service):
    """PostgreSQL with logical WAL for Debezium and scram password auth on 127.0.0.1.

    As root, the server runs as the ``postgres`` OS user (initdb and postgres refuse
    root); otherwise as the current user. Local socket access uses peer auth, TCP
    uses scram-sha-256 with the password from ``.env`` — never trust.
    """

    def __init__(self, ctx: Context) -> None:
        super().__init__(name="postgres", ports=[(ctx.settings.pgport, "PGPORT")])
        self.major = str(versions()["services"]["postgresql"])

    def base_dir(self, ctx: Context) -> Path:
        """``var/postgres``, unless the ``postgres`` OS user cannot reach it.

        As root, the server runs as ``postgres``; a checkout under a private folder
        (``/root/...``) is out of its reach, so the files go to a per-checkout folder
        under ``/var/tmp`` instead.
        """
        preferred = ctx.var / "postgres"
        if os.geteuid() != 0 or _reachable_by_postgres(ctx.var):
            return preferred
        digest = hashlib.sha1(str(ctx.var).encode()).hexdigest()[:10]
        return Path("/var/tmp") / f"pipeline-patterns-{digest}" / "postgres"

    def data_dir(self, ctx: Context) -> Path:
        return self.base_dir(ctx) / "data"

    def socket_dir(self, ctx: Context) -> Path:
        return self.base_dir(ctx) / "run"

    def log_path(self, ctx: Context) -> Path:
        return self.base_dir(ctx) / "postgres.log"

    @staticmethod
    def os_user() -> str:
        return "postgres" if os.geteuid() == 0 else getpass.getuser()

    def _as_server_user(self, cmd: list[str]) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", *cmd]
        return cmd

    def _run(self, cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
        """Run a PostgreSQL tool as the server's OS user, blind to the caller's ``PG*`` variables."""
        return subprocess.run(self._as_server_user(cmd), capture_output=True, text=True, check=False,
                              env=without_libpq_env(os.environ), **kwargs)

    def signature(self, ctx: Context) -> tuple[str, str]:
        return "postgres", str(self.data_dir(ctx))

    def _own(self, *paths: Path) -> None:
        if os.geteuid() == 0:
            for path in paths:
                shutil.chown(path, "postgres", "postgres")

    def start(self, ctx: Context) -> ProcessRecord:
        bindir = preflight.postgres_bindir(self.major)
        data, run = self.data_dir(ctx), self.socket_dir(ctx)
        log = self.log_path(ctx)
        for folder in (data.parent, run):
            folder.mkdir(parents=True, exist_ok=True)
        log.touch()
        self._own(data.parent, run, log)
        if not (data / "PG_VERSION").exists():
            out = self._run([
                str(bindir / "initdb"), "-D", str(data), "-U", self.os_user(), "-E", "UTF8",
                "--locale=C.UTF-8", "--auth-local=peer", "--auth-host=scram-sha-256",
            ])
            if out.returncode != 0:
                raise StackError(f"initdb failed for {data}:\n{out.stdout}{out.stderr}")
            (data / "pg_hba.conf").write_text(
                "# Written by pipeline_patterns.stack: peer on the socket, scram over TCP.\n"
                "local all all peer\n"
                "host all all 127.0.0.1/32 scram-sha-256\n"
                "host replication all 127.0.0.1/32 scram-sha-256\n"
            )
            with open(data / "postgresql.conf", "a") as conf:
                conf.write("\ninclude_if_exists = 'kit.conf'\n")
        kit_conf = data / "kit.conf"
        kit_conf.write_text(
            "# Rewritten by `stack up` from the settings.\n"
            "listen_addresses = '127.0.0.1'\n"
            f"port = {ctx.settings.pgport}\n"
            f"unix_socket_directories = '{run}'\n"
            "wal_level = logical\n"
            "max_replication_slots = 10\n"
            "max_wal_senders = 10\n"
            "shared_buffers = 128MB\n"
            "password_encryption = 'scram-sha-256'\n"
        )
        self._own(kit_conf, data / "pg_hba.conf")
        try:
            out = self._run([
                str(bindir / "pg_ctl"), "start", "-D", str(data), "-l", str(log), "-w", "-t", "60",
            ])
            if out.returncode != 0:
                raise StackError(f"PostgreSQL did not start:\n{out.stdout}{out.stderr}\nLog {log}:\n"
                                 + "\n".join(log.read_text(errors="replace").splitlines()[-15:]))
            pid = int((data / "postmaster.pid").read_text().splitlines()[0])
            self._bootstrap_role(ctx, bindir)
            return ProcessRecord(pid=pid, create_time=psutil.Process(pid).create_time(), log=str(log))
        except BaseException:
            # No record exists yet, so nobody else could stop this server: stop it here.
            self._pg_ctl_stop(ctx, bindir, mode="immediate")
            raise

    def _bootstrap_role(self, ctx: Context, bindir: Path) -> None:
        """Create (or update) the kit's role and database; the password is a psql variable."""
        s = ctx.settings
        script = (
            "SELECT format('CREATE ROLE %I LOGIN', :'role') "
            "WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \\gexec\n"
            "SELECT format('ALTER ROLE %I WITH LOGIN REPLICATION PASSWORD %L', :'role', :'pw') \\gexec\n"
            "SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'role') "
            "WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \\gexec\n"
        )
        out = self._run([
            str(bindir / "psql"), "-X", "-q", "-h", str(self.socket_dir(ctx)), "-p", str(s.pgport),
            "-U", self.os_user(), "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-v", f"role={s.pguser}",
            "-v", f"pw={s.pg_password()}", "-v", f"db={s.pgdatabase}", "-f", "-",
        ], input=script)
        if out.returncode != 0:
            raise StackError(f"Creating the role {s.pguser!r} and database {s.pgdatabase!r} failed:\n{out.stderr}")

    def check_ready(self, ctx: Context) -> None:
        s = ctx.settings
        # Explicit options override the caller's PGOPTIONS/PGSSLMODE/... (libpq reads them).
        with psycopg.connect(host="127.0.0.1", port=s.pgport, dbname=s.pgdatabase, user=s.pguser,
                             password=s.pg_password(), connect_timeout=5, options="",
                             sslmode="prefer", target_session_attrs="any") as conn:
            wal_level = one_row(conn.execute("SHOW wal_level"))[0]
        if wal_level != "logical":
            raise StackError(f"PostgreSQL runs with wal_level={wal_level}; Debezium needs logical.")

    def stop(self, ctx: Context, record: ProcessRecord) -> None:
        import signal

        from pipeline_patterns.stack.processes import signal_service, terminate

        signal_service(record, signal.SIGCONT)
        self._pg_ctl_stop(ctx, preflight.postgres_bindir(self.major))
        terminate(record)

    def _pg_ctl_stop(self, ctx: Context, bindir: Path, mode: str = "fast") -> None:
        self._run([str(bindir / "pg_ctl"), "stop", "-D", str(self.data_dir(ctx)), "-m", mode, "-w", "-t", "30"])


def _reachable_by_postgres(folder: Path) -> bool:
    """Whether every parent of ``folder`` lets others traverse it (the ``postgres`` user)."""
    return all(not parent.exists() or parent.stat().st_mode & 0o001 for parent in [folder, *folder.parents])


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


def services_for(ctx: Context) -> list[Service]:
    """The services of a layout, in start order."""
    found: list[Service] = [Postgres(ctx)]
    if ctx.layout.brokers > 1:
        found.append(KafkaNode(CONTROLLER_NODE_ID, ctx))
    found += [KafkaNode(n, ctx) for n in range(1, ctx.layout.brokers + 1)]
    found.append(Connect(ctx))
    if ctx.layout.spark_cluster:
        found += [SparkMaster(ctx), SparkWorker(ctx)]
    return found
