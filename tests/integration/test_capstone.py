"""Lesson 17's pipeline on the real stack: Debezium, Kafka, Spark with Delta, PostgreSQL.

The serving table is compared with the independent reference (SQL on the source, the payments as produced),
and the dead letter accounting must balance.
"""

from __future__ import annotations

import pytest

from pipeline_patterns import postgres
from pipeline_patterns.capstone import experiments, reference
from pipeline_patterns.capstone.pipeline import Capstone
from pipeline_patterns.ingestion.cdc_source import ShopSpec
from pipeline_patterns.spark import get_spark

pytestmark = pytest.mark.integration
GRACE_MS = 2000


@pytest.fixture
def shop():
    with postgres.connect(autocommit=True) as conn:  # a read holds no lock
        run = experiments.start(conn, ShopSpec(n_customers=24, n_orders=48, seed=42))
        try:
            yield run, conn
        finally:
            experiments.remove(run)


def test_serving_equals_the_reference_and_the_dead_letters_balance(shop, tmp_path):
    run, conn = shop
    pipeline = Capstone(get_spark("capstone-test"), tmp_path / "lake", run.capture.schema, run.cdc_topics,
                        run.payments_topic, run.dlq_topic, run.serving_table, grace_ms=GRACE_MS)
    snapshot = pipeline.run_available()
    assert sum(b["changes"] for b in snapshot) > 0
    experiments.play_workload(run, conn, poison_rate=0.2, seed=7)
    experiments.caught_up(run, conn, GRACE_MS)
    batches = pipeline.run_available(max_offsets_per_trigger=25)  # many small batches: many day rewrites
    assert len(batches) >= 5
    result = experiments.outcome(run, conn)
    assert result.serving == result.expected and len(result.expected) >= 10
    assert result.balanced and result.dlq_duplicates == 0
    assert result.dlq_reasons == reference.dead_letter_reasons(run.payments)
    assert set(result.dlq_reasons) == {"malformed_json", "wrong_type", "unknown_order"}  # seed 7 sends every kind
    # run again with nothing new: no batch, nothing changes
    assert pipeline.run_available() == [] and experiments.outcome(run, conn) == result
