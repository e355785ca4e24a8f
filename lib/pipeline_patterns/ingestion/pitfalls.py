"""The guide's CDC code as written, for lesson 13 to run against real Debezium records.

Kept here, verbatim in behaviour, so the lesson can show where it goes wrong: it reads
``op`` at the top level (so a record with the JSON converter's schema wrapper, a tombstone —
where it crashes on ``None.get`` — a ``TRUNCATE``, a logical decoding message and every row
unwrapped by ``ExtractNewRecordState`` come out as ``None``), and its connector config uses
``database.server.name`` (gone since Debezium 2.0) and a password in the JSON.
"""

from __future__ import annotations

from typing import Any

GUIDE_CONNECTOR_CONFIG = {
    "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
    "database.hostname": "postgres",
    "database.port": "5432",
    "database.user": "debezium",
    "database.password": "password",
    "database.dbname": "source_db",
    "database.server.name": "source",
    "table.include.list": "public.orders,public.customers",
    "plugin.name": "pgoutput",
    "publication.name": "dbz_publication",
    "slot.name": "debezium_slot",
    "transforms": "unwrap",
    "transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState",
    "transforms.unwrap.drop.tombstones": "false",
}


def guide_process_cdc_event(event: Any) -> dict | None:
    """The guide's function, unchanged in behaviour."""
    operation = event.get("op")
    if operation == "c":
        return {"action": "insert", "data": event.get("after")}
    elif operation == "u":
        return {"action": "update", "before": event.get("before"), "after": event.get("after")}
    elif operation == "d":
        return {"action": "delete", "data": event.get("before")}
    elif operation == "r":
        return {"action": "snapshot", "data": event.get("after")}
    return None
