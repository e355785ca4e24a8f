"""Kappa's serving side: the view readers query, re-pointed atomically, and reads of the tables.

Guarantee of :func:`swap`: the view is re-pointed in one transaction (``CREATE OR REPLACE
VIEW``), so a concurrent reader sees the old version or the new one, never a missing or
partial table. :func:`drop_deployment` drops only the tables built for its own view.
"""

from __future__ import annotations

import re

from psycopg import sql

from pipeline_patterns import postgres
from pipeline_patterns.architectures.aggregation import Answer

VIEW_COLUMNS = ("user_id", "event_type", "event_count", "revenue_cents", "last_event", "version")


def live_table(view: str) -> str | None:
    """The table the view currently reads, or None when there is no view yet."""
    with postgres.connect() as conn:
        row = conn.execute("""
            SELECT DISTINCT t.relname FROM pg_depend d
            JOIN pg_rewrite r ON r.oid = d.objid
            JOIN pg_class v ON v.oid = r.ev_class
            JOIN pg_class t ON t.oid = d.refobjid
            WHERE v.relname = %s AND v.relkind = 'v' AND t.relkind = 'r' AND t.oid <> v.oid""", (view,)).fetchone()
        return row[0] if row else None


def swap(view: str, table: str) -> None:
    """Re-point ``view`` at ``table`` in one transaction (readers see old or new, never neither)."""
    with postgres.connect() as conn, conn.transaction():
        conn.execute(sql.SQL("CREATE OR REPLACE VIEW {} AS SELECT {} FROM {}").format(
            sql.Identifier(view), sql.SQL(", ").join(map(sql.Identifier, VIEW_COLUMNS)), sql.Identifier(table)))


def drop_deployment(view: str) -> list[str]:
    """Drop ``view`` and every version table built for it (:func:`~.versions.output_table` names and their
    offsets tables); return the tables dropped. Tables of other views are never matched."""
    own = re.compile(rf"{re.escape(view)}_[^_]+_from_-?\d+(_offsets)?")
    with postgres.connect() as conn, conn.transaction():
        conn.execute(sql.SQL("DROP VIEW IF EXISTS {}").format(sql.Identifier(view)))
        names = [n for (n,) in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
                 if own.fullmatch(n)]
        if names:
            conn.execute(sql.SQL("DROP TABLE {}").format(sql.SQL(", ").join(map(sql.Identifier, names))))
    return sorted(names)


def table_answer(table: str) -> Answer:
    """A table or view as ``(user, type) -> (events, revenue cents, last event)``."""
    with postgres.connect() as conn:
        return {(u, t): (int(c), int(r), last) for u, t, c, r, last in conn.execute(sql.SQL(
            "SELECT user_id, event_type, event_count, revenue_cents, last_event FROM {}").format(
            sql.Identifier(table)))}


def table_totals(table: str) -> tuple[int, int, int]:
    """(rows, events, revenue cents): a fingerprint a reader can recognise a version by."""
    with postgres.connect() as conn:
        rows, events, cents = postgres.one_row(conn.execute(sql.SQL(
            "SELECT count(*), coalesce(sum(event_count), 0), coalesce(sum(revenue_cents), 0) FROM {}").format(
            sql.Identifier(table))))
        return int(rows), int(events), int(cents)
