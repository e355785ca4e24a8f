"""Spark -> PostgreSQL: kill the streaming query's process at random points; the table holds each id once.

Kills come from outside (when the ledger of applied batches, read independently with
psycopg, passes seeded random counts) and from inside at the two narrow windows:
inside the open database transaction and between the database commit and Spark's
checkpoint commit. The guide's shared-staging writer, under the same kind of crash,
gets stuck: the test can fail.
"""

from __future__ import annotations

import random
import signal

import pytest
from psycopg import sql

from pipeline_patterns import datagen, kafka_client, postgres
from pipeline_patterns.exactly_once.audit import audit_ids
from pipeline_patterns.exactly_once.postgres_sink import table_event_ids
from pipeline_patterns.faults import CRASH_ENV, ProcessorFailed, ProcessorRun, module_command

pytestmark = pytest.mark.reliability

PROCESSOR = "pipeline_patterns.exactly_once.spark_postgres"


def _ledger(ledger: str) -> tuple[int, int]:
    """(batches applied, rows they wrote) from the ledger table; (0, 0) before it exists."""
    with postgres.connect() as conn:
        exists = conn.execute("SELECT to_regclass(%s)", (ledger,)).fetchone()[0]
        if exists is None:
            return 0, 0
        return conn.execute(sql.SQL("SELECT count(*), coalesce(sum(row_count), 0) FROM {}").format(
            sql.Identifier(ledger))).fetchone()


def _prepare(unique: str, n: int) -> tuple[str, list[str]]:
    topic = f"sink_in_{unique}"
    kafka_client.create_topic(topic, partitions=3)
    events = datagen.user_events(n, seed=23)
    assert kafka_client.produce_json(topic, events, key="user_id") == n
    return topic, [e["event_id"] for e in events]


def test_the_table_has_each_input_id_once_after_kills(unique, tmp_path, full_size):
    n, kills, per_batch = (100_000, 10, 5_000) if full_size else (12_000, 4, 600)
    topic, ids = _prepare(unique, n)
    table = f"sink_{unique}"
    ledger = f"{table}_batches"
    run = ProcessorRun(module_command(PROCESSOR, "--topic", topic, "--table", table,
                                      "--checkpoint", str(tmp_path / "checkpoint"),
                                      "--max-offsets-per-trigger", str(per_batch)), log=tmp_path / "query.log")
    rng = random.Random(99)
    rows_applied = lambda: _ledger(ledger)[1]  # noqa: E731 - an independent progress reading
    plan = ["after-db-commit", "before-db-commit", "outside"]
    landed = 0
    for i in range(kills):
        kind = plan[i % 3]
        if kind == "outside":
            run.start()
            target = rows_applied() + rng.randint(1, 2) * per_batch // 2
            killed = run.kill_when(rows_applied, target, timeout_s=300)
        else:
            run.start({CRASH_ENV: f"{kind}:{rng.randint(1, 2)}"})
            killed = run.wait(timeout_s=300) == -signal.SIGKILL
        landed += killed and rows_applied() < n  # killed with work left to do
    run.start()
    run.wait(timeout_s=600)

    view = audit_ids(ids, table_event_ids(table))
    batches, rows = _ledger(ledger)
    print(f"\n{n} events, {run.starts} starts, {landed} kills landed mid-work")
    print(f"table: {view}; ledger: {batches} batches applied once each, {rows} rows")
    assert landed == kills
    assert view.exactly_once and view.seen == n
    assert rows == n  # no batch was applied twice, none skipped


def test_the_guides_shared_staging_writer_is_stuck_after_a_crash(unique, tmp_path):
    topic, ids = _prepare(unique, 2_000)
    table = f"guide_{unique}"
    run = ProcessorRun(module_command(PROCESSOR, "--topic", topic, "--table", table, "--writer", "guide",
                                      "--checkpoint", str(tmp_path / "checkpoint"),
                                      "--max-offsets-per-trigger", "500"), log=tmp_path / "query.log")
    run.start({CRASH_ENV: "after-staging-write:2"})
    assert run.wait(timeout_s=300) == -signal.SIGKILL
    run.start()
    # The replayed batch is in staging twice and its keys are not in the target yet: both copies
    # take MERGE's INSERT branch and the primary key rejects the second, on every retry.
    with pytest.raises(ProcessorFailed, match="UniqueViolation"):
        run.wait(timeout_s=300)
    view = audit_ids(ids, table_event_ids(table))
    print(f"\nguide's writer after one crash: {view}")
    assert view.duplicates == 0 and 0 < view.missing < 2_000  # stuck after the first batch
