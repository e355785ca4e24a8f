"""The guide's exactly-once code made to run, kept so lesson 10 can show how it fails.

No guarantee: :func:`guide_apply_batch` is the counter-example to
:func:`pipeline_patterns.exactly_once.postgres_sink.apply_batch` — one shared staging
table and three separate statements instead of one transaction with a ledger. (The
guide's Kafka loop that skips an aborted batch is
``ReadProcessWriteConfig(seek_back_on_abort=False)`` in
:mod:`~pipeline_patterns.exactly_once.kafka_transactions`.)
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
from psycopg import sql

from pipeline_patterns import postgres
from pipeline_patterns.exactly_once.postgres_sink import COLUMNS, arrow_batch, copy_payload, merge_statement
from pipeline_patterns.faults import crash_point


def guide_apply_batch(rows: Sequence[tuple] | pa.Table, batch_id: int, table: str, staging: str) -> bool:
    """The guide's design, made to run: one shared staging table, three separate statements.

    Kept to show why it is unsafe. A crash after the staging append replays the batch into
    a staging table that still holds it: the MERGE then meets each key twice. Those keys
    are not in the target yet (the MERGE never ran), so both copies take the ``INSERT``
    branch and the primary key rejects the second: ``UniqueViolation``, on every retry —
    the query is stuck. (Had the target already held the keys — a crash between MERGE and
    TRUNCATE — MERGE would refuse to update one row twice: ``CardinalityViolation``.) Two
    queries sharing the staging table would merge (and TRUNCATE) each other's rows.
    """
    cols = [*COLUMNS, "batch_id"]
    with postgres.connect(autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {stage} (LIKE {table})").format(
            stage=sql.Identifier(staging), table=sql.Identifier(table)))
        with conn.cursor().copy(sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
                sql.Identifier(staging), sql.SQL(", ").join(map(sql.Identifier, cols)))) as copy:
            copy.write(copy_payload(arrow_batch(rows), batch_id))
        crash_point("after-staging-write")
        conn.execute(merge_statement(table, staging, dedupe=False))
        conn.execute(sql.SQL("TRUNCATE {}").format(sql.Identifier(staging)))
    return True
