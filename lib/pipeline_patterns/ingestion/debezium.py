"""Capture a PostgreSQL schema with Debezium: the corrected connector config, its source-side
objects, when it has caught up, how far behind its slot is, and a clean removal.

Corrections to the guide's config (Debezium 3.6): ``topic.prefix`` (``database.server.name``
is gone since 2.0); the password is ``${env:CDC_PASSWORD}``, resolved inside the Connect
worker, so neither the JSON nor the REST API shows it; a dedicated role (``CDC_USER``: LOGIN,
REPLICATION and SELECT on the captured tables, nothing else) instead of a superuser; a
publication created by the tables' owner (``publication.autocreate.mode=disabled``: the CDC role
needs no ownership); ``snapshot.mode=initial`` (existing rows arrive first as ``op = r``);
``skipped.operations=none`` (Debezium skips ``TRUNCATE`` by default); numerics as exact strings
(the default sends them as base64 bytes); and a heartbeat, so the slot's confirmed position
moves on while the captured tables are quiet.

Guarantee of :func:`remove`: nothing is left — connector, replication slot (an abandoned slot
keeps WAL on disk for ever), publication, topics and the source schema.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass

import psycopg
from psycopg import sql

from pipeline_patterns import connect, kafka_client, postgres
from pipeline_patterns.config import Settings, get_settings


@dataclass(frozen=True)
class Capture:
    """The names of one capture: connector, topic prefix, slot, publication and source schema."""

    connector: str
    prefix: str
    slot: str
    publication: str
    schema: str
    tables: tuple[str, ...]

    @classmethod
    def new(cls, tables: tuple[str, ...], suffix: str = "") -> Capture:
        suffix = suffix or uuid.uuid4().hex[:8]
        return cls(connector=f"shop-cdc-{suffix}", prefix=f"cdc{suffix}", slot=f"shop_cdc_{suffix}",
                   publication=f"shop_cdc_{suffix}", schema=f"shop_{suffix}", tables=tables)

    def topic(self, table: str) -> str:
        return f"{self.prefix}.{self.schema}.{table}"

    @property
    def message_topic(self) -> str:
        return f"{self.prefix}.message"

    @property
    def heartbeat_topic(self) -> str:
        return f"__debezium-heartbeat.{self.prefix}"

    @property
    def topics(self) -> list[str]:
        return [*(self.topic(t) for t in self.tables), self.message_topic]


def debezium_postgres_config(topic_prefix: str, tables: list[str], slot: str,
                             settings: Settings | None = None, **overrides: str) -> dict[str, str]:
    """The smallest working config (lesson 00's tour): the kit's own role, which owns ``tables``
    (``schema.table``), lets Debezium create a publication for them. ``pgoutput`` is built into
    PostgreSQL (Debezium's default, ``decoderbufs``, needs a server plugin)."""
    s = settings or get_settings()
    return {
        "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
        "plugin.name": "pgoutput",
        "database.hostname": s.connect_pghost or s.pghost,
        "database.port": str(s.pgport),
        "database.user": s.pguser,
        "database.password": "${env:PGPASSWORD}",
        "database.dbname": s.pgdatabase,
        "topic.prefix": topic_prefix,
        "table.include.list": ",".join(tables),
        "slot.name": slot,
        "publication.name": f"{slot}_pub",
        "publication.autocreate.mode": "filtered",
        "tasks.max": "1",
        **overrides,
    }


def connector_config(capture: Capture, settings: Settings | None = None, **overrides: str) -> dict[str, str]:
    """The corrected Debezium PostgreSQL source config (see the module docstring)."""
    s = settings or get_settings()
    tables = [f"{capture.schema}.{t}" for t in capture.tables]
    return {
        **debezium_postgres_config(capture.prefix, tables, capture.slot, s),
        "database.user": s.cdc_user,
        "database.password": "${env:CDC_PASSWORD}",
        "publication.name": capture.publication,
        "publication.autocreate.mode": "disabled",
        "snapshot.mode": "initial",
        "skipped.operations": "none",
        "decimal.handling.mode": "string",
        "heartbeat.interval.ms": "1000",
        # each record carries its schema: column types for the replica, and a new column's arrival
        "key.converter": "org.apache.kafka.connect.json.JsonConverter",
        "key.converter.schemas.enable": "true",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "true",
        **overrides,
    }


def prepare_source(conn: psycopg.Connection, capture: Capture, settings: Settings | None = None) -> None:
    """Let the CDC role read the captured tables, and publish them (run as their owner; commits)."""
    s = settings or get_settings()
    schema, role = sql.Identifier(capture.schema), sql.Identifier(s.cdc_user)
    tables = sql.SQL(", ").join(sql.Identifier(capture.schema, t) for t in capture.tables)
    conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema, role))
    conn.execute(sql.SQL("GRANT SELECT ON {} TO {}").format(tables, role))
    conn.execute(sql.SQL("CREATE PUBLICATION {} FOR TABLE {}").format(sql.Identifier(capture.publication), tables))
    conn.commit()


