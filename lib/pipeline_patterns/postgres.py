"""PostgreSQL connections from the settings (libpq's PG* names), with psycopg 3."""

from __future__ import annotations

import psycopg

from pipeline_patterns.config import Settings, get_settings


def connect(settings: Settings | None = None, **kwargs) -> psycopg.Connection:
    """A new connection as the kit's user over TCP (scram password from ``.env``)."""
    s = settings or get_settings()
    kwargs.setdefault("connect_timeout", 10)
    return psycopg.connect(
        host=s.pghost, port=s.pgport, dbname=s.pgdatabase, user=s.pguser,
        password=s.pg_password(), **kwargs,
    )


def one_row(cursor: psycopg.Cursor) -> tuple:
    """The row of a query that always returns exactly one (an aggregate, ``SHOW``); raise if it returned none."""
    row = cursor.fetchone()
    if row is None:
        raise LookupError("expected one row (an aggregate or SHOW), the query returned none")
    return row


def drop_replication_slot(slot: str, settings: Settings | None = None, timeout_s: float = 60.0) -> bool:
    """Drop a logical replication slot once its consumer (a stopped connector) lets go.

    An unused slot keeps WAL on disk forever, so lessons drop theirs. True if it existed.
    """
    from pipeline_patterns.poll import wait_until

    with connect(settings, autocommit=True) as conn:
        def released() -> bool:
            row = conn.execute("SELECT active FROM pg_replication_slots WHERE slot_name = %s", (slot,)).fetchone()
            return row is None or not row[0]

        wait_until(released, timeout_s, f"replication slot {slot!r} to be released")
        dropped = conn.execute(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = %s", (slot,)
        ).fetchall()
        return bool(dropped)
