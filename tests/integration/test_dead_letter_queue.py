"""The dead letter queue on the real Kafka: exact accounting, DLQ contents, commit order, re-drive."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from kafka import TopicPartition

from pipeline_patterns import kafka_client
from pipeline_patterns.errors import (
    dlq,
    dlq_audit,
    dlq_classify,
    dlq_headers,
    dlq_processor,
    dlq_retry,
    orders,
    redrive,
)
from pipeline_patterns.errors.fakes.order_feed import produce_samples
from pipeline_patterns.errors.fakes.risk_service import RiskService
from pipeline_patterns.faults import CRASH_ENV, ProcessorRun

pytestmark = pytest.mark.integration

N_VALID, PER_KIND, SEED = 400, 8, 42
DOWN, FLAKY = 0.03, 0.05
FAST = dlq_retry.RetryPolicy(max_retries=3, backoff_s=0.001, max_backoff_s=0.005)
# The processor's clock, injected: every DLQ record's failed_at is exactly this instant.
FAILED_AT = datetime(2026, 3, 29, 1, 30, 15, 250_000, tzinfo=UTC)


def make_topics(suffix: str) -> SimpleNamespace:
    t = SimpleNamespace(input=f"dlq_in_{suffix}", output=f"dlq_out_{suffix}", dlq=f"dlq_dead_{suffix}",
                        group=f"dlq_group_{suffix}")
    for name in (t.input, t.output, t.dlq):
        kafka_client.create_topic(name, partitions=3)
    return t


def expected_reasons(samples: list[orders.Sample], service: RiskService) -> Counter:
    """What the DLQ must hold: each poison kind's reason, and valid orders the service never answers."""
    reasons = Counter(orders.POISON_KINDS[s.kind] for s in samples if s.kind != "valid")
    reasons[dlq_classify.DEPENDENCY_TIMEOUT] = sum(
        1 for s in samples if s.kind == "valid" and service.planned_failures(s.key.decode()) is None)
    return reasons


def processor(t: SimpleNamespace, tmp_path, **options) -> ProcessorRun:
    cmd = dlq_processor.command(t.input, t.output, t.dlq, t.group, max_poll_records=50, backoff_ms=1, seed=SEED,
                                down_share=DOWN, flaky_share=FLAKY, **options)
    return ProcessorRun(cmd, log=tmp_path / "processor.log")


@pytest.fixture(scope="module")
def processed_run():
    """One mixed input processed in-process; the tests below only read what it wrote."""
    t = make_topics(uuid.uuid4().hex[:10])
    samples = orders.mixed(N_VALID, PER_KIND, seed=SEED)
    placed = produce_samples(t.input, samples)
    service = RiskService(SEED, down_share=DOWN, flaky_share=FLAKY)
    stats = dlq.run(dlq.DlqProcessorConfig(t.input, t.output, t.dlq, t.group, policy=FAST), service,
                    now=lambda: FAILED_AT)
    return SimpleNamespace(topics=t, samples=samples, placed=placed, service=service, stats=stats,
                           accounting=dlq_audit.account(t.input, t.output, t.dlq))


def test_mixed_input_is_accounted_exactly(processed_run):
    run, acc = processed_run, processed_run.accounting
    expected = expected_reasons(run.samples, run.service)
    assert expected == {"invalid_utf8": 8, "malformed_json": 8, "wrong_type": 8, "missing_field": 8,
                        "not_allowed": 8, "out_of_range": 8, "dependency_timeout": 13}
    # The independent read: consumed = processed + dead-lettered, per reason, nothing missing or twice.
    assert acc.consumed == 448 and acc.processed == 448 - 61 and acc.dead_lettered == expected
    assert acc.balanced and acc.missing == [] and acc.in_both == [] and acc.duplicates == 0
    # The processor's own counts agree; flaky orders were retried and then processed.
    assert (run.stats.consumed, run.stats.processed, run.stats.dead_lettered) == (448, 387, expected)
    flaky = sum(1 for s in run.samples if s.kind == "valid" and run.service.planned_failures(s.key.decode()) in (1, 2))
    assert run.stats.retried == flaky == 18
    assert kafka_client.committed_offsets(run.topics.group) == {p: end for p, end in run.stats.end_offsets.items()}


def test_dlq_records_carry_the_original_bytes_and_their_story(processed_run):
    run = processed_run
    records = kafka_client.read_all(run.topics.dlq)
    assert len(records) == 61
    for record in records:
        assert isinstance(record.headers, list) and all(isinstance(v, bytes) for _, v in record.headers)
        assert [name for name, _ in record.headers] == list(dlq_headers.DLQ_HEADER_NAMES)
        values = dict(record.headers)
        source = values["source"]
        sample = run.placed[source]
        assert (record.value, record.key) == (sample.value, sample.key)  # unchanged, byte for byte
        topic, partition, offset = kafka_client.parse_source_position(source)
        assert values["source_topic"].decode() == topic == run.topics.input
        assert (int(values["source_partition"]), int(values["source_offset"])) == (partition, offset)
        reason = values["reason"].decode()
        if sample.kind == "valid":
            assert reason == "dependency_timeout" and values["error_type"] == b"TimeoutError"
            assert dlq_headers.retry_count(record.headers) == 3
        else:
            assert reason == orders.POISON_KINDS[sample.kind] and values["error_type"] == b"InvalidRecord"
            assert dlq_headers.retry_count(record.headers) == 0
        assert values["error_message"]
        assert values["failed_at"] == b"2026-03-29T01:30:15.250000+00:00"  # UTC ISO 8601, from the injected clock
        failed_at = datetime.fromisoformat(values["failed_at"].decode())
        assert failed_at.utcoffset() == timedelta(0) and failed_at == FAILED_AT
    output = kafka_client.read_all(run.topics.output)
    assert all(json.loads(r.value)["order_id"] == json.loads(run.placed[dlq_headers.header(r.headers, "source")].value)
               ["order_id"] for r in output)


