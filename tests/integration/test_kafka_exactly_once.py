"""Kafka exactly-once mechanisms on the real broker, each checked by an independent reader."""

from __future__ import annotations

import pytest

from pipeline_patterns import datagen, kafka_client
from pipeline_patterns.exactly_once import kafka_transactions as kt
from pipeline_patterns.exactly_once.audit import audit_ids, topic_event_ids
from pipeline_patterns.exactly_once.fencing import zombie_is_fenced
from pipeline_patterns.exactly_once.idempotence import send_through_a_broker_stall

pytestmark = pytest.mark.integration


@pytest.fixture
def source(unique):
    topic = f"eos_src_{unique}"
    kafka_client.create_topic(topic, partitions=3)
    events = datagen.user_events(3_000, seed=5)
    kafka_client.produce_json(topic, events, key="user_id")
    return topic, [e["event_id"] for e in events]


@pytest.mark.parametrize("idempotent", [False, True])
def test_retries_through_a_frozen_broker_duplicate_only_without_idempotence(unique, idempotent):
    topic = f"stall_{idempotent}_{unique}"
    kafka_client.create_topic(topic)
    result = send_through_a_broker_stall(topic, 2_000, idempotent=idempotent)
    print(result)
    assert result.retried_records > 0 and result.acknowledged == 2_000  # the producer's own retry count
    if idempotent:
        assert result.in_topic == 2_000 and result.duplicates == 0
    else:  # every duplicate is a retried record the broker had already written
        assert 0 < result.duplicates <= result.retried_records and result.in_topic == 2_000 + result.duplicates


def test_an_aborted_batch_is_reprocessed_and_read_committed_sees_each_event_once(source, unique):
    topic, ids = source
    out = f"eos_out_{unique}"
    kafka_client.create_topic(out, partitions=3)
    stats = kt.run(kt.ReadProcessWriteConfig(topic, out, f"g_{unique}", commit_interval_ms=50),
                   fail_batch=lambda n: n == 2)
    committed = audit_ids(ids, topic_event_ids(out))
    uncommitted = audit_ids(ids, topic_event_ids(out, "read_uncommitted"))
    assert stats.aborts == 1 and stats.committed == 3_000
    assert committed.exactly_once and committed.seen == 3_000
    assert uncommitted.duplicates == stats.aborted > 0 and uncommitted.missing == 0


def test_without_seeking_back_the_guides_loop_skips_the_aborted_batch(source, unique):
    topic, ids = source
    out = f"eos_guide_{unique}"
    kafka_client.create_topic(out, partitions=3)
    stats = kt.run(kt.ReadProcessWriteConfig(topic, out, f"g_{unique}", commit_interval_ms=50,
                                             seek_back_on_abort=False),
                   fail_batch=lambda n: n == 2)
    view = audit_ids(ids, topic_event_ids(out))
    assert stats.aborts == 1 and view.duplicates == 0
    assert view.missing == stats.aborted > 0


def test_a_rerun_after_completion_writes_nothing(source, unique):
    topic, ids = source
    out = f"eos_rerun_{unique}"
    kafka_client.create_topic(out, partitions=3)
    cfg = kt.ReadProcessWriteConfig(topic, out, f"g_{unique}")
    first, second = kt.run(cfg), kt.run(cfg)
    assert first.committed == 3_000 and second.consumed == 0
    assert audit_ids(ids, topic_event_ids(out)).exactly_once


def test_a_second_instance_with_the_same_transactional_id_fences_the_first(unique):
    topic = f"fence_{unique}"
    kafka_client.create_topic(topic)
    result = zombie_is_fenced(topic, f"fence-{unique}")
    assert result.zombie_error == "ProducerFencedError"
    assert result.read_committed == ["written by the successor"]
    assert result.read_uncommitted == ["written by the zombie", "written by the successor"]


def test_transform_keeps_the_id_and_converts_revenue_to_cents():
    assert kt.transform(b'{"event_id": "e1", "user_id": "u", "event_type": "purchase", "revenue": 12.345}') == \
        b'{"event_id": "e1", "user_id": "u", "event_type": "purchase", "revenue_cents": 1234}'