def start(capture: Capture, settings: Settings | None = None, **overrides: str) -> dict:
    """Create the topics (one partition each: one order per table) and register the connector."""
    for topic in capture.topics:
        kafka_client.create_topic(topic, partitions=1, settings=settings)
    return connect.register(capture.connector, connector_config(capture, settings, **overrides), settings)


def mark(conn: psycopg.Connection, text: str) -> None:
    """Write a transactional logical decoding message: it reaches the message topic after every
    change committed before it (the connector reads the WAL in commit order)."""
    conn.execute("SELECT pg_logical_emit_message(true, 'shop', %s)", (text,))
    conn.commit()


def wait_caught_up(capture: Capture, conn: psycopg.Connection, timeout_s: float = 120.0,
                   settings: Settings | None = None) -> int:
    """Return once every change committed so far is in Kafka (a fresh marker has arrived): its LSN."""
    marker = f"caught-up {uuid.uuid4().hex}"
    mark(conn, marker)
    expected = base64.b64encode(marker.encode()).decode().encode()

    def has_marker(record) -> bool:
        return record.value is not None and expected in record.value

    seen = kafka_client.wait_for_records(capture.message_topic, has_marker, timeout_s, settings)
    payload = json.loads(next(r for r in seen if has_marker(r)).value)
    return int(payload.get("payload", payload)["source"]["lsn"])


def flushed_lsn(conn: psycopg.Connection, slot: str) -> int:
    """The slot's ``confirmed_flush_lsn``: what Connect has flushed as its offset (and acknowledged)."""
    row = conn.execute("SELECT pg_wal_lsn_diff(confirmed_flush_lsn, '0/0')::bigint FROM pg_replication_slots "
                       "WHERE slot_name = %s", (slot,)).fetchone()
    if row is None or row[0] is None:
        raise LookupError(f"expected replication slot {slot!r} with a confirmed position, found none")
    return int(row[0])


@dataclass(frozen=True)
class SlotLag:
    active: bool
    retained_bytes: int  # WAL kept on disk for the slot: current position - restart_lsn
    unconfirmed_bytes: int  # WAL the connector has not confirmed: current position - confirmed_flush_lsn


def slot_lag(conn: psycopg.Connection, slot: str) -> SlotLag:
    """How far behind ``slot`` is, from ``pg_replication_slots`` and ``pg_current_wal_lsn()``."""
    row = conn.execute(
        "SELECT active, pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint, "
        "pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint "
        "FROM pg_replication_slots WHERE slot_name = %s", (slot,)).fetchone()
    if row is None:
        raise LookupError(f"expected replication slot {slot!r} in pg_replication_slots, found none")
    return SlotLag(bool(row[0]), int(row[1]), int(row[2]))


def remove(capture: Capture, settings: Settings | None = None) -> None:
    """Remove everything the capture created, in dependency order; safe to call twice."""
    connect.delete(capture.connector, settings)
    postgres.drop_replication_slot(capture.slot, settings)
    with postgres.connect(settings, autocommit=True) as conn:
        conn.execute("SET lock_timeout = '20s'")  # a session still reading the schema: an error, not a hang
        conn.execute(sql.SQL("DROP PUBLICATION IF EXISTS {}").format(sql.Identifier(capture.publication)))
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(capture.schema)))
    admin = kafka_client.admin(settings)
    try:
        present = set(admin.list_topics())
        doomed = sorted(present & {*capture.topics, capture.heartbeat_topic})
        if doomed:
            admin.delete_topics(doomed)
    finally:
        admin.close()