def committed_and_written(t, placed) -> tuple[set, set]:
    """Input positions below the group's committed offsets, and positions found in the output or the DLQ."""
    committed = kafka_client.committed_offsets(t.group)
    below = {pos for pos in placed
             if kafka_client.parse_source_position(pos)[2]
             < committed.get(kafka_client.parse_source_position(pos)[1], 0)}
    written = set(dlq_audit.positions_by_source(kafka_client.read_all(t.output))) | \
        set(dlq_audit.positions_by_source(kafka_client.read_all(t.dlq)))
    return below, written


def test_a_crash_between_the_dlq_send_and_the_commit_loses_nothing(unique, tmp_path):
    t = make_topics(unique)
    samples = orders.mixed(N_VALID, PER_KIND, seed=SEED)
    placed = produce_samples(t.input, samples)
    run = processor(t, tmp_path)
    run.start({CRASH_ENV: "after-dlq-send:20"})  # die right after the 20th DLQ send, before its batch commits
    assert run.wait(timeout_s=120) == -signal.SIGKILL
    # Everything below the committed offsets is already in the output or the DLQ (acknowledged first);
    # the crashed batch is above them.
    below, written = committed_and_written(t, placed)
    assert 0 < len(below) < len(placed) and below <= written
    run.start()
    run.wait(timeout_s=120)
    acc = dlq_audit.account(t.input, t.output, t.dlq)
    print(f"after the crash and rerun: {acc.rows()}")
    assert acc.balanced and acc.missing == [] and acc.consumed == 448 and acc.processed == 387
    assert acc.dead_lettered == expected_reasons(samples, RiskService(SEED, DOWN, FLAKY))


def test_committing_before_the_acks_loses_what_was_in_flight(unique, tmp_path):
    """The counterfactual: the guide's order (send, commit, flush) with the same crash loses records."""
    t = make_topics(unique)
    placed = produce_samples(t.input, orders.mixed(N_VALID, PER_KIND, seed=SEED))
    run = processor(t, tmp_path, commit_before_ack=True, linger_ms=200)
    run.start({CRASH_ENV: "after-commit-before-ack:2"})
    run.wait(timeout_s=120)
    below, written = committed_and_written(t, placed)
    assert len(below - written) > 0  # committed as done, written nowhere
    run.start()
    run.wait(timeout_s=120)
    acc = dlq_audit.account(t.input, t.output, t.dlq)
    print(f"commit before ack: {len(acc.missing)} of {acc.consumed} lost")
    assert not acc.balanced and len(acc.missing) == len(below - written)


def test_redrive_replays_fixed_records_once_and_a_rerun_sends_nothing(unique):
    t = make_topics(unique)
    samples = orders.mixed(N_VALID, PER_KIND, seed=SEED)
    placed = produce_samples(t.input, samples)
    service = RiskService(SEED, down_share=DOWN, flaky_share=FLAKY)
    dlq.run(dlq.DlqProcessorConfig(t.input, t.output, t.dlq, t.group, policy=FAST), service)
    dead = {pos: s for pos, s in placed.items()
            if s.kind != "valid" or service.planned_failures(s.key.decode()) is None}
    fixable = sum(1 for s in dead.values() if orders.repair(s.value) is not None)
    assert (len(dead), fixable) == (61, 13 + 4)  # every timed-out order, plus four repairable poison records

    first = redrive.redrive(t.dlq, t.input, orders.repair)
    second = redrive.redrive(t.dlq, t.input, orders.repair)
    assert (first.distinct, first.sent, first.unfixable, first.already_redriven) == (61, 17, 44, 0)
    assert (second.sent, second.already_redriven, second.unfixable) == (0, 17, 44)
    cli = subprocess.run([sys.executable, "-m", "pipeline_patterns.errors.redrive", "--dlq", t.dlq,
                          "--target", t.input], capture_output=True, text=True, check=True, timeout=120)
    assert json.loads(cli.stdout)["sent"] == 0
    markers = [dlq_headers.header(r.headers, "redriven_from") for r in kafka_client.read_all(t.input)]
    replayed = [m for m in markers if m is not None]
    assert len(replayed) == len(set(replayed)) == 17 and set(replayed) <= dead.keys()

    # Only timeouts, selected by reason: all already re-driven.
    assert redrive.redrive(t.dlq, t.input, orders.repair, reasons={"dependency_timeout"}).already_redriven == 13

    # The dependency recovered: the same group picks up the 17 re-driven records and processes them.
    recovered = RiskService(SEED)
    stats = dlq.run(dlq.DlqProcessorConfig(t.input, t.output, t.dlq, t.group, policy=FAST), recovered)
    assert (stats.consumed, stats.processed) == (17, 17)
    acc = dlq_audit.account(t.input, t.output, t.dlq)
    assert acc.balanced and acc.consumed == 465 and acc.processed == 387 + 17
    lineage = [dlq_headers.header(r.headers, "redriven_from") for r in kafka_client.read_all(t.output)]
    assert sorted(m for m in lineage if m) == sorted(replayed)
    assert kafka_client.committed_offsets(t.group) == {tp.partition: end for tp, end in
                                          _end_offsets(t.input).items()}


def _end_offsets(topic: str) -> dict[TopicPartition, int]:
    consumer = kafka_client.consumer()
    try:
        return consumer.end_offsets([TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)])
    finally:
        consumer.close()
