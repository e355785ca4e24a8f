"""Spark's watermarked windowed counts equal the plain-Python reference, exactly."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pipeline_patterns import kafka_client
from pipeline_patterns.spark import get_spark
from pipeline_patterns.streaming.watermark_query import produce_events, read_emitted, run_step
from pipeline_patterns.streaming.watermarks import flight_departure_steps, late_event_steps, simulate

pytestmark = pytest.mark.integration
DELAY, SIZE, SLIDE = timedelta(minutes=10), timedelta(minutes=5), timedelta(minutes=1)


@pytest.fixture(scope="module")
def spark():
    return get_spark("test-watermarks")


def run_on_spark(spark, steps, tmp_path, unique):
    topic = f"watermarks_{unique}"
    kafka_client.create_topic(topic, partitions=1)
    progress = []
    for number, events in enumerate(steps):
        produce_events(topic, events)
        progress.append(run_step(spark, topic, str(tmp_path / "checkpoint"), str(tmp_path / "out"), number,
                                 DELAY, SIZE, SLIDE))
    return read_emitted(str(tmp_path / "out")), progress


@pytest.mark.parametrize("seed", [42, 7])
def test_seeded_late_events_match_the_reference(spark, tmp_path, unique, seed):
    steps = late_event_steps(seed=seed)
    emitted, progress = run_on_spark(spark, steps, tmp_path, unique)
    expected = simulate(steps, DELAY, SIZE, SLIDE)
    assert emitted == expected.emitted
    assert [p.dropped_rows for p in progress] == expected.dropped_rows_per_step
    assert [p.state_rows for p in progress] == expected.state_rows_after_step
    assert sum(p.input_rows for p in progress) == sum(len(s) for s in steps)
    assert sum(expected.dropped_rows_per_step) > 0  # the run really had late data to drop


def test_real_flight_delays_match_the_reference(spark, tmp_path, unique):
    steps = flight_departure_steps(month=1, day=1)[:8]
    emitted, progress = run_on_spark(spark, steps, tmp_path, unique)
    expected = simulate(steps, DELAY, SIZE, SLIDE)
    assert emitted == expected.emitted
    assert [p.dropped_rows for p in progress] == expected.dropped_rows_per_step
