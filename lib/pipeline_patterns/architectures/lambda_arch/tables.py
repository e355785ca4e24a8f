"""The PostgreSQL side of one Lambda deployment: its table names and their DDL.

Batch view, speed view, the cutoff (one row: the first instant *not* covered by the batch
layer) and the serving view that merges them. The view counts batch rows for dates before
the cutoff and speed rows for windows starting at or after it: half-open on both sides,
so each event is counted once. Creating is idempotent (``IF NOT EXISTS``, ``OR REPLACE``).
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql

from pipeline_patterns import postgres


@dataclass(frozen=True)
class LambdaTables:
    """PostgreSQL names of one Lambda deployment (a prefix keeps lessons and tests apart)."""

    prefix: str

    @property
    def batch(self) -> str:
        return f"{self.prefix}_batch_daily"

    @property
    def speed(self) -> str:
        return f"{self.prefix}_speed_minute"

    @property
    def cutoff(self) -> str:
        return f"{self.prefix}_cutoff"

    @property
    def serving(self) -> str:
        return f"{self.prefix}_serving"


def ensure_serving_tables(tables: LambdaTables) -> None:
    """Batch view, speed view, the cutoff and the serving view in PostgreSQL."""
    t = {name: sql.Identifier(getattr(tables, name)) for name in ("batch", "speed", "cutoff", "serving")}
    with postgres.connect(autocommit=True) as conn:
        conn.execute(sql.SQL("""CREATE TABLE IF NOT EXISTS {batch} (
            date date NOT NULL, user_id text NOT NULL, event_type text NOT NULL,
            event_count bigint NOT NULL, revenue_cents bigint NOT NULL, last_event timestamptz NOT NULL,
            PRIMARY KEY (date, user_id, event_type))""").format(**t))
        conn.execute(sql.SQL("""CREATE TABLE IF NOT EXISTS {speed} (
            window_start timestamptz NOT NULL, user_id text NOT NULL, event_type text NOT NULL,
            event_count bigint NOT NULL, revenue_cents bigint NOT NULL, last_event timestamptz NOT NULL,
            PRIMARY KEY (window_start, user_id, event_type))""").format(**t))
        # One row: the first instant *not* covered by the batch layer (1970: nothing yet).
        conn.execute(sql.SQL("""CREATE TABLE IF NOT EXISTS {cutoff} (
            id boolean PRIMARY KEY DEFAULT true CHECK (id), cutoff timestamptz NOT NULL)""").format(**t))
        conn.execute(sql.SQL("INSERT INTO {cutoff} (cutoff) VALUES ('1970-01-01Z') ON CONFLICT DO NOTHING").format(**t))
        conn.execute(sql.SQL("""CREATE OR REPLACE VIEW {serving} AS
            SELECT user_id, event_type, sum(event_count)::bigint AS event_count,
                   sum(revenue_cents)::bigint AS revenue_cents, max(last_event) AS last_event
            FROM (
                SELECT user_id, event_type, event_count, revenue_cents, last_event
                FROM {batch} WHERE date < (SELECT cutoff FROM {cutoff})
                UNION ALL
                SELECT user_id, event_type, event_count, revenue_cents, last_event
                FROM {speed} WHERE window_start >= (SELECT cutoff FROM {cutoff})
            ) merged
            GROUP BY user_id, event_type""").format(**t))


def drop_serving_tables(tables: LambdaTables) -> None:
    """Remove one deployment's view and tables (lessons and tests clean up after themselves)."""
    with postgres.connect(autocommit=True) as conn:
        conn.execute(sql.SQL("DROP VIEW IF EXISTS {}").format(sql.Identifier(tables.serving)))
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}, {}, {}").format(
            *(sql.Identifier(getattr(tables, name)) for name in ("batch", "speed", "cutoff"))))
