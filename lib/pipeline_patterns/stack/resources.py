"""What lives on the stack: topics, schemas, tables, views, publications, replication slots and connectors.

``snapshot()`` lists them; ``drop(after - before)`` removes what appeared in between. The
test suite takes a snapshot before each module and drops what the module left, so a second
``make test`` on the same stack starts from the state the first one found (with the unique
names every test uses, nothing of an earlier run can be read by a later one).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import requests
from psycopg import sql

from pipeline_patterns import connect, kafka_client, postgres
from pipeline_patterns.config import Settings

LOCK_TIMEOUT = "10s"  # a table still locked by a live reader: fail clearly instead of waiting for ever


@dataclass(frozen=True)
class StackResources:
    topics: frozenset[str] = frozenset()
    schemas: frozenset[str] = frozenset()  # a lesson's own schema (lesson 13's shop), dropped with what it holds
    tables: frozenset[str] = frozenset()
    views: frozenset[str] = frozenset()
    publications: frozenset[str] = frozenset()
    slots: frozenset[str] = frozenset()
    connectors: frozenset[str] = frozenset()

    def __sub__(self, other: StackResources) -> StackResources:
        return StackResources(**{f.name: getattr(self, f.name) - getattr(other, f.name) for f in fields(self)})

    def __bool__(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))

    def describe(self) -> str:
        return "; ".join(f"{f.name}: {', '.join(sorted(getattr(self, f.name)))}"
                         for f in fields(self) if getattr(self, f.name))


def snapshot(settings: Settings | None = None) -> StackResources:
    """Every user topic, table, view, publication, slot and connector now on the stack."""
    admin = kafka_client.admin(settings)
    try:
        topics = frozenset(t for t in admin.list_topics()  # Kafka's own __ topics stay; Debezium's heartbeats go
                           if not t.startswith("__") or t.startswith("__debezium-heartbeat."))
    finally:
        admin.close()
    with postgres.connect(settings) as conn, conn.cursor() as cur:
        cur.execute("SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = 'public'")
        rows = cur.fetchall()
        cur.execute("SELECT nspname FROM pg_namespace WHERE nspname NOT IN ('public', 'information_schema') "
                    "AND nspname NOT LIKE 'pg\\_%' "
                    "AND nspowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)")
        schemas = frozenset(r[0] for r in cur.fetchall())
        cur.execute("SELECT pubname FROM pg_publication")
        publications = frozenset(r[0] for r in cur.fetchall())
        cur.execute("SELECT slot_name FROM pg_replication_slots")
        slots = frozenset(r[0] for r in cur.fetchall())
    response = requests.get(connect.url("/connectors", settings), timeout=10)
    response.raise_for_status()
    return StackResources(topics=topics, schemas=schemas,
                          tables=frozenset(n for n, kind in rows if kind == "BASE TABLE"),
                          views=frozenset(n for n, kind in rows if kind == "VIEW"), publications=publications,
                          slots=slots, connectors=frozenset(response.json()))


def drop(resources: StackResources, settings: Settings | None = None) -> None:
    """Drop ``resources``: connectors first (they hold slots), then PostgreSQL objects, then topics."""
    for name in sorted(resources.connectors):
        connect.delete(name, settings)
    for slot in sorted(resources.slots):
        postgres.drop_replication_slot(slot, settings)
    with postgres.connect(settings, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute(sql.SQL("SET lock_timeout = {}").format(sql.Literal(LOCK_TIMEOUT)))
        for kind, names in (("PUBLICATION", resources.publications), ("VIEW", resources.views),
                            ("TABLE", resources.tables), ("SCHEMA", resources.schemas)):
            for name in sorted(names):
                cur.execute(sql.SQL("DROP {} IF EXISTS {} CASCADE").format(sql.SQL(kind), sql.Identifier(name)))
    if resources.topics:
        admin = kafka_client.admin(settings)
        try:
            present = set(admin.list_topics())
            admin.delete_topics(sorted(resources.topics & present))
        finally:
            admin.close()
