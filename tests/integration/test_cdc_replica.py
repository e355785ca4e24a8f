"""The Debezium -> Kafka -> Spark/Delta replica on the real stack: after the shop workload the
replica equals the source table by table (independent reads: psycopg and Spark), through several
micro-batches, TOAST, a primary key update, an added column and a TRUNCATE; a replay changes
nothing with the position rule and corrupts the replica in arrival order; the cleanup leaves
nothing behind.
"""

from __future__ import annotations

import pytest

from pipeline_patterns import connect, kafka_client, postgres
from pipeline_patterns.config import get_settings
from pipeline_patterns.ingestion import cdc_checks, cdc_experiments, cdc_source, debezium
from pipeline_patterns.ingestion.cdc_replica import Replica, replicate
from pipeline_patterns.spark import SMALL_TABLES_CONF, get_spark, temporary_conf

SPEC = cdc_source.ShopSpec(n_customers=12, n_orders=16, seed=42)


@pytest.fixture(scope="module")
def spark():
    session = get_spark("test-cdc")
    with temporary_conf(session, SMALL_TABLES_CONF):
        yield session


@pytest.fixture(scope="module")
def captured(spark, tmp_path_factory):
    conn = postgres.connect(autocommit=True)  # reads take no lock that would block the cleanup's DROP
    capture = cdc_experiments.capture_new_shop(conn, SPEC)
    try:
        cdc_source.run(conn, capture.schema, cdc_source.changes(SPEC))
        debezium.wait_caught_up(capture, conn)
        root = tmp_path_factory.mktemp("cdc")
        replica = Replica(spark, root / "replica", cdc_source.KEYS, capture.schema)
        batches = replicate(replica, capture.topics, str(root / "checkpoint"), max_offsets_per_trigger=60)
        yield capture, conn, replica, batches, cdc_experiments.topic_records(capture), root
    finally:
        debezium.remove(capture)
        conn.close()


def diffs(conn, schema, replica, tables=cdc_source.TABLES):
    return {t: cdc_checks.compare(t, cdc_source.KEYS[t], cdc_checks.source_rows(conn, schema, t),
                                  cdc_checks.replica_rows(replica.rows(t))) for t in tables}


def test_the_replica_equals_the_source_after_the_workload(captured):
    capture, conn, replica, batches, _, _ = captured
    assert len(batches) >= 2  # the changes of one key spread over several micro-batches
    for table, diff in diffs(conn, capture.schema, replica).items():
        assert diff.equal, (table, diff.missing, diff.extra, diff.differing)
        assert diff.source_rows > 0


def test_toast_values_survive_updates_that_did_not_send_them_and_the_new_column_arrived(captured):
    capture, conn, replica, _, records, _ = captured
    toasted = {r["id"]: r["notes"] for r in cdc_checks.source_rows(conn, capture.schema, "customers")
               if len(r["notes"] or "") == cdc_source.TOAST_CHARS}
    kept = {r["id"]: r["notes"] for r in cdc_checks.replica_rows(replica.rows("customers")) if r["id"] in toasted}
    assert toasted and kept == toasted
    sent = "".join(v or "" for _, v, _ in records[capture.topic("customers")])
    assert "__debezium_unavailable_value" in sent  # the updates really did not carry them
    assert "tier" in replica.rows("customers").columns


def test_deleted_and_truncated_keys_stay_in_the_replica_as_marked_rows_with_their_position(spark, captured):
    _, _, replica, _, _, _ = captured
    lines = spark.read.format("delta").load(replica.path("order_lines"))
    assert lines.filter("_deleted").count() > 0 and lines.filter("NOT _deleted").count() == 6  # re-inserted after


def test_a_replay_changes_nothing_with_the_position_rule_and_corrupts_arrival_order(spark, captured):
    capture, conn, _, _, records, root = captured
    everything = [r for rows in records.values() for r in rows]
    older = [r for rows in records.values() for r in rows[: int(len(rows) * 0.6)]]
    replicas = cdc_experiments.replay(spark, root, capture.schema, cdc_source.KEYS, everything, older)
    assert all(d.equal for d in diffs(conn, capture.schema, replicas["position rule"]).values())
    assert not all(d.equal for d in diffs(conn, capture.schema, replicas["arrival order"]).values())


def test_remove_leaves_no_connector_slot_publication_schema_or_topic(captured):
    capture, conn, *_ = captured
    debezium.remove(capture)
    assert connect.delete(capture.connector) is False
    assert conn.execute("SELECT count(*) FROM pg_replication_slots WHERE slot_name = %s",
                        (capture.slot,)).fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM pg_publication WHERE pubname = %s",
                        (capture.publication,)).fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname = %s", (capture.schema,)).fetchone()[0] == 0
    admin = kafka_client.admin()
    try:
        assert not {*capture.topics, capture.heartbeat_topic} & set(admin.list_topics())
    finally:
        admin.close()
    assert get_settings().cdc_user  # the role stays: it belongs to the stack, not to a capture
