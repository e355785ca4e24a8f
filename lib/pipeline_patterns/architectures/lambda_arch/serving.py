"""Reads of Lambda's serving layer: the merged answer, the real-time view, the cutoff.

The merged answer comes from the serving view (:mod:`.tables`), in the shape of
:func:`pipeline_patterns.architectures.aggregation.aggregate`, so it can be compared
row for row with a recomputation.
"""

from __future__ import annotations

from datetime import datetime

from psycopg import sql

from pipeline_patterns import postgres
from pipeline_patterns.architectures.aggregation import Answer
from pipeline_patterns.architectures.lambda_arch.tables import LambdaTables


def serving_answer(tables: LambdaTables, strict_speed_bound: bool = False) -> Answer:
    """The merged view as a dict like :func:`~pipeline_patterns.architectures.lambda_arch.simulation.recompute`.

    ``strict_speed_bound=True`` uses ``window_start > cutoff`` instead of ``>=`` — the
    off-by-one that loses the first minute after the cutoff (shown in the lesson).
    """
    if strict_speed_bound:
        query = sql.SQL("""
            SELECT user_id, event_type, sum(event_count), sum(revenue_cents), max(last_event) FROM (
                SELECT user_id, event_type, event_count, revenue_cents, last_event FROM {batch}
                WHERE date < (SELECT cutoff FROM {cutoff})
                UNION ALL
                SELECT user_id, event_type, event_count, revenue_cents, last_event FROM {speed}
                WHERE window_start > (SELECT cutoff FROM {cutoff})) m
            GROUP BY user_id, event_type""").format(batch=sql.Identifier(tables.batch),
                                                    speed=sql.Identifier(tables.speed),
                                                    cutoff=sql.Identifier(tables.cutoff))
    else:
        query = sql.SQL("SELECT user_id, event_type, event_count, revenue_cents, last_event FROM {}").format(
            sql.Identifier(tables.serving))
    with postgres.connect() as conn:
        return {(u, t): (int(c), int(r), last) for u, t, c, r, last in conn.execute(query)}


def speed_view_totals(tables: LambdaTables) -> tuple[int, int]:
    """(events, revenue cents) in the real-time view, over all its windows."""
    with postgres.connect() as conn:
        events, revenue = postgres.one_row(conn.execute(sql.SQL(
            "SELECT coalesce(sum(event_count), 0), coalesce(sum(revenue_cents), 0) FROM {}").format(
            sql.Identifier(tables.speed))))
        return int(events), int(revenue)


def newest_speed_event(tables: LambdaTables) -> datetime | None:
    """The latest event time the real-time view holds (None while it is empty)."""
    with postgres.connect() as conn:
        query = sql.SQL("SELECT max(last_event) FROM {}").format(sql.Identifier(tables.speed))
        return postgres.one_row(conn.execute(query))[0]


def set_cutoff(tables: LambdaTables, cutoff: datetime) -> None:
    with postgres.connect() as conn:
        conn.execute(sql.SQL("UPDATE {} SET cutoff = %s").format(sql.Identifier(tables.cutoff)), (cutoff,))


def current_cutoff(tables: LambdaTables) -> datetime:
    with postgres.connect() as conn:
        return postgres.one_row(conn.execute(sql.SQL("SELECT cutoff FROM {}").format(sql.Identifier(tables.cutoff))))[0]
