"""The exactly-once sink's transaction on the real PostgreSQL (no Spark needed for these claims)."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import pytest
from psycopg import sql

from pipeline_patterns import postgres
from pipeline_patterns.exactly_once import postgres_sink as sink

pytestmark = pytest.mark.integration

T0 = datetime(2024, 1, 15, 9, 0, tzinfo=UTC)


def rows(n: int, start: int = 0, revenue: int = 100) -> list[tuple]:
    return [(f"00000000-0000-4000-8000-{i:012d}", f"user_{i % 3}", "purchase", revenue, T0, 0, i)
            for i in range(start, start + n)]


def table_rows(table: str) -> list[tuple]:
    with postgres.connect() as conn:
        return conn.execute(sql.SQL("SELECT event_id::text, revenue_cents, batch_id FROM {} ORDER BY 1").format(
            sql.Identifier(table))).fetchall()


@pytest.fixture
def table(unique):
    name = f"sink_t_{unique}"
    sink.ensure_tables(name, f"{name}_batches")
    return name


def test_a_replayed_batch_id_is_skipped_and_changes_nothing(table):
    assert sink.apply_batch(rows(5), 0, table, f"{table}_batches", sink="q1") is True
    before = table_rows(table)
    # The replay carries other values on purpose: had it been applied, the table would show it.
    assert sink.apply_batch(rows(5, revenue=999), 0, table, f"{table}_batches", sink="q1") is False
    assert table_rows(table) == before and len(before) == 5
    assert sink.ledger(table) == [(0, 5)]


def test_a_later_batch_upserts_by_key_with_explicit_columns(table):
    sink.apply_batch(rows(4), 0, table, f"{table}_batches", sink="q1")
    sink.apply_batch(rows(4, start=2, revenue=250), 1, table, f"{table}_batches", sink="q1")
    got = table_rows(table)
    assert len(got) == 6
    assert [(r[1], r[2]) for r in got] == [(100, 0), (100, 0), (250, 1), (250, 1), (250, 1), (250, 1)]


def test_duplicate_keys_inside_one_batch_keep_the_latest_offset(table):
    batch = [*rows(2), (rows(1)[0][0], "user_9", "view", 7, T0, 0, 50)]
    sink.apply_batch(batch, 0, table, f"{table}_batches", sink="q1")
    with postgres.connect() as conn:
        got = conn.execute(sql.SQL("SELECT user_id, kafka_offset FROM {} WHERE event_id = %s").format(
            sql.Identifier(table)), (rows(1)[0][0],)).fetchone()
    assert got == ("user_9", 50)


def test_the_guides_merge_syntax_is_rejected_by_postgresql(table):
    with postgres.connect(autocommit=True) as conn, pytest.raises(psycopg.errors.SyntaxError):
        conn.execute(sql.SQL("MERGE INTO {t} AS target USING {t} AS source ON target.event_id = source.event_id "
                             "WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *").format(
            t=sql.Identifier(table)))


def test_an_arrow_batch_lands_like_tuples_with_nulls_and_empty_strings_kept_apart(table):
    import pyarrow as pa

    batch = sink.arrow_batch(rows(3))
    assert batch.schema == sink.ARROW_SCHEMA
    # An empty string stays '' and a comma or quote survives the CSV round trip.
    batch = batch.set_column(2, "event_type", pa.array(["", 'a,"b"', "view"]))
    assert sink.apply_batch(batch, 0, table, f"{table}_batches", sink="q1") is True
    with postgres.connect() as conn:
        got = conn.execute(sql.SQL("SELECT event_type, event_time, kafka_offset, batch_id FROM {} ORDER BY 3").format(
            sql.Identifier(table))).fetchall()
    assert got == [("", T0, 0, 0), ('a,"b"', T0, 1, 0), ("view", T0, 2, 0)]
    assert sink.ledger(table) == [(0, 3)]


@pytest.mark.parametrize(("in_target", "error"), [(False, psycopg.errors.UniqueViolation),
                                                  (True, psycopg.errors.CardinalityViolation)])
def test_which_error_the_guides_merge_raises_on_a_doubled_staging_table(table, in_target, error):
    """Replayed after a crash past the staging append, the keys are not in the target: UniqueViolation."""
    staging = f"staging_{table}"
    if in_target:
        sink.apply_batch(rows(3), 0, table, f"{table}_batches", sink="q1")
    with postgres.connect(autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE TABLE {s} (LIKE {t})").format(s=sql.Identifier(staging), t=sql.Identifier(table)))
        for _ in range(2):
            conn.execute(sql.SQL("INSERT INTO {s} SELECT event_id::uuid, user_id, event_type, revenue_cents, "
                                 "event_time, kafka_partition, kafka_offset, 1 FROM (VALUES {v}) AS r("
                                 "event_id, user_id, event_type, revenue_cents, event_time, kafka_partition, "
                                 "kafka_offset)").format(
                s=sql.Identifier(staging),
                v=sql.SQL(", ").join(sql.SQL("({})").format(sql.SQL(", ").join(map(sql.Literal, r))) for r in rows(3))))
        with pytest.raises(error):
            conn.execute(sink.merge_statement(table, staging, dedupe=False))
