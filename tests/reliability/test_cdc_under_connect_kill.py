"""CDC under kill -9 of Kafka Connect: killed in the middle of the workload while Kafka holds
records its flushed offset does not cover, the rest written while it is down, then restarted.
Debezium sends those records again (duplicates, counted in the topics), and the Delta replica
still equals the source exactly. Counterfactual: the same records with an older part replayed,
applied in arrival order instead of by source position, leave the replica different.
"""

from __future__ import annotations

import pytest

from pipeline_patterns import postgres
from pipeline_patterns.ingestion import cdc_checks, cdc_experiments, cdc_source, debezium
from pipeline_patterns.ingestion.cdc_replica import Replica, replicate
from pipeline_patterns.spark import SMALL_TABLES_CONF, get_spark, temporary_conf

pytestmark = pytest.mark.reliability
SPEC = cdc_source.ShopSpec(n_customers=16, n_orders=24, seed=13)


def test_the_replica_is_exact_after_connect_is_killed_and_sends_changes_twice(tmp_path):
    spark = get_spark("test-cdc-kill")
    conn = postgres.connect(autocommit=True)
    capture = cdc_experiments.capture_new_shop(conn, SPEC)
    try:
        crash = cdc_experiments.crash_connect_during(capture, conn, cdc_source.changes(SPEC))
        records = cdc_experiments.topic_records(capture)
        with temporary_conf(spark, SMALL_TABLES_CONF):
            replica = Replica(spark, tmp_path / "replica", cdc_source.KEYS, capture.schema)
            replicate(replica, capture.topics, str(tmp_path / "checkpoint"), max_offsets_per_trigger=80)

            def diffs(r: Replica) -> dict:
                return {t: cdc_checks.compare(t, cdc_source.KEYS[t], cdc_checks.source_rows(conn, capture.schema, t),
                                              cdc_checks.replica_rows(r.rows(t))) for t in cdc_source.TABLES}

            assert crash.unflushed_at_kill > 0 and crash.lag_while_down.unconfirmed_bytes > 0
            assert cdc_experiments.duplicates(records) > 0  # Debezium did send records twice
            for table, diff in diffs(replica).items():
                assert diff.equal, (table, diff.missing, diff.extra, diff.differing)
            everything = [r for rows in records.values() for r in rows]
            older = [r for rows in records.values() for r in rows[: int(len(rows) * 0.6)]]
            replicas = cdc_experiments.replay(spark, tmp_path, capture.schema, cdc_source.KEYS, everything, older)
            assert all(d.equal for d in diffs(replicas["position rule"]).values())
            assert not all(d.equal for d in diffs(replicas["arrival order"]).values())
    finally:
        debezium.remove(capture)
        conn.close()
